// A real, OpenID Certified authorization server for the tests: npm `oidc-provider` 9.x (panva)
// on 127.0.0.1, standing in for any standards-following provider that is not Entra ID (the
// `Generic` preset: RFC 9068 JWT access tokens, RFC 8693 token exchange, RFC 8707 resource
// indicators, standard client authentication).
//
// What it is configured with, and why:
// - Resource indicators: our API (`apiResource`) and two downstream APIs (`api://profile`, whose
//   identifier is `downstreamResource`, and `api://partner`, the local downstream API's two
//   audiences). Their access tokens are RFC 9068 JWTs (header `typ: at+jwt`; claims iss, sub,
//   aud, client_id, scope, jti, iat, exp) as oidc-provider's own JWT formatter writes them.
// - Clients, one per `token_endpoint_auth_method`, each allowed the authorization code,
//   refresh token, client credentials and token exchange grants. oidc-provider enforces the kind
//   of credential (a secret client's secret; a private_key_jwt client's assertion, checked
//   against its registered certificate key; anything else is `invalid_client`), but treats
//   client_secret_basic and client_secret_post as one (its lib/shared/client_auth.js): every
//   token request records the method it presented (`tokenRequests`), for the tests to check.
// - The RFC 8693 token exchange grant, registered through oidc-provider's extension point
//   (`provider.registerGrantType`): oidc-provider authenticates the client as for every grant;
//   the handler checks the subject token (this server's signature, issuer, lifetime, audience
//   = our API), refuses an app-only subject, and issues the downstream token through
//   oidc-provider's AccessToken model. Every request is recorded in `exchanges`.
// - Users sign in through a real authorization code flow (PKCE): the login and consent
//   interactions are answered by a headless test page that signs in the `login_hint` account
//   and grants what was asked (oidc-provider's own interaction API), so user access tokens,
//   refresh tokens and ID tokens are the ones its token endpoint issues.
// - Key rotation by restart: `rotateKeys()` stops the server and starts a new one on the same
//   port with a new signing key (new `kid`); the old key is gone from the key set.
import { execFile } from 'node:child_process';
import {
  createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, randomUUID, X509Certificate,
} from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SignJWT, createLocalJWKSet, decodeJwt, exportJWK, generateKeyPair, importPKCS8, jwtVerify } from 'jose';
import Provider, { errors } from 'oidc-provider';

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** Where the code flow's redirect would go; never fetched (the code is read from `Location`). */
const REDIRECT_URI = 'http://127.0.0.1/callback';
const GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials', TOKEN_EXCHANGE];

/** Our API: the `Audience` the SDK is configured with. */
export const API_RESOURCE = 'https://edge-api.test/';
/** The local downstream API's two audiences (tests/e2e/downstream-api.mjs). */
export const PROFILE_RESOURCE = 'api://profile';
export const PARTNER_RESOURCE = 'api://partner';

/** The resource servers oidc-provider knows, with the scopes each accepts. */
const RESOURCE_SERVERS = {
  // `read` too: a token for the API without `access_as_user` (the 403 step-up case of tests/e2e/dpop.test.mjs).
  [API_RESOURCE]: 'access_as_user read',
  [PROFILE_RESOURCE]: 'read',
  [PARTNER_RESOURCE]: 'read write',
};

/** A new RS256 signing key for the provider, with a new `kid`. */
function newSigningKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: `sig-${randomUUID()}`, use: 'sig', alg: 'RS256' };
}

/**
 * A client certificate for `private_key_jwt`: an RSA key (PKCS#8) and a self-signed X.509
 * certificate of it, made by the `openssl` CLI in a temporary directory. `pemBundle` is both in
 * one PEM text, the form `ClientCredentials[].Base64EncodedValue` takes (base64 of it).
 */
async function newClientCertificate(subject) {
  const dir = await mkdtemp(join(tmpdir(), 'edge-identity-oidc-provider-'));
  try {
    await promisify(execFile)('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '2', '-subj', `/CN=${subject}`,
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ]).catch((cause) => {
      throw new Error('the private_key_jwt client needs the `openssl` CLI to make its certificate', { cause });
    });
    const keyPem = createPrivateKey(await readFile(join(dir, 'key.pem'), 'utf8')).export({ type: 'pkcs8', format: 'pem' });
    const certPem = await readFile(join(dir, 'cert.pem'), 'utf8');
    const der = new X509Certificate(certPem).raw;
    return {
      keyPem,
      certPem,
      pemBundle: `${keyPem.trim()}\n${certPem.trim()}\n`,
      x5tS256: createHash('sha256').update(der).digest('base64url'),
      // The registered JWK: the certificate's public key, with the certificate and its
      // thumbprint. No `kid`: the SDK's assertions name the certificate by `x5t#S256` only.
      jwk: {
        ...createPublicKey(keyPem).export({ format: 'jwk' }),
        use: 'sig',
        x5c: [der.toString('base64')],
        'x5t#S256': createHash('sha256').update(der).digest('base64url'),
      },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * oidc-provider's storage (sessions, interactions, grants, codes, refresh tokens) in this
 * process's memory, one store per server start: a restart forgets it, as a real one would.
 * (oidc-provider's own in-memory adapter does the same but warns on every start.)
 */
function memoryAdapter() {
  const entries = new Map(); // `${model}:${id}` -> {payload, expiresAt}
  const indexes = new Map(); // `uid:…` / `userCode:…` -> entry key; `grant:…` -> Set of entry keys
  const live = (key) => {
    const entry = key && entries.get(key);
    if (entry && entry.expiresAt <= Date.now()) entries.delete(key);
    return entry && entry.expiresAt > Date.now() ? entry.payload : undefined;
  };
  return (model) => {
    const keyOf = (id) => `${model}:${id}`;
    return {
      async upsert(id, payload, expiresIn) {
        const key = keyOf(id);
        entries.set(key, { payload, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : Infinity });
        if (model === 'Session' && payload.uid) indexes.set(`uid:${payload.uid}`, key);
        if (payload.userCode) indexes.set(`userCode:${payload.userCode}`, key);
        if (payload.grantId) {
          const members = indexes.get(`grant:${payload.grantId}`) ?? new Set();
          indexes.set(`grant:${payload.grantId}`, members.add(key));
        }
      },
      async find(id) { return live(keyOf(id)); },
      async findByUid(uid) { return live(indexes.get(`uid:${uid}`)); },
      async findByUserCode(userCode) { return live(indexes.get(`userCode:${userCode}`)); },
      async consume(id) {
        const payload = live(keyOf(id));
        if (payload) payload.consumed = Math.floor(Date.now() / 1000);
      },
      async destroy(id) { entries.delete(keyOf(id)); },
      async revokeByGrantId(grantId) {
        for (const key of indexes.get(`grant:${grantId}`) ?? []) entries.delete(key);
        indexes.delete(`grant:${grantId}`);
      },
    };
  };
}

/** application/x-www-form-urlencoded encoding of one value (RFC 6749 §2.3.1 for Basic). */
const formEncode = (value) => new URLSearchParams({ v: value }).toString().slice(2);

/** A client secret with characters that form encoding changes (`:`, `+`, `/`, `%`, space). */
const newSecret = () => `${randomBytes(24).toString('base64url')}:+/% x`;

/**
 * Starts oidc-provider on http://127.0.0.1:<port> (`port` 0: a free one). See the file comment.
 */
export async function startOidcProvider({ port = 0 } = {}) {
  let server = createServer((req, res) => handle(req, res));
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const boundPort = server.address().port;
  const issuer = `http://127.0.0.1:${boundPort}`;
  const tokenEndpoint = `${issuer}/token`;
  const jwksUri = `${issuer}/jwks`;

  const certificate = await newClientCertificate('edge-api-private-key-jwt');
  const clients = {
    basic: { id: 'edge-api-basic', secret: newSecret(), method: 'client_secret_basic' },
    post: { id: 'edge-api-post', secret: newSecret(), method: 'client_secret_post' },
    privateKeyJwt: {
      id: 'edge-api-private-key-jwt', method: 'private_key_jwt', pemBundle: certificate.pemBundle,
      x5tS256: certificate.x5tS256,
    },
    // The application users sign in to (a web front end), whose user tokens call our API:
    // `mintUser`'s default client. Our API's own registrations are the three above.
    api: { id: 'web-app', secret: newSecret(), method: 'client_secret_basic' },
  };
  const clientKeys = { [clients.privateKeyJwt.id]: certificate.keyPem };
  const registrations = [
    ...[clients.basic, clients.post].map((c) => ({
      client_id: c.id, client_secret: c.secret, token_endpoint_auth_method: c.method, grant_types: GRANT_TYPES,
    })),
    {
      client_id: clients.privateKeyJwt.id, token_endpoint_auth_method: 'private_key_jwt', grant_types: GRANT_TYPES,
      jwks: { keys: [certificate.jwk] },
    },
    {
      client_id: clients.api.id, client_secret: clients.api.secret, token_endpoint_auth_method: clients.api.method,
      grant_types: ['authorization_code', 'refresh_token'],
    },
  ].map((c) => ({ ...c, response_types: ['code'], redirect_uris: [REDIRECT_URI] }));
  const clientById = (id) => Object.values(clients).find((c) => c.id === id)
    ?? (() => { throw new Error(`no such client ${id}`); })();

  /** Every token exchange request the server received, in order (see `tokenExchange`). */
  const exchanges = [];
  /** Every token request's client, grant and presented authentication method, in order. */
  const tokenRequests = [];
  let signingKey = newSigningKey();
  let provider = newProvider();
  let callback = provider.callback();

  /** The current key set, public members only (what `jwksUri` serves). */
  const publicJwks = () => {
    const { kty, kid, use, alg, n, e } = signingKey;
    return { keys: [{ kty, kid, use, alg, n, e }] };
  };

  function newProvider() {
    const resourceServerInfo = (_ctx, indicator) => {
      const scope = RESOURCE_SERVERS[indicator];
      if (scope === undefined) throw new errors.InvalidTarget(`unknown resource ${indicator}`);
      return { scope, audience: indicator, accessTokenFormat: 'jwt', accessTokenTTL: 3600, jwt: { sign: { alg: 'RS256' } } };
    };
    const p = new Provider(issuer, {
      adapter: memoryAdapter(),
      clients: registrations,
      responseTypes: ['code'],
      jwks: { keys: [signingKey] },
      cookies: { keys: [randomBytes(32).toString('base64url')] },
      findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
      // Everything oidc-provider would otherwise default with a notice on stdout.
      clientBasedCORS: () => false,
      renderError: (ctx, out) => { ctx.type = 'json'; ctx.body = out; },
      ttl: {
        AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 3600,
        ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 3600,
        AuthorizationCode: 60,
        IdToken: 3600,
        RefreshToken: 24 * 3600,
        Interaction: 600,
        Session: 3600,
        Grant: 24 * 3600,
        DeviceCode: 600,
        BackchannelAuthenticationRequest: 600,
        PreAuthorizedCode: 600,
      },
      pkce: { required: () => true },
      // A refresh token for every code grant of a client allowed the refresh_token grant.
      issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
      expiresWithSession: () => false,
      interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
      features: {
        // The headless test page below answers interactions; no development forms.
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        // RFC 9449: a token request with a DPoP proof gets an access token bound to the proof's
        // key (`cnf.jkt`, token_type DPoP), as Okta, Auth0, Keycloak and Ping issue them.
        dPoP: { enabled: true },
        rpInitiatedLogout: { enabled: false },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => API_RESOURCE,
          useGrantedResource: () => true,
          getResourceServerInfo: resourceServerInfo,
        },
      },
    });
    p.registerGrantType(TOKEN_EXCHANGE, (ctx) => tokenExchange(ctx, p, resourceServerInfo),
      ['subject_token', 'subject_token_type', 'actor_token', 'actor_token_type', 'requested_token_type', 'resource', 'audience', 'scope']);
    p.use(recordTokenRequest);
    // Errors stay visible (oidc-provider answers them as server_error and emits this).
    p.on('server_error', (_ctx, error) => console.error('oidc-provider server_error:', error));
    return p;
  }

  /** The client authentication method a token request presented (`undefined`: unparsed). */
  function presentedMethod(ctx) {
    if (ctx.headers.authorization !== undefined) return 'client_secret_basic';
    const params = ctx.oidc.params ?? {};
    if (params.client_secret !== undefined) return 'client_secret_post';
    if (params.client_assertion !== undefined) return 'private_key_jwt';
    return 'none';
  }

  /**
   * Records every token endpoint answer: the client, the grant, the client authentication
   * method it presented and the status, so tests can see which method the SDK used.
   * oidc-provider holds each client to its registered method family: a `private_key_jwt`
   * client's secret, or a secret client's assertion, is `invalid_client`; a secret is taken by
   * `client_secret_basic` or `client_secret_post` whichever of the two is registered
   * (lib/shared/client_auth.js), so that difference shows here, not as a refusal.
   */
  async function recordTokenRequest(ctx, next) {
    await next();
    if (ctx.method !== 'POST' || ctx.path !== '/token') return;
    tokenRequests.push({
      clientId: ctx.oidc.client?.clientId ?? ctx.oidc.params?.client_id,
      registeredMethod: ctx.oidc.client?.clientAuthMethod,
      method: presentedMethod(ctx),
      grantType: ctx.oidc.params?.grant_type,
      status: ctx.status,
      error: ctx.body?.error,
    });
  }

  /**
   * RFC 8693 token exchange (§2.1, §2.2), registered with `registerGrantType`: oidc-provider has
   * already authenticated the client by its registered method and checked that the grant is
   * allowed for it. Records the request in `exchanges` before deciding.
   */
  async function tokenExchange(ctx, p, resourceServerInfo) {
    const { params, client } = ctx.oidc;
    const record = {
      clientId: client.clientId, clientAuthMethod: presentedMethod(ctx), subjectSub: undefined, subjectClientId: undefined, subjectIsApp: undefined,
      subjectVerified: false, resource: params.resource, audience: params.audience, scope: params.scope,
      requestedTokenType: params.requested_token_type, issued: false, error: undefined,
    };
    exchanges.push(record);
    try {
      if (!params.subject_token) throw new errors.InvalidRequest('missing required parameter subject_token');
      if (params.subject_token_type !== ACCESS_TOKEN_TYPE) {
        throw new errors.InvalidRequest(`subject_token_type must be ${ACCESS_TOKEN_TYPE}`);
      }
      if (params.requested_token_type !== undefined && params.requested_token_type !== ACCESS_TOKEN_TYPE) {
        throw new errors.InvalidRequest(`requested_token_type must be ${ACCESS_TOKEN_TYPE}`);
      }
      if (params.actor_token !== undefined) throw new errors.InvalidRequest('actor_token is not supported');
      try {
        const unverified = decodeJwt(params.subject_token);
        Object.assign(record, { subjectSub: unverified.sub, subjectClientId: unverified.client_id });
      } catch {
        throw new errors.InvalidGrant('subject_token is not a JWT');
      }
      let subject;
      try {
        ({ payload: subject } = await jwtVerify(params.subject_token, createLocalJWKSet(publicJwks()), {
          issuer, audience: API_RESOURCE, typ: 'at+jwt', algorithms: ['RS256'], requiredClaims: ['sub', 'client_id', 'exp'],
        }));
      } catch (error) {
        throw new errors.InvalidGrant(`subject_token invalid: ${error.message}`);
      }
      record.subjectVerified = true;
      record.subjectIsApp = subject.sub === subject.client_id;
      if (record.subjectIsApp) {
        throw new errors.InvalidGrant('subject_token is an application token: there is no user to act for');
      }

      const target = params.resource ?? params.audience;
      if (target === undefined) throw new errors.InvalidTarget('resource or audience is required');
      if (params.resource !== undefined && params.audience !== undefined && params.resource !== params.audience) {
        throw new errors.InvalidTarget('resource and audience name different APIs');
      }
      if (target === API_RESOURCE) throw new errors.InvalidTarget('the subject token is already for this API');
      const resourceServer = new p.ResourceServer(target, await resourceServerInfo(ctx, target, client));

      // Requested scopes, by name or prefixed with the API (`api://profile/read`).
      const prefix = `${target.replace(/\/$/, '')}/`;
      const requested = (params.scope ?? '').split(' ').filter((s) => s && s !== 'openid' && s !== 'offline_access')
        .map((s) => (s.startsWith(prefix) ? s.slice(prefix.length) : s));
      const granted = requested.length ? requested.filter((s) => resourceServer.scopes.has(s)) : [...resourceServer.scopes];
      if (granted.length === 0) throw new errors.InvalidScope('no requested scope is offered by the resource', params.scope);

      // The user's token for the downstream API, as oidc-provider formats every access token.
      const token = new p.AccessToken({
        accountId: subject.sub, client, gty: 'token_exchange', scope: granted.join(' '), resourceServer,
      });
      ctx.oidc.entity('AccessToken', token);
      const value = await token.save();
      record.issued = true;
      ctx.body = {
        access_token: value,
        issued_token_type: ACCESS_TOKEN_TYPE,
        token_type: token.tokenType,
        expires_in: token.expiration,
        scope: token.scope,
      };
    } catch (error) {
      record.error = error.error ? `${error.error}: ${error.error_detail ?? error.error_description}` : String(error);
      throw error;
    }
  }

  /**
   * The headless sign-in page: answers each interaction oidc-provider asks for (login, then
   * consent) without a form. Login signs in the authorization request's `login_hint`; consent
   * grants whatever the request was missing (OIDC scopes, API scopes).
   */
  async function interaction(req, res) {
    try {
      const details = await provider.interactionDetails(req, res);
      const { prompt, params, session } = details;
      let result;
      if (prompt.name === 'login') {
        if (!params.login_hint) throw new Error('the test sign-in needs login_hint');
        result = { login: { accountId: params.login_hint } };
      } else if (prompt.name === 'consent') {
        const grant = details.grantId
          ? await provider.Grant.find(details.grantId)
          : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
        const missing = prompt.details;
        if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
        if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
        for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
          grant.addResourceScope(indicator, scopes.join(' '));
        }
        result = { consent: { grantId: await grant.save() } };
      } else {
        throw new Error(`the test sign-in cannot answer prompt ${prompt.name}`);
      }
      await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: true });
    } catch (error) {
      console.error('oidc-provider test sign-in failed:', error);
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(error));
    }
  }

  function handle(req, res) {
    // No keep-alive: a client never holds a connection to a server that `rotateKeys` stopped.
    res.setHeader('connection', 'close');
    if (req.url.startsWith('/interaction/')) return interaction(req, res);
    return callback(req, res);
  }

  /**
   * The client authentication of `client` for a token request, as its registered method (or
   * `method`, to show the server refuses another) sends it: `{headers, params}`. An assertion is
   * signed with the certificate key of `assertionKeyOf` (default: the client itself).
   */
  async function clientAuthentication(client, method = client.method, assertionKeyOf = client.id) {
    switch (method) {
      case 'client_secret_basic':
        return {
          headers: { authorization: `Basic ${Buffer.from(`${formEncode(client.id)}:${formEncode(client.secret ?? '')}`).toString('base64')}` },
          params: {},
        };
      case 'client_secret_post':
        return { headers: {}, params: { client_id: client.id, client_secret: client.secret ?? '' } };
      case 'private_key_jwt': {
        // The SDK's assertion shape: alg RS256, typ JWT, x5t#S256 and no kid; iss = sub = the
        // client id, aud = the token endpoint, jti, iat, nbf, exp.
        if (!clientKeys[assertionKeyOf]) throw new Error(`${assertionKeyOf} has no certificate key`);
        const key = await importPKCS8(clientKeys[assertionKeyOf], 'RS256');
        const now = Math.floor(Date.now() / 1000);
        const assertion = await new SignJWT({ jti: randomUUID(), nbf: now })
          .setProtectedHeader({ alg: 'RS256', typ: 'JWT', 'x5t#S256': client.x5tS256 })
          .setIssuer(client.id).setSubject(client.id).setAudience(tokenEndpoint)
          .setIssuedAt(now).setExpirationTime(now + 300)
          .sign(key);
        return { headers: {}, params: { client_assertion_type: ASSERTION_TYPE, client_assertion: assertion } };
      }
      default:
        throw new Error(`unknown client authentication method ${method}`);
    }
  }

  /**
   * One token request by `client` (authenticated by its method, or `method`; see
   * `clientAuthentication` for `assertionKeyOf`): `{status, body}`. Array values are sent as
   * repeated parameters.
   */
  async function requestToken(client, params, { method, assertionKeyOf, dpop = false } = {}) {
    const auth = await clientAuthentication(client, method, assertionKeyOf);
    const form = new URLSearchParams();
    for (const [name, value] of Object.entries({ ...params, ...auth.params })) {
      for (const v of [value].flat()) if (v !== undefined) form.append(name, v);
    }
    const headers = { 'content-type': 'application/x-www-form-urlencoded', ...auth.headers };
    if (dpop) headers.dpop = await dpopProof(dpop === true ? await newDpopKey() : dpop, 'POST', tokenEndpoint);
    const response = await fetch(tokenEndpoint, { method: 'POST', headers, body: form });
    return { status: response.status, body: await response.json() };
  }

  /**
   * A real authorization code flow (PKCE S256) for `sub` at `clientId`: the authorization
   * request, the headless sign-in and consent, the redirect with the code, and the code
   * exchanged at the token endpoint with the client's own authentication. Answers the token
   * endpoint's JSON (access_token for `resource`, id_token, refresh_token).
   */
  async function signIn({ sub, clientId = clients.api.id, scope = 'access_as_user', resource = API_RESOURCE, nonce, dpop }) {
    const client = clientById(clientId);
    const verifier = randomBytes(32).toString('base64url');
    const authorize = new URL(`${issuer}/auth`);
    for (const [name, value] of Object.entries({
      client_id: client.id, response_type: 'code', redirect_uri: REDIRECT_URI, scope: `openid offline_access ${scope}`,
      resource, login_hint: sub, state: randomUUID(), nonce,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
    })) {
      if (value !== undefined) authorize.searchParams.set(name, value);
    }
    const cookies = new Map();
    let url = authorize.href;
    let code;
    for (let hop = 0; hop < 10 && !code; hop += 1) {
      const response = await fetch(url, {
        redirect: 'manual',
        headers: { cookie: [...cookies].map(([name, value]) => `${name}=${value}`).join('; ') },
      });
      for (const cookie of response.headers.getSetCookie()) {
        const [, name, value] = /^([^=]+)=([^;]*)/.exec(cookie) ?? [];
        if (name && value) cookies.set(name, value);
        else if (name) cookies.delete(name);
      }
      const location = response.headers.get('location');
      if (!location) throw new Error(`the sign-in stopped at ${url}: ${response.status} ${await response.text()}`);
      const next = new URL(location, url);
      if (`${next.origin}${next.pathname}` === REDIRECT_URI) {
        if (next.searchParams.has('error')) {
          throw new Error(`authorization refused: ${next.searchParams.get('error')} ${next.searchParams.get('error_description')}`);
        }
        code = next.searchParams.get('code');
      }
      url = next.href;
    }
    if (!code) throw new Error('the sign-in did not come back with a code');
    const { status, body } = await requestToken(client, {
      grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier, resource,
    }, { dpop });
    if (status !== 200) throw new Error(`the code exchange failed: ${status} ${JSON.stringify(body)}`);
    return body;
  }

  return {
    issuer,
    tokenEndpoint,
    jwksUri,
    port: boundPort,
    apiResource: API_RESOURCE,
    downstreamResource: PROFILE_RESOURCE,
    partnerResource: PARTNER_RESOURCE,
    clients,
    exchanges,
    tokenRequests,
    /** The signing key's `kid` now (changes with `rotateKeys`). */
    get kid() { return signingKey.kid; },
    /** The whole token response of a user's sign-in (see `signIn`). */
    signIn,
    /**
     * A user's access token for `resource` (default our API), from a real code flow at
     * `clientId` (default `clients.api`): RFC 9068, as oidc-provider's token endpoint issues it.
     * A real flow rather than oidc-provider's models called directly: the token, its claims and
     * its grant are exactly what a user's sign-in produces, and the ID token and refresh token of
     * the same flow come with it.
     */
    mintUser: async ({ sub, scope = 'access_as_user', clientId, resource, dpop } = {}) =>
      (await signIn({ sub, scope, clientId, resource, dpop })).access_token,
    /**
     * The ID token of a real code flow for `sub` at `clientId` (aud = clientId), with a `nonce`
     * as an OpenID Connect client sends it (`nonce: null` for none).
     */
    mintIdToken: async ({ sub, clientId, nonce = randomUUID() } = {}) =>
      (await signIn({ sub, clientId, nonce: nonce ?? undefined })).id_token,
    /**
     * A client credentials token of `client` (authenticated by its registered method) for
     * `resource` with `scope`: by default our API's user scope, which oidc-provider grants an
     * app as well (the daemon token that must not pass as a user's).
     */
    appToken: async (client, { resource = API_RESOURCE, scope = 'access_as_user', dpop = false } = {}) => {
      const { status, body } = await requestToken(client, { grant_type: 'client_credentials', resource, scope }, { dpop });
      if (status !== 200) throw new Error(`client_credentials for ${client.id} failed: ${status} ${JSON.stringify(body)}`);
      return body.access_token;
    },
    requestToken,
    /** Restarts the server on the same port with a new signing key; the old one is gone. */
    rotateKeys: async () => {
      await stop(server);
      signingKey = newSigningKey();
      provider = newProvider();
      callback = provider.callback();
      server = createServer((req, res) => handle(req, res));
      await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(boundPort, '127.0.0.1', resolve);
      });
      return signingKey.kid;
    },
    close: () => stop(server),
  };
}

/** A client's DPoP key pair (RFC 9449 §4.1): `alg` ES256 unless given; its public `jwk`. */
export async function newDpopKey(alg = 'ES256') {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  return { alg, privateKey, jwk: await exportJWK(publicKey) };
}

/**
 * An RFC 9449 §4.2 proof by `key` for `htm` `htu`: a fresh `jti`, `iat` now, and for a resource
 * request the access token's hash (`ath`, §4.2) and the server's `nonce` where given. Written with
 * jose, not the SDK: the shape is the RFC's.
 */
export async function dpopProof(key, htm, htu, { accessToken, nonce, iat, jti = randomUUID() } = {}) {
  const claims = { htm, htu, jti };
  if (accessToken) claims.ath = createHash('sha256').update(accessToken).digest('base64url');
  if (nonce) claims.nonce = nonce;
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: key.alg, typ: 'dpop+jwt', jwk: key.jwk });
  (iat === undefined ? jwt.setIssuedAt() : jwt.setIssuedAt(iat));
  return jwt.sign(key.privateKey);
}

function stop(server) {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

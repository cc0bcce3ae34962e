// A local identity provider for integration and end-to-end tests: npm oauth2-mock-server (a real
// third-party OIDC server) on 127.0.0.1, shaped like Entra ID, with the checks the mock lacks.
//
// - User tokens are Entra-shaped: iss, tid, oid, sub, scp, ver "2.0", azp, aud = the API.
// - The on-behalf-of grant (jwt-bearer, requested_token_use=on_behalf_of) is checked: the client
//   must authenticate with its secret, the assertion must carry this server's valid RS256
//   signature, be unexpired, and be addressed to the client (aud = the API). Failures answer as
//   Entra does (invalid_client AADSTS7000215, invalid_grant AADSTS50013 / AADSTS500133).
// - The issued token is for the requested scope's resource (scope "api://partner/read" gives
//   aud "api://partner", scp "read") and keeps the caller's oid, tid and sub.
// - With offline_access the answer carries a refresh token; the refresh_token grant continues
//   as the same user. client_credentials gives app tokens with roles.
// - Test routes: GET /__stats (token requests by grant), POST /__mint (a user token; JSON body
//   with optional claims and expiresIn), POST /__script (queue the next token answers),
//   POST /__lifetime {seconds} (the lifetime of the tokens it issues from now on; null: default).
//
// - Entra-shaped mode (`entra: true`): the server answers at Entra's paths under
//   http://127.0.0.1:<port>/ as an Entra *instance* for one tenant: the v2.0 discovery document
//   (issuer http://127.0.0.1:<port>/{tenant}/v2.0), the v1.0 one (issuer
//   https://sts.windows.net/{tenant}/), the key set with a per-key `issuer` and no `alg`, and
//   the token endpoint /{tenant}/oauth2/v2.0/token. `mint` then issues v2.0 tokens (aud = the
//   client id, azp) or, with `version: 1`, v1.0 tokens (iss https://sts.windows.net/{tenant}/,
//   aud = api://{client id}, appid), and with `idToken: true` an ID token for the client.
//
// Run directly, it prints one JSON line {"issuer", "tenant", "port"} and runs until stdin closes
// (EDGE_IDENTITY_IDP_MODE=entra for the Entra-shaped mode, adding "instance").
import { randomUUID } from 'node:crypto';
import { OAuth2Server } from 'oauth2-mock-server';
import { checkJwt } from './jwt.mjs';

export const TENANT = '9188040d-6c67-4c5b-b112-36a304b66dad';
/** The tenant of the Entra-shaped mode. */
export const ENTRA_TENANT = '3c8d6a1e-2f4b-4e7a-9c5d-8b1f0e2a7d64';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';


export async function startIdentityProvider({
  clientId = 'edge-api',
  clientSecret = 'local-dev-secret',
  apiAudience = `api://${clientId}`,
  port = 0,
  entra = false,
} = {}) {
  const tenant = entra ? ENTRA_TENANT : TENANT;
  const server = new OAuth2Server(undefined, undefined,
    entra ? { endpoints: { token: `/${tenant}/oauth2/v2.0/token` } } : undefined);
  await server.issuer.keys.generate('RS256');
  await server.start(port, '127.0.0.1');
  server.issuer.url = `http://127.0.0.1:${server.address().port}`;
  const issuer = server.issuer.url;
  // Entra-shaped mode: this server is the instance; tokens carry Entra's issuers.
  const instance = `${issuer}/`;
  const v2Issuer = (tid) => `${instance}${tid}/v2.0`;
  const v1Issuer = (tid) => `https://sts.windows.net/${tid}/`;
  const tokenIssuer = entra ? v2Issuer(tenant) : issuer;
  const tokenEndpoint = entra ? `${instance}${tenant}/oauth2/v2.0/token` : `${issuer}/token`;
  const jwksUrl = entra ? `${instance}${tenant}/discovery/v2.0/keys` : `${issuer}/jwks`;

  const stats = { tokenRequests: 0, byGrant: {}, refused: 0 };
  const refreshTokens = new Map(); // refresh token -> user claims
  const scripted = []; // queued {status, body} answers
  let accessLifetime = null; // seconds, for the tokens the token endpoint issues (POST /__lifetime)

  /** Verifies one of this server's RS256 tokens; returns its claims or a reason. */
  const checkOwnToken = (jwt) => checkJwt(jwt, server.issuer.keys.toJSON(),
    entra ? (iss, claims) => iss === v2Issuer(claims.tid) || iss === v1Issuer(claims.tid) : issuer);

  const userClaims = (c) => ({ oid: c.oid, tid: c.tid, sub: c.sub, name: c.name });
  const resourceOf = (scope) => {
    const first = (scope ?? '').split(' ').find((s) => s && s !== 'offline_access') ?? '';
    const cut = first.lastIndexOf('/');
    return cut > 0 ? { aud: first.slice(0, cut), scp: first.slice(cut + 1) } : { aud: first, scp: first };
  };
  const scopeNames = (scope) => (scope ?? '').split(' ')
    .filter((s) => s && s !== 'offline_access').map((s) => s.slice(s.lastIndexOf('/') + 1)).join(' ');

  server.service.on('beforeTokenSigning', (token, req) => {
    const body = req.body ?? {};
    if (!('scope' in token.payload)) return; // the id_token of a refresh answer
    let { aud } = resourceOf(body.scope);
    // Entra gives v2.0 tokens for this API's App ID URI with aud = its client id.
    if (entra && aud === apiAudience) aud = clientId;
    let user = {};
    if (body.grant_type === JWT_BEARER) user = userClaims(checkOwnToken(body.assertion).claims ?? {});
    if (body.grant_type === 'refresh_token') user = refreshTokens.get(body.refresh_token) ?? {};
    Object.assign(token.payload, { aud, ver: '2.0', azp: clientId, tid: tenant, iss: tokenIssuer });
    if (body.grant_type === 'client_credentials') {
      Object.assign(token.payload, { roles: ['Jobs.Resume'], oid: 'app-oid', sub: 'app-oid', idtyp: 'app' });
    } else {
      Object.assign(token.payload, user, { scp: scopeNames(body.scope) });
    }
    delete token.payload.scope;
    delete token.payload.client_id;
    if (accessLifetime !== null) token.payload.exp = Math.floor(Date.now() / 1000) + accessLifetime;
  });

  server.service.on('beforeResponse', (response, req) => {
    const body = req.body ?? {};
    stats.tokenRequests += 1;
    stats.byGrant[body.grant_type] = (stats.byGrant[body.grant_type] ?? 0) + 1;
    const refuse = (status, error, code, description) => {
      stats.refused += 1;
      response.statusCode = status;
      response.body = { error, error_description: `AADSTS${code}: ${description}`, error_codes: [code],
        trace_id: randomUUID(), correlation_id: req.headers['client-request-id'] ?? randomUUID() };
    };
    if (scripted.length > 0) {
      const next = scripted.shift();
      response.statusCode = next.status;
      response.body = next.body;
      return;
    }
    if (body.client_id !== clientId || body.client_secret !== clientSecret) {
      return refuse(401, 'invalid_client', 7000215, 'Invalid client secret provided.');
    }
    delete response.body.id_token;
    if (body.grant_type === JWT_BEARER) {
      if (body.requested_token_use !== 'on_behalf_of') {
        return refuse(400, 'invalid_request', 900144, "requested_token_use must be 'on_behalf_of'.");
      }
      const { claims, reason } = checkOwnToken(body.assertion);
      if (reason === 'expired') return refuse(400, 'invalid_grant', 500133, 'Assertion is not within its valid time range.');
      if (reason) return refuse(400, 'invalid_grant', 50013, `Assertion failed signature validation: ${reason}.`);
      if (claims.aud !== apiAudience && claims.aud !== clientId) {
        return refuse(400, 'invalid_grant', 50013, 'Assertion audience does not match the client.');
      }
      delete response.body.refresh_token;
      if ((body.scope ?? '').split(' ').includes('offline_access')) {
        const refreshToken = randomUUID();
        refreshTokens.set(refreshToken, userClaims(claims));
        response.body.refresh_token = refreshToken;
      }
    } else if (body.grant_type === 'refresh_token') {
      const user = refreshTokens.get(body.refresh_token);
      if (!user) return refuse(400, 'invalid_grant', 70043, 'The refresh token has expired or is invalid.');
      // Rotate, as Entra may: the old refresh token keeps working, the new one is returned.
      const rotated = randomUUID();
      refreshTokens.set(rotated, user);
      response.body.refresh_token = rotated;
    } else if (body.grant_type !== 'client_credentials') {
      return refuse(400, 'unsupported_grant_type', 70003, 'The grant type is not supported here.');
    }
    response.body.scope = body.scope;
    if (accessLifetime !== null) response.body.expires_in = accessLifetime;
  });

  const sendJson = (res, status, value) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(value));
  };
  server.service.addRoute('GET', '/__stats', (_req, res) => sendJson(res, 200, stats));
  server.service.addRoute('POST', '/__script', (req, res) => {
    for (const answer of req.body?.answers ?? []) scripted.push(answer);
    sendJson(res, 200, { queued: scripted.length });
  });
  server.service.addRoute('POST', '/__lifetime', (req, res) => {
    accessLifetime = req.body?.seconds ?? null;
    sendJson(res, 200, { seconds: accessLifetime });
  });
  server.service.addRoute('POST', '/__mint', async (req, res) => {
    sendJson(res, 200, { token: await mint(req.body ?? {}) });
  });

  if (entra) {
    // Entra's documents, member for member as tests/fixtures/entra/README.md describes them.
    server.service.addRoute('GET', `/${tenant}/v2.0/.well-known/openid-configuration`, (_req, res) => sendJson(res, 200, {
      token_endpoint: tokenEndpoint,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: jwksUrl,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: v2Issuer(tenant),
      authorization_endpoint: `${instance}${tenant}/oauth2/v2.0/authorize`,
      end_session_endpoint: `${instance}${tenant}/oauth2/v2.0/logout`,
    }));
    server.service.addRoute('GET', `/${tenant}/.well-known/openid-configuration`, (_req, res) => sendJson(res, 200, {
      token_endpoint: `${instance}${tenant}/oauth2/token`,
      jwks_uri: `${instance}common/discovery/keys`,
      issuer: v1Issuer(tenant),
      authorization_endpoint: `${instance}${tenant}/oauth2/authorize`,
    }));
    server.service.addRoute('GET', `/${tenant}/discovery/v2.0/keys`, (_req, res) => sendJson(res, 200, {
      keys: server.issuer.keys.toJSON().map(({ kty, kid, n, e }) => ({ kty, use: 'sig', kid, x5t: kid, n, e, issuer: v2Issuer(tenant) })),
    }));
  }

  /**
   * A user token for the API; `claims` override, `expiresIn` in seconds. Entra-shaped mode:
   * `version` 1 or 2 (default 2), and `idToken: true` for an ID token for the client instead.
   */
  async function mint({ claims = {}, expiresIn = 3600, version = 2, idToken = false } = {}) {
    const user = { tid: tenant, oid: '00000000-0000-4000-8000-00000000a11c', sub: 'alice-subject', name: 'Alice' };
    let shape;
    if (!entra) {
      shape = { aud: apiAudience, ...user, scp: 'access_as_user', ver: '2.0', azp: 'spa-client-id' };
    } else if (idToken) {
      shape = { aud: clientId, iss: version === 1 ? v1Issuer(tenant) : v2Issuer(tenant), ...user,
        ver: version === 1 ? '1.0' : '2.0', nonce: randomUUID(), preferred_username: 'alice@contoso.example' };
    } else if (version === 1) {
      shape = { aud: apiAudience, iss: v1Issuer(tenant), ...user, scp: 'access_as_user', ver: '1.0',
        appid: 'spa-client-id', appidacr: '0', upn: 'alice@contoso.example' };
    } else {
      shape = { aud: clientId, iss: v2Issuer(tenant), ...user, scp: 'access_as_user', ver: '2.0',
        azp: 'spa-client-id', azpacr: '0', preferred_username: 'alice@contoso.example' };
    }
    const overrides = { ...claims };
    if (entra && overrides.tid && !overrides.iss) {
      overrides.iss = version === 1 ? v1Issuer(overrides.tid) : v2Issuer(overrides.tid);
    }
    return server.issuer.buildToken({
      expiresIn,
      scopesOrTransform: (_header, payload) => Object.assign(payload, shape, overrides),
    });
  }

  return {
    issuer,
    instance,
    tokenIssuer,
    tokenEndpoint,
    jwksUrl,
    tenant,
    port: server.address().port,
    stats,
    mint,
    stop: () => server.stop(),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const idp = await startIdentityProvider({
    clientId: process.env.EDGE_IDENTITY_CLIENT_ID ?? 'edge-api',
    clientSecret: process.env.EDGE_IDENTITY_CLIENT_SECRET ?? 'local-dev-secret',
    port: Number(process.env.EDGE_IDENTITY_IDP_PORT ?? 0),
    entra: process.env.EDGE_IDENTITY_IDP_MODE === 'entra',
  });
  process.stdout.write(JSON.stringify({ issuer: idp.issuer, instance: idp.instance, tenant: idp.tenant, port: idp.port }) + '\n');
  process.stdin.resume();
  process.stdin.on('end', async () => {
    await idp.stop();
    process.exit(0);
  });
}

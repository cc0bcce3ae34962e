// The example worker inside real workerd (Miniflare under node --test) with a `Generic` authority
// on a real third-party authorization server: npm oidc-provider 9.x (tests/e2e/oidc-provider.mjs),
// standing in for any RFC 9068 / RFC 8693 provider that is not Entra ID. Downstream calls go by
// RFC 8693 token exchange to the local downstream API (tests/e2e/downstream-api.mjs), which checks
// the exchanged tokens against oidc-provider's key set.
//
// Every token here is issued by oidc-provider itself, none is hand-made:
// - user tokens: a real authorization code flow (PKCE) at oidc-provider's authorization and token
//   endpoints (`mintUser`): RFC 9068 (`typ: at+jwt`; iss, sub, aud, client_id, scope, jti, iat, exp);
// - app tokens: a real client_credentials request (`appToken`): the same shape with sub = client_id;
// - ID tokens: the id_token of that code flow's token response (`mintIdToken`): aud = client id;
// - exchanged tokens: oidc-provider's AccessToken model, from its token exchange grant.
//
// Build the worker first (scripts/test.sh does): bash scripts/build-worker.sh
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Miniflare } from 'miniflare';
import { startOidcProvider } from './oidc-provider.mjs';
import { startDownstreamApi } from './downstream-api.mjs';
import { genericConfig } from './example-config.mjs';

const WORKER = 'worker-example/build/index.js';
const CACHE_KEY = 'generic-provider-token-cache-key-of-32-characters';

const workers = [];

/** A fresh user (own sub, so token caches never mix between tests). */
const newSub = () => `user-${randomUUID()}`;

/** The example worker with `config`; `secret` in the CLIENT_SECRET binding, as deployed. */
function worker(config, { secret } = {}) {
  const mf = new Miniflare({
    modules: true,
    scriptPath: WORKER,
    modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }],
    compatibilityDate: '2025-09-01',
    kvNamespaces: ['TOKEN_CACHE'],
    bindings: {
      IDENTITY_CONFIG: JSON.stringify(config),
      ...(secret ? { CLIENT_SECRET: secret } : {}),
      TOKEN_CACHE_KEY: CACHE_KEY,
    },
  });
  workers.push(mf);
  return mf;
}

const me = (mf, token) => mf.dispatchFetch('http://example/api/me', { headers: { authorization: `Bearer ${token}` } });

/** The status and the body text of an answer, for assertion messages. */
async function answer(response) {
  return { status: response.status, text: await response.text(), challenge: response.headers.get('www-authenticate') };
}

const describeAnswer = ({ status, text, challenge }) => `${status} ${text}${challenge ? ` (WWW-Authenticate: ${challenge})` : ''}`;

const jsonOf = (text) => {
  try {
    return JSON.parse(text);
  } catch {
    return {};
  }
};

const claimsOf = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url'));

const requireWorker = () => {
  assert.ok(existsSync(WORKER), `${WORKER} is missing: build the worker first (bash scripts/build-worker.sh)`);
};

after(async () => {
  for (const mf of workers) await mf.dispose();
});

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

// The server side alone, without the worker: what the worker tests below rely on oidc-provider
// doing, so a failure there is the SDK's, not the fixture's.
describe('oidc-provider as the fixture configures it', () => {
  let op;
  before(async () => { op = await startOidcProvider(); });
  after(() => op?.close());

  const exchange = (client, subjectToken, extra = {}) => op.requestToken(client, {
    grant_type: TOKEN_EXCHANGE, subject_token: subjectToken, subject_token_type: ACCESS_TOKEN_TYPE,
    requested_token_type: ACCESS_TOKEN_TYPE, resource: op.downstreamResource, scope: 'read', ...extra,
  });

  test('each client gets a client_credentials token by its registered method (an assertion without kid too)', async () => {
    for (const name of ['basic', 'post', 'privateKeyJwt']) {
      const client = op.clients[name];
      const { status, body } = await op.requestToken(client, { grant_type: 'client_credentials', resource: op.apiResource, scope: 'access_as_user' });
      assert.equal(status, 200, `${name}: ${JSON.stringify(body)}`);
      assert.equal(claimsOf(body.access_token).sub, client.id);
      assert.equal(op.tokenRequests.at(-1).method, client.method);
    }
  });

  test('a secret from the private_key_jwt client, an assertion from a secret client and a wrong secret are invalid_client', async () => {
    const attempts = [
      [{ ...op.clients.privateKeyJwt, secret: 'never-registered' }, 'client_secret_post'],
      [{ ...op.clients.privateKeyJwt, secret: 'never-registered' }, 'client_secret_basic'],
      [{ ...op.clients.post, x5tS256: op.clients.privateKeyJwt.x5tS256 }, 'private_key_jwt'],
      [{ ...op.clients.basic, secret: `${op.clients.basic.secret}-wrong` }, 'client_secret_basic'],
    ];
    for (const [client, method] of attempts) {
      const { status, body } = await op.requestToken(client, { grant_type: 'client_credentials', resource: op.apiResource }, { method, assertionKeyOf: op.clients.privateKeyJwt.id });
      assert.deepEqual([status, body.error], [401, 'invalid_client'], `${client.id} by ${method}: ${JSON.stringify(body)}`);
    }
  });

  test("the token exchange turns a user's token into one for the downstream API, for the same sub", async () => {
    const sub = newSub();
    const { status, body } = await exchange(op.clients.post, await op.mintUser({ sub }));
    assert.equal(status, 200, JSON.stringify(body));
    assert.deepEqual([body.issued_token_type, body.token_type], [ACCESS_TOKEN_TYPE, 'Bearer']);
    const claims = claimsOf(body.access_token);
    assert.deepEqual([claims.sub, claims.aud, claims.client_id, claims.scope], [sub, op.downstreamResource, op.clients.post.id, 'read']);
  });

  test('the token exchange refuses an app token and an ID token (invalid_grant), and records both', async () => {
    const app = await op.appToken(op.clients.post);
    const idSub = newSub();
    const idToken = await op.mintIdToken({ sub: idSub, clientId: op.clients.post.id });
    for (const [what, token, sub] of [['app token', app, op.clients.post.id], ['ID token', idToken, idSub]]) {
      const { status, body } = await exchange(op.clients.post, token);
      assert.deepEqual([status, body.error], [400, 'invalid_grant'], `${what}: ${JSON.stringify(body)}`);
      assert.deepEqual(op.exchanges.at(-1).subjectSub, sub, what);
      assert.equal(op.exchanges.at(-1).issued, false, what);
    }
    assert.equal(op.exchanges.findLast((e) => e.subjectSub === op.clients.post.id).subjectIsApp, true);
  });
});

describe('the example worker with a Generic authority on oidc-provider', () => {
  let op;
  let api;
  let mf; // as the client_secret_post client, the API's usual registration here
  before(async () => {
    requireWorker();
    op = await startOidcProvider();
    api = await startDownstreamApi({ issuer: op.issuer, jwksUrl: op.jwksUri });
    mf = worker(genericConfig(op, api, op.clients.post), { secret: op.clients.post.secret });
  });
  after(async () => {
    await api?.stop();
    await op?.close();
  });

  /** The token exchanges the server recorded for subject `sub`. */
  const exchangesFor = (sub) => op.exchanges.filter((e) => e.subjectSub === sub);

  test("a user's access token is served, and the profile API gets a token exchanged for that user", async () => {
    const sub = newSub();
    // From oidc-provider's token endpoint, after a real code flow by the web app (clients.api).
    const token = await op.mintUser({ sub });
    assert.deepEqual([claimsOf(token).aud, claimsOf(token).scope], [op.apiResource, 'access_as_user']);
    const got = await answer(await me(mf, token));
    assert.equal(got.status, 200, describeAnswer(got));
    assert.equal(jsonOf(got.text).sub, sub);
    const seen = api.seen.filter((s) => s.path === '/profile/me' && s.sub === sub);
    assert.deepEqual(seen.map((s) => [s.aud, s.clientId, s.scope]), [[op.downstreamResource, op.clients.post.id, 'read']]);
    const exchanges = exchangesFor(sub);
    assert.deepEqual(exchanges.map((e) => [e.clientId, e.issued, e.resource]), [[op.clients.post.id, true, op.downstreamResource]]);
  });

  test('an app token carrying the user scope is refused as app-only (403), and never exchanged', async () => {
    // The daemon's attack: a client_credentials token from oidc-provider for our API, carrying
    // access_as_user (oidc-provider grants a client the API's scopes), sub = client_id. Both our
    // API's own registration and another client's.
    for (const client of [op.clients.post, op.clients.basic]) {
      const app = await op.appToken(client);
      const claims = claimsOf(app);
      assert.deepEqual([claims.sub, claims.client_id, claims.scope, claims.aud], [client.id, client.id, 'access_as_user', op.apiResource]);
      const exchangesBefore = op.exchanges.length;
      const got = await answer(await me(mf, app));
      assert.equal(got.status, 403, `${client.id}: ${describeAnswer(got)}`);
      assert.match(got.challenge ?? '', /error="insufficient_scope"/, `${client.id}: ${describeAnswer(got)}`);
      assert.deepEqual(op.exchanges.slice(exchangesBefore), [], `${client.id}: the app token reached the token exchange`);
      assert.deepEqual(exchangesFor(client.id), [], `${client.id}: the server recorded an exchange of the app token`);
    }
  });

  test('an ID token for the same client id is refused (401): it is no RFC 9068 access token', async () => {
    const sub = newSub();
    // The id_token of a real code flow by the worker's own client: aud = its client id.
    const idToken = await op.mintIdToken({ sub, clientId: op.clients.post.id });
    assert.equal(claimsOf(idToken).aud, op.clients.post.id);
    const got = await answer(await me(mf, idToken));
    assert.equal(got.status, 401, describeAnswer(got));
    // oidc-provider's ID tokens carry no `typ` header; the Generic preset requires RFC 9068's
    // `at+jwt` (§4), so the type is what refuses it, before any claim is read.
    assert.equal(jsonOf(got.text).code, 'token_type_invalid', describeAnswer(got));
    assert.deepEqual(exchangesFor(sub), [], 'the ID token reached the token exchange');
  });

  // Each registration: the worker configured with the client's method. oidc-provider
  // authenticates the client by it (a private_key_jwt client's assertion is checked against its
  // registered certificate key), and records which method the request presented.
  for (const [name, method] of [['basic', 'client_secret_basic'], ['post', 'client_secret_post'], ['privateKeyJwt', 'private_key_jwt']]) {
    test(`the token exchange authenticates by ${method} when configured so, and the server accepts it`, async () => {
      const client = op.clients[name];
      const worker_ = name === 'post' ? mf : worker(genericConfig(op, api, client), { secret: client.secret });
      const sub = newSub();
      const got = await answer(await me(worker_, await op.mintUser({ sub })));
      assert.equal(got.status, 200, describeAnswer(got));
      assert.equal(jsonOf(got.text).sub, sub);
      const exchanges = exchangesFor(sub);
      assert.deepEqual(exchanges.map((e) => [e.clientId, e.clientAuthMethod, e.issued]), [[client.id, method, true]],
        JSON.stringify(exchanges));
    });
  }

  test('without TokenEndpointAuthMethod a secret goes by client_secret_basic (first in discovery)', async () => {
    const client = op.clients.basic;
    const discovery = await (await fetch(`${op.issuer}/.well-known/openid-configuration`)).json();
    assert.ok(discovery.token_endpoint_auth_methods_supported.includes('client_secret_basic'));
    const sub = newSub();
    const got = await answer(await me(worker(genericConfig(op, api, client, { method: null }), { secret: client.secret }), await op.mintUser({ sub })));
    assert.equal(got.status, 200, describeAnswer(got));
    assert.deepEqual(exchangesFor(sub).map((e) => [e.clientId, e.clientAuthMethod, e.issued]), [[client.id, 'client_secret_basic', true]]);
  });

  test('a method other than the registered one is refused by the server, and the call fails', async (t) => {
    // oidc-provider holds a client to its registration: a secret from the private_key_jwt
    // client, and an assertion from a secret client, are invalid_client.
    const cases = [
      { client: op.clients.privateKeyJwt, method: 'client_secret_post', secret: 'a-secret-it-never-registered', pemBundle: null },
      { client: op.clients.basic, method: 'private_key_jwt', secret: undefined, pemBundle: op.clients.privateKeyJwt.pemBundle },
    ];
    for (const { client, method, secret, pemBundle } of cases) {
      const sub = newSub();
      const requestsBefore = op.tokenRequests.length;
      const got = await answer(await me(worker(genericConfig(op, api, client, { method, pemBundle }), { secret }), await op.mintUser({ sub })));
      t.diagnostic(`${client.id} by ${method}: the worker answered ${describeAnswer(got)}`);
      assert.ok(got.status >= 400, `${client.id} by ${method}: ${describeAnswer(got)}`);
      const refused = op.tokenRequests.slice(requestsBefore).filter((r) => r.clientId === client.id);
      assert.ok(refused.length >= 1, `${client.id} by ${method}: no token request reached the server (${describeAnswer(got)})`);
      for (const r of refused) assert.deepEqual([r.method, r.status, r.error], [method, 401, 'invalid_client'], JSON.stringify(r));
      assert.ok(!exchangesFor(sub).some((e) => e.issued), 'no token was issued');
    }
  });
});

describe('the example worker across a key rotation of oidc-provider', () => {
  let op;
  let api;
  before(async () => {
    requireWorker();
    op = await startOidcProvider();
    api = await startDownstreamApi({ issuer: op.issuer, jwksUrl: op.jwksUri });
  });
  after(async () => {
    await api?.stop();
    await op?.close();
  });

  test('a token signed by the key rotated in is accepted by the same worker instance', async () => {
    // One second between key-set fetches for an unknown kid (the default is 30 s).
    const mf = worker(genericConfig(op, api, op.clients.post, { azureAd: { KeyRefreshCooldownSeconds: 1 } }), { secret: op.clients.post.secret });
    const earlier = newSub();
    const oldToken = await op.mintUser({ sub: earlier });
    const first = await answer(await me(mf, oldToken));
    assert.equal(first.status, 200, describeAnswer(first));

    const oldKid = op.kid;
    // Key rotation by restart: the same issuer and port, a new signing key, the old one gone.
    await op.rotateKeys();
    assert.notEqual(op.kid, oldKid);
    const { keys } = await (await fetch(op.jwksUri)).json();
    assert.deepEqual(keys.map((k) => k.kid), [op.kid]);
    await new Promise((resolve) => setTimeout(resolve, 1100)); // past the cooldown

    const later = newSub();
    const newToken = await op.mintUser({ sub: later });
    assert.equal(JSON.parse(Buffer.from(newToken.split('.')[0], 'base64url')).kid, op.kid);
    const second = await answer(await me(mf, newToken));
    assert.equal(second.status, 200, describeAnswer(second));
    assert.equal(jsonOf(second.text).sub, later);
    assert.deepEqual(op.exchanges.filter((e) => e.subjectSub === later).map((e) => e.issued), [true]);

    // The key set the worker holds now no longer has the old key.
    const stale = await answer(await me(mf, oldToken));
    assert.equal(stale.status, 401, `a token signed by the removed key: ${describeAnswer(stale)}`);
  });
});

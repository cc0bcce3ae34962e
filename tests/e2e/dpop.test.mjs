// DPoP (RFC 9449) and protected-resource metadata (RFC 9728) end to end: the example worker in
// real workerd (Miniflare under node --test) on a `Generic` authority at npm oidc-provider 9.x
// (tests/e2e/oidc-provider.mjs) with its `features.dPoP`. Every access token is oidc-provider's
// own, bound by it to the client's key (`cnf.jkt`) because the client sent a DPoP proof at its
// token endpoint; every proof is written with jose by RFC 9449 §4.2 (`dpopProof`), not by the SDK.
//
// The first test is an MCP-style client's whole discovery: the API's 401 → its
// `resource_metadata` → the metadata's authorization server → that server's discovery document →
// a DPoP-bound token by a real code flow → the call with its proof.
//
// Build the worker first (scripts/test.sh does): bash scripts/build-worker.sh
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Miniflare } from 'miniflare';
import { dpopProof, newDpopKey, startOidcProvider } from './oidc-provider.mjs';
import { startDownstreamApi } from './downstream-api.mjs';
import { genericConfig } from './example-config.mjs';

const WORKER = 'worker-example/build/index.js';
const CACHE_KEY = 'dpop-e2e-token-cache-key-of-32-characters!';
const ORIGIN = 'http://example';
const WHOAMI = `${ORIGIN}/api/whoami`;

const workers = [];

function worker(op, api, { dpop, extra = {} } = {}) {
  const config = genericConfig(op, api, op.clients.post, {
    azureAd: { ScopesSupported: ['access_as_user'], ...(dpop ? { Dpop: dpop } : {}), ...extra },
  });
  const mf = new Miniflare({
    modules: true,
    scriptPath: WORKER,
    modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }],
    compatibilityDate: '2025-09-01',
    kvNamespaces: ['TOKEN_CACHE'],
    bindings: {
      IDENTITY_CONFIG: JSON.stringify(config),
      CLIENT_SECRET: op.clients.post.secret,
      TOKEN_CACHE_KEY: CACHE_KEY,
    },
  });
  workers.push(mf);
  return mf;
}

const claimsOf = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url'));

/** `GET url` with `Authorization: DPoP token` and each of `proofs` as a `DPoP` header. */
async function dpopCall(mf, url, token, proofs, method = 'GET') {
  const headers = new Headers({ authorization: `DPoP ${token}` });
  for (const proof of proofs) headers.append('dpop', proof);
  return mf.dispatchFetch(url, { method, headers });
}

async function answer(response) {
  const text = await response.text();
  let body = {};
  try {
    body = JSON.parse(text);
  } catch { /* not JSON */ }
  return { status: response.status, body, text, challenge: response.headers.get('www-authenticate'), nonce: response.headers.get('dpop-nonce') };
}

after(async () => {
  for (const mf of workers) await mf.dispose();
});

describe('the example worker taking DPoP-bound tokens from oidc-provider', () => {
  let op;
  let api;
  let mf;
  let key; // the client's DPoP key
  let token; // bound to it by oidc-provider
  before(async () => {
    assert.ok(existsSync(WORKER), `${WORKER} is missing: build the worker first (bash scripts/build-worker.sh)`);
    op = await startOidcProvider();
    api = await startDownstreamApi({ issuer: op.issuer, jwksUrl: op.jwksUri });
    mf = worker(op, api);
    key = await newDpopKey();
    token = await op.mintUser({ sub: `user-${randomUUID()}`, dpop: key });
  });
  after(async () => {
    await op?.close();
    await api?.stop();
  });

  test('an MCP-style client discovers the server from the API, gets a bound token and calls', async () => {
    // 1. The call without a token: 401, both schemes challenged, each pointing at the metadata.
    const refused = await answer(await mf.dispatchFetch(WHOAMI));
    assert.equal(refused.status, 401);
    const metadataUrl = /resource_metadata="([^"]+)"/.exec(refused.challenge)?.[1];
    assert.equal(metadataUrl, `${ORIGIN}/.well-known/oauth-protected-resource`, refused.challenge);
    assert.match(refused.challenge, /^Bearer resource_metadata="[^"]+", DPoP algs="ES256 RS256 PS256 EdDSA", resource_metadata=/);

    // 2. The metadata (RFC 9728 §2), read without a token.
    const metadata = await answer(await mf.dispatchFetch(metadataUrl));
    assert.equal(metadata.status, 200, metadata.text);
    assert.deepEqual(metadata.body, {
      resource: ORIGIN,
      authorization_servers: [op.issuer],
      scopes_supported: ['access_as_user'],
      bearer_methods_supported: ['header'],
      dpop_signing_alg_values_supported: ['ES256', 'RS256', 'PS256', 'EdDSA'],
      dpop_bound_access_tokens_required: false,
    });

    // 3. The authorization server's own discovery document: its token endpoint, DPoP algs.
    const discovery = await (await fetch(`${metadata.body.authorization_servers[0]}/.well-known/openid-configuration`)).json();
    assert.equal(discovery.token_endpoint, op.tokenEndpoint);
    assert.ok(discovery.dpop_signing_alg_values_supported.includes('ES256'), JSON.stringify(discovery.dpop_signing_alg_values_supported));

    // 4. A token by a real code flow with a DPoP proof at that token endpoint: bound to the key.
    const clientKey = await newDpopKey();
    const bound = await op.mintUser({ sub: `mcp-${randomUUID()}`, dpop: clientKey });
    assert.equal(claimsOf(bound).cnf?.jkt?.length, 43, 'oidc-provider bound it (cnf.jkt)');

    // 5. The call, with its proof.
    const proof = await dpopProof(clientKey, 'GET', WHOAMI, { accessToken: bound });
    const ok = await answer(await dpopCall(mf, WHOAMI, bound, [proof]));
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.body.scheme, 'DPoP');
    assert.equal(ok.body.jkt, claimsOf(bound).cnf.jkt);
  });

  test('a proof is good once: the same proof again is refused (replay)', async () => {
    const proof = await dpopProof(key, 'GET', WHOAMI, { accessToken: token });
    assert.equal((await answer(await dpopCall(mf, WHOAMI, token, [proof]))).status, 200);
    const again = await answer(await dpopCall(mf, WHOAMI, token, [proof]));
    assert.deepEqual([again.status, again.body.code], [401, 'dpop_proof_replayed'], again.text);
    assert.match(again.challenge, /DPoP error="invalid_dpop_proof"/);
  });

  test('a proof for another URL, another method, another token or too old is refused, each for its reason', async () => {
    const other = await op.mintUser({ sub: `user-${randomUUID()}`, dpop: key });
    const cases = [
      ['dpop_proof_htu_mismatch', await dpopProof(key, 'GET', `${ORIGIN}/api/me`, { accessToken: token })],
      ['dpop_proof_htu_mismatch', await dpopProof(key, 'GET', 'https://example/api/whoami', { accessToken: token })],
      ['dpop_proof_htm_mismatch', await dpopProof(key, 'POST', WHOAMI, { accessToken: token })],
      ['dpop_proof_ath_mismatch', await dpopProof(key, 'GET', WHOAMI, { accessToken: other })],
      ['dpop_proof_ath_mismatch', await dpopProof(key, 'GET', WHOAMI)],
      ['dpop_proof_iat_invalid', await dpopProof(key, 'GET', WHOAMI, { accessToken: token, iat: Math.floor(Date.now() / 1000) - 600 })],
    ];
    for (const [code, proof] of cases) {
      const refused = await answer(await dpopCall(mf, WHOAMI, token, [proof]));
      assert.deepEqual([refused.status, refused.body.code], [401, code], refused.text);
    }
    const none = await answer(await dpopCall(mf, WHOAMI, token, []));
    assert.deepEqual([none.status, none.body.code], [401, 'dpop_proof_missing']);
    const proof = await dpopProof(key, 'GET', WHOAMI, { accessToken: token });
    const two = await answer(await dpopCall(mf, WHOAMI, token, [proof, proof]));
    assert.deepEqual([two.status, two.body.code], [400, 'dpop_proof_repeated']);
  });

  test("a stolen bound token is refused with the thief's own key, and as a bearer token", async () => {
    const thief = await newDpopKey();
    const stolen = await answer(await dpopCall(mf, WHOAMI, token, [await dpopProof(thief, 'GET', WHOAMI, { accessToken: token })]));
    assert.deepEqual([stolen.status, stolen.body.code], [401, 'dpop_proof_key_mismatch'], stolen.text);
    const downgraded = await answer(await mf.dispatchFetch(WHOAMI, { headers: { authorization: `Bearer ${token}` } }));
    assert.deepEqual([downgraded.status, downgraded.body.code], [401, 'token_sender_constrained'], downgraded.text);
    assert.match(downgraded.challenge, /^Bearer error="invalid_token"/);
  });

  test('an unbound token is still a bearer token where DPoP is allowed, and no DPoP token', async () => {
    const plain = await op.mintUser({ sub: `user-${randomUUID()}` });
    const ok = await answer(await mf.dispatchFetch(WHOAMI, { headers: { authorization: `Bearer ${plain}` } }));
    assert.deepEqual([ok.status, ok.body.scheme], [200, 'Bearer'], ok.text);
    const asDpop = await answer(await dpopCall(mf, WHOAMI, plain, [await dpopProof(key, 'GET', WHOAMI, { accessToken: plain })]));
    assert.deepEqual([asDpop.status, asDpop.body.code], [401, 'dpop_token_not_bound'], asDpop.text);
  });

  test('a bound caller is not exchanged downstream for an unbound token (403 bound_caller)', async () => {
    const me = `${ORIGIN}/api/me`;
    const exchangesBefore = op.exchanges.length;
    const refused = await answer(await dpopCall(mf, me, token, [await dpopProof(key, 'GET', me, { accessToken: token })]));
    assert.deepEqual([refused.status, refused.body.error], [403, 'bound_caller'], refused.text);
    assert.equal(op.exchanges.length, exchangesBefore, 'nothing was sent to the token endpoint');
  });

  test('a route refused for scope answers 403 insufficient_scope naming the scope, in the scheme used', async () => {
    // A token for the API without its scope: the route's requirement names what to step up to.
    const narrow = await op.mintUser({ sub: `user-${randomUUID()}`, scope: 'read', dpop: key });
    const refused = await answer(await dpopCall(mf, WHOAMI, narrow, [await dpopProof(key, 'GET', WHOAMI, { accessToken: narrow })]));
    assert.equal(refused.status, 403, refused.text);
    assert.match(refused.challenge, /DPoP error="insufficient_scope", error_description="[^"]+", scope="access_as_user", algs="[^"]+", resource_metadata="http:\/\/example\/.well-known\/oauth-protected-resource"/);
  });
});

describe('DPoP required, with server nonces', () => {
  let op;
  let api;
  let mf;
  before(async () => {
    op = await startOidcProvider();
    api = await startDownstreamApi({ issuer: op.issuer, jwksUrl: op.jwksUri });
    mf = worker(op, api, { dpop: { Mode: 'Required', Nonce: true } });
  });
  after(async () => {
    await op?.close();
    await api?.stop();
  });

  test('a bearer token is refused with only a DPoP challenge', async () => {
    const plain = await op.mintUser({ sub: `user-${randomUUID()}` });
    const refused = await answer(await mf.dispatchFetch(WHOAMI, { headers: { authorization: `Bearer ${plain}` } }));
    assert.deepEqual([refused.status, refused.body.code], [401, 'dpop_required'], refused.text);
    assert.match(refused.challenge, /^DPoP error="invalid_token"/);
    assert.doesNotMatch(refused.challenge, /Bearer/);
    const metadata = await answer(await mf.dispatchFetch(`${ORIGIN}/.well-known/oauth-protected-resource`));
    assert.equal(metadata.body.dpop_bound_access_tokens_required, true);
  });

  test('the first proof gets use_dpop_nonce and a nonce; the retry with it is served (RFC 9449 §9)', async () => {
    const key = await newDpopKey();
    const token = await op.mintUser({ sub: `user-${randomUUID()}`, dpop: key });
    const first = await answer(await dpopCall(mf, WHOAMI, token, [await dpopProof(key, 'GET', WHOAMI, { accessToken: token })]));
    assert.deepEqual([first.status, first.body.code], [401, 'dpop_nonce_required'], first.text);
    assert.match(first.challenge, /DPoP error="use_dpop_nonce"/);
    assert.ok(first.nonce, 'the answer carries DPoP-Nonce');
    const retry = await answer(await dpopCall(mf, WHOAMI, token, [await dpopProof(key, 'GET', WHOAMI, { accessToken: token, nonce: first.nonce })]));
    assert.deepEqual([retry.status, retry.body.scheme], [200, 'DPoP'], retry.text);
    const forged = await answer(await dpopCall(mf, WHOAMI, token, [await dpopProof(key, 'GET', WHOAMI, { accessToken: token, nonce: `${first.nonce}x` })]));
    assert.equal(forged.body.code, 'dpop_nonce_required');
  });
});

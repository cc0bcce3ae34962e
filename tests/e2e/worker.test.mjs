// The example worker end to end inside real workerd (Miniflare under node --test), against the
// local stack: the identity provider (oauth2-mock-server, checking the OBO assertion) and the
// downstream API (checking every token it gets), both on 127.0.0.1 with free ports.
// Build the worker first (scripts/test.sh does): bash scripts/build-worker.sh
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Miniflare } from 'miniflare';
import { startIdentityProvider } from './identity-provider.mjs';
import { startDownstreamApi } from './downstream-api.mjs';
import { CLIENT_SECRET, appToken as clientCredentialsToken, entraExampleConfig, exampleConfig } from './example-config.mjs';

const OBO = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const CACHE_KEY = 'e2e-token-cache-key-of-at-least-32-characters';

let idp;
let api;
const workers = [];
let oidCounter = 0;

/** A fresh user (own oid, so caches never mix between tests). */
function newOid() {
  oidCounter += 1;
  return `00000000-0000-4000-8000-${String(oidCounter).padStart(12, '0')}`;
}

function worker({ config, secrets = { CLIENT_SECRET, TOKEN_CACHE_KEY: CACHE_KEY }, kvPersist, logs, extra = {}, others = [] } = {}) {
  const main = {
    ...(kvPersist ? { kvPersist } : {}),
    // With `logs` (an array), the worker's console output is collected there.
    ...(logs ? {
      handleRuntimeStdio(stdout, stderr) {
        for (const stream of [stdout, stderr]) stream.on('data', (chunk) => logs.push(chunk.toString()));
      },
    } : {}),
    modules: true,
    scriptPath: 'worker-example/build/index.js',
    modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }],
    compatibilityDate: '2025-09-01',
    kvNamespaces: ['TOKEN_CACHE'],
    bindings: {
      IDENTITY_CONFIG: JSON.stringify(config ?? exampleConfig({
        issuer: idp.issuer,
        profileUrl: api.profileUrl,
        partnerUrl: api.partnerUrl,
        azureAd: { ClockSkewSeconds: 0 },
        profile: { TimeoutMs: 1000 },
      })),
      ...secrets,
    },
    ...extra,
  };
  // With `others`, the example is the first of several workers (its bindings may name them).
  const mf = new Miniflare(others.length
    ? { workers: [{ name: 'example', ...main }, ...others], ...(logs ? { handleRuntimeStdio: main.handleRuntimeStdio } : {}) }
    : main);
  workers.push(mf);
  return mf;
}

const call = (mf, method, path, token, body) => mf.dispatchFetch(`http://example${path}`, {
  method,
  headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
  body: body ? JSON.stringify(body) : undefined,
});

const obo = () => idp.stats.byGrant[OBO] ?? 0;

/** A `Bearer` challenge's parameters, read as MSAL's WwwAuthenticateParameters reads them. */
function challengeParameters(header) {
  assert.match(header ?? '', /^Bearer /);
  return Object.fromEntries([...header.slice(7).matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
}

const appToken = (provider = idp) => clientCredentialsToken(provider);

before(async () => {
  idp = await startIdentityProvider({ clientSecret: CLIENT_SECRET });
  api = await startDownstreamApi({ issuer: idp.issuer });
});

after(async () => {
  for (const mf of workers) await mf.dispose();
  await api.stop();
  await idp.stop();
});

describe('the example worker', () => {
  let mf;
  before(() => { mf = worker(); });

  test('/healthz answers without a token', async () => {
    const response = await call(mf, 'GET', '/healthz');
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { status: 'ok' });
  });

  test('a valid token gets the downstream data, fetched with an OBO token for that API and user', async () => {
    const oid = newOid();
    const response = await call(mf, 'GET', '/api/me', await idp.mint({ claims: { oid } }));
    assert.equal(response.status, 200, await response.clone().text());
    // Streamed through unread (ReadyCall::pass_through + pass_on): the profile API's body and type.
    assert.equal(response.headers.get('content-type'), 'application/json');
    // Under this API's origin a browser must not sniff the passed body into another type.
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
    assert.equal((await response.json()).oid, oid);
    const seen = api.seen.filter((s) => s.path === '/profile/me' && s.oid === oid);
    assert.equal(seen.length, 1);
    assert.deepEqual([seen[0].aud, seen[0].azp, seen[0].scp], ['api://profile', 'edge-api', 'read']);
  });

  test('a second request makes no provider call, and the KV entry does not hold the token in clear', async () => {
    const oid = newOid();
    const token = await idp.mint({ claims: { oid } });
    const before = obo();
    assert.equal((await call(mf, 'GET', '/api/me', token)).status, 200);
    assert.equal((await call(mf, 'GET', '/api/me', token)).status, 200);
    assert.equal(obo() - before, 1);
    const kv = await mf.getKVNamespace('TOKEN_CACHE');
    const { keys } = await kv.list({ prefix: 'edge-identity/v1/token/user/' });
    assert.ok(keys.length >= 1);
    for (const key of keys) {
      const value = Buffer.from(await kv.get(key.name, 'arrayBuffer'));
      assert.equal(value.subarray(0, 4).toString(), 'EI3s');
      assert.ok(!value.includes(Buffer.from('eyJ')), 'no token in clear');
    }
  });

  test('fifty concurrent first requests for one user make one provider call', async () => {
    const token = await idp.mint({ claims: { oid: newOid() } });
    const before = obo();
    const answers = await Promise.all(Array.from({ length: 50 }, () => call(mf, 'GET', '/api/me', token)));
    assert.deepEqual(answers.map((r) => r.status), Array(50).fill(200));
    assert.equal(obo() - before, 1);
  });

  test('expired, wrong-audience, wrong-issuer, tampered and alg:none tokens get 401', async () => {
    const good = await idp.mint({ claims: { oid: newOid() } });
    const [head, body, signature] = good.split('.');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${body}.`;
    const bad = {
      expired: await idp.mint({ expiresIn: -60 }),
      wrongAudience: await idp.mint({ claims: { aud: 'api://someone-else' } }),
      wrongIssuer: await idp.mint({ claims: { iss: 'http://127.0.0.1:1' } }),
      tampered: `${head}.${body}.${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`,
      algNone: none,
    };
    const before = idp.stats.tokenRequests;
    for (const [name, token] of Object.entries(bad)) {
      const response = await call(mf, 'GET', '/api/me', token);
      assert.equal(response.status, 401, name);
      assert.match(response.headers.get('www-authenticate'), /^Bearer error="invalid_token"/, name);
    }
    assert.equal(idp.stats.tokenRequests, before, 'no bad token reached the provider');
  });

  test('two Authorization headers get 400 invalid_request', async () => {
    const token = await idp.mint({});
    const headers = new Headers();
    headers.append('authorization', `Bearer ${token}`);
    headers.append('authorization', `Bearer ${token}`);
    const response = await mf.dispatchFetch('http://example/api/me', { headers });
    assert.equal(response.status, 400);
    assert.match(response.headers.get('www-authenticate'), /error="invalid_request"/);
  });

  test('a token without the required scope gets 403', async () => {
    const response = await call(mf, 'GET', '/api/me', await idp.mint({ claims: { scp: 'something.else' } }));
    assert.equal(response.status, 403);
    assert.match(response.headers.get('www-authenticate'), /error="insufficient_scope"/);
  });

  test('consent required at the provider answers Microsoft.Identity.Web\'s 403 consent challenge', async () => {
    await fetch(`${idp.issuer}/__script`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ answers: [{ status: 400, body: { error: 'invalid_grant', suberror: 'consent_required', error_codes: [65001], error_description: 'AADSTS65001: consent' } }] }),
    });
    const response = await call(mf, 'GET', '/api/me', await idp.mint({ claims: { oid: newOid() } }));
    assert.equal(response.status, 403);
    const challenge = challengeParameters(response.headers.get('www-authenticate'));
    assert.deepEqual([challenge.scopes, challenge.proposedAction, challenge.claims], ['api://profile/read', 'consent', '']);
    const body = await response.json();
    assert.deepEqual([body.error, body.scopes], ['consent_required', ['api://profile/read']]);
  });

  test('a downstream claims challenge that stands after the one retry reaches the caller as a 401 step-up', async () => {
    // A downstream asking for an authentication context the user's sign-in lacks keeps
    // challenging: after the SDK's retry with the claims, the caller must sign in again with
    // them (401 insufficient_claims + claims, as Microsoft documents for APIs that call APIs).
    const claims = JSON.stringify({ access_token: { acrs: { essential: true, value: 'c1' } } });
    const encoded = Buffer.from(claims).toString('base64');
    const oid = newOid();
    await fetch(`${api.base}/__behave`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ path: '/profile/me', status: 401, wwwAuthenticate: `Bearer realm="", error="insufficient_claims", claims="${encoded}"`, times: 2 }),
    });
    const response = await call(mf, 'GET', '/api/me', await idp.mint({ claims: { oid } }));
    assert.equal(response.status, 401);
    const challenge = challengeParameters(response.headers.get('www-authenticate'));
    assert.deepEqual([challenge.error, Buffer.from(challenge.claims, 'base64').toString()], ['insufficient_claims', claims]);
    const body = await response.json();
    assert.equal(body.error, 'insufficient_claims');
    const calls = (await (await fetch(`${api.base}/__seen`)).json()).filter((c) => c.path === '/profile/me' && c.oid === oid);
    assert.equal(calls.length, 2, 'the first call and one retry with the claims');
  });

  test('a provider that is down answers 503', async () => {
    const down = { status: 503, body: { error: 'temporarily_unavailable' } };
    await fetch(`${idp.issuer}/__script`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ answers: [down, down] }),
    });
    const response = await call(mf, 'GET', '/api/me', await idp.mint({ claims: { oid: newOid() } }));
    assert.equal(response.status, 503);
    assert.ok(response.headers.get('retry-after'));
  });

  test('downstream 404 passes through, 500 becomes 502, and a slow downstream 504', async () => {
    const token = await idp.mint({ claims: { oid: newOid() } });
    for (const [behaviour, expected] of [[{ status: 404 }, 404], [{ status: 500 }, 502], [{ delayMs: 2500 }, 504]]) {
      await fetch(`${api.base}/__behave`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ path: '/profile/me', ...behaviour }),
      });
      const response = await call(mf, 'GET', '/api/me', token);
      assert.equal(response.status, expected, JSON.stringify(behaviour));
    }
  });

  test('/api/dashboard calls both APIs and /api/process forwards the body', async () => {
    const oid = newOid();
    const token = await idp.mint({ claims: { oid } });
    const dashboard = await call(mf, 'GET', '/api/dashboard', token);
    assert.equal(dashboard.status, 200, await dashboard.clone().text());
    const { profile, data } = await dashboard.json();
    assert.equal(profile.oid, oid);
    assert.equal(data.items[0].owner, oid);
    const processed = await (await call(mf, 'POST', '/api/process', token, { order: 42 })).json();
    assert.deepEqual([processed.processed, processed.for, processed.job], [true, oid, { order: 42 }]);
  });

  test('a job started with a short-lived user token is resumed by a scheduler after that token expired', async () => {
    const oid = newOid();
    const userToken = await idp.mint({ claims: { oid }, expiresIn: 2 });
    const started = await call(mf, 'POST', '/api/jobs', userToken, { report: 'monthly' });
    assert.equal(started.status, 202, await started.clone().text());
    const { sessionKey } = await started.json();
    assert.ok(sessionKey);
    // The first downstream call ran after the response (ctx.wait_until).
    let first;
    for (let i = 0; i < 100 && !first; i++) {
      await new Promise((resolve) => setTimeout(resolve, 30));
      first = api.seen.find((s) => s.path === '/partner/api/process' && s.body?.sessionKey === sessionKey);
    }
    assert.ok(first, 'the background call reached the partner API');
    assert.equal(first.oid, oid);

    await new Promise((resolve) => setTimeout(resolve, 2500));
    assert.equal((await call(mf, 'GET', '/api/me', userToken)).status, 401, 'the user token has expired');
    const resumed = await call(mf, 'POST', `/api/jobs/${sessionKey}/resume`, await appToken());
    assert.equal(resumed.status, 200, await resumed.clone().text());
    assert.deepEqual(await resumed.json(), { completed: true, for: oid, job: { sessionKey } });

    const asUser = await call(mf, 'POST', `/api/jobs/${sessionKey}/resume`, await idp.mint({}));
    assert.equal(asUser.status, 403, 'a user token may not resume jobs');
    const unknown = await call(mf, 'POST', '/api/jobs/no-such-session/resume', await appToken());
    assert.equal(unknown.status, 404);
  });
});

// The same worker against an Entra-shaped authority: Instance + TenantId pointing at the local
// identity provider in its Entra mode (Entra's discovery paths, a key set with a per-key issuer
// and no alg, v1.0 and v2.0 tokens as Entra issues them; see identity-provider.mjs).
describe('the example worker with an Entra-shaped authority', () => {
  let entra;
  let entraApi;
  let mf;
  before(async () => {
    entra = await startIdentityProvider({ clientSecret: CLIENT_SECRET, entra: true });
    entraApi = await startDownstreamApi({ issuer: entra.tokenIssuer, jwksUrl: entra.jwksUrl });
    mf = worker({
      config: entraExampleConfig({
        instance: entra.instance, tenant: entra.tenant,
        profileUrl: entraApi.profileUrl, partnerUrl: entraApi.partnerUrl, azureAd: { ClockSkewSeconds: 0 },
      }),
    });
  });
  after(async () => {
    await entraApi.stop();
    await entra.stop();
  });

  for (const version of [2, 1]) {
    test(`a v${version}.0 access token gets the downstream data through OBO`, async () => {
      const oid = newOid();
      const token = await entra.mint({ version, claims: { oid } });
      const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url'));
      assert.equal(claims.ver, `${version}.0`);
      assert.equal(claims.iss, version === 1 ? `https://sts.windows.net/${entra.tenant}/` : `${entra.instance}${entra.tenant}/v2.0`);
      const response = await call(mf, 'GET', '/api/me', token);
      assert.equal(response.status, 200, await response.clone().text());
      assert.equal((await response.json()).oid, oid);
      const seen = entraApi.seen.filter((s) => s.path === '/profile/me' && s.oid === oid);
      assert.deepEqual(seen.map((s) => s.aud), ['api://profile'], 'one OBO token for the Profile API');
    });
  }

  test('an ID token for the same client, with a role, is refused as not an access token', async () => {
    for (const version of [2, 1]) {
      const idToken = await entra.mint({ idToken: true, version, claims: { roles: ['Jobs.Resume'] } });
      const response = await call(mf, 'GET', '/api/me', idToken);
      assert.equal(response.status, 401, `v${version}`);
      assert.equal((await response.json()).code, 'token_not_an_access_token');
      const resume = await call(mf, 'POST', '/api/jobs/any/resume', idToken);
      assert.equal(resume.status, 401, 'nor may it resume a job');
    }
  });

  test("another tenant's tokens are refused, in both versions", async () => {
    const other = 'd5e6f7a8-1b2c-4d3e-8f9a-0b1c2d3e4f5a';
    for (const version of [2, 1]) {
      const response = await call(mf, 'GET', '/api/me', await entra.mint({ version, claims: { tid: other } }));
      assert.equal(response.status, 401, `v${version}`);
      assert.equal((await response.json()).code, 'token_tenant_not_allowed');
    }
  });

  test('an app-only token (idtyp app) may resume jobs, a user token may not', async () => {
    const app = await appToken(entra);
    const claims = JSON.parse(Buffer.from(app.split('.')[1], 'base64url'));
    assert.deepEqual([claims.aud, claims.idtyp], ['edge-api', 'app']);
    assert.equal((await call(mf, 'POST', '/api/jobs/no-such-session/resume', app)).status, 404);
    assert.equal((await call(mf, 'POST', '/api/jobs/no-such-session/resume', await entra.mint({}))).status, 403);
  });

  test('consent required answers a 403 whose consentUri is the tenant\'s authorize endpoint', async () => {
    await fetch(`${entra.issuer}/__script`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ answers: [{ status: 400, body: { error: 'invalid_grant', suberror: 'consent_required', error_codes: [65001], error_description: 'AADSTS65001: consent' } }] }),
    });
    const response = await call(mf, 'GET', '/api/me', await entra.mint({ claims: { oid: newOid() } }));
    assert.equal(response.status, 403);
    const challenge = challengeParameters(response.headers.get('www-authenticate'));
    assert.ok(challenge.consentUri.startsWith(`${entra.instance}${entra.tenant}/oauth2/v2.0/authorize?client_id=edge-api&`), challenge.consentUri);
    assert.deepEqual([challenge.scopes, challenge.proposedAction], ['api://profile/read', 'consent']);
  });
});

// Whoever can write the KV namespace (another Worker bound to it, an API token with KV edit
// rights) plants values under the keys the SDK uses. A new isolate on that namespace believes
// none of them, and no request fails because of them.
describe('the example worker on a hostile KV namespace', () => {
  let kvDir;
  before(() => { kvDir = mkdtempSync(join(tmpdir(), 'edge-identity-hostile-kv-')); });
  after(() => rmSync(kvDir, { recursive: true, force: true }));

  const b64url = (value) => Buffer.from(value).toString('base64url');
  const keySetKey = () => `edge-identity/v1/oidc/${createHash('sha256').update(`${idp.issuer}/.well-known/openid-configuration`).digest('base64url')}`;

  /** A token shaped like the identity provider's, signed by a key of the attacker's. */
  function forged(claims, kid) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const now = Math.floor(Date.now() / 1000);
    const payload = { iss: idp.issuer, aud: 'api://edge-api', tid: idp.tenant, sub: 'mallory', scp: 'access_as_user', ver: '2.0', azp: 'x', iat: now, nbf: now, exp: now + 3600, ...claims };
    const input = `${b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid }))}.${b64url(JSON.stringify(payload))}`;
    const token = `${input}.${sign('RSA-SHA256', Buffer.from(input), privateKey).toString('base64url')}`;
    return { token, jwk: { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig' } };
  }

  test('a planted key set verifies no token, in any entry format, and the real one still works', async () => {
    const oid = newOid();
    const { token, jwk } = forged({ oid }, 'planted-kid');
    for (const format of [1, 2]) {
      const mf = worker({ kvPersist: join(kvDir, `planted-${format}`) });
      const kv = await mf.getKVNamespace('TOKEN_CACHE');
      await kv.put(keySetKey(), JSON.stringify({
        format, metadata_url: `${idp.issuer}/.well-known/openid-configuration`, fetched_at_ms: Date.now(),
        discovery: { issuer: idp.issuer, jwks_uri: `${idp.issuer}/jwks` }, jwks: { keys: [jwk] },
      }));
      const refused = await call(mf, 'GET', '/api/me', token);
      assert.equal(refused.status, 401, `format ${format}`);
      const real = await call(mf, 'GET', '/api/me', await idp.mint({ claims: { oid: newOid() } }));
      assert.equal(real.status, 200, `format ${format}: ${await real.clone().text()}`);
      const stored = Buffer.from(await kv.get(keySetKey(), 'arrayBuffer'));
      assert.equal(stored.subarray(0, 4).toString(), 'EI3s', 'replaced by the sealed real set');
    }
  });

  test('planted, swapped, truncated and random values under token keys are misses, never errors', async () => {
    const dir = join(kvDir, 'tokens');
    const oid = newOid();
    const token = await idp.mint({ claims: { oid } });
    const first = worker({ kvPersist: dir });
    assert.equal((await call(first, 'GET', '/api/me', token)).status, 200);
    assert.equal((await call(first, 'GET', '/api/dashboard', token)).status, 200);
    const kv = await first.getKVNamespace('TOKEN_CACHE');
    const { keys } = await kv.list({ prefix: 'edge-identity/v1/token/' });
    assert.ok(keys.length >= 2, 'a token per downstream API');
    const values = await Promise.all(keys.map(async (k) => Buffer.from(await kv.get(k.name, 'arrayBuffer'))));
    const exp = Date.now() + 3_600_000;
    const hostile = [
      ['a planted clear record', () => Buffer.from(JSON.stringify({ at: 'planted', exp, ref: exp }))],
      ['another user\'s entry', (i) => values[(i + 1) % values.length]],
      ['truncated', (i) => values[i].subarray(0, values[i].length >> 1)],
      ['random bytes', () => Buffer.from(Array.from({ length: 100 }, (_, j) => (j * 37) & 0xff))],
    ];
    for (const [what, value] of hostile) {
      for (const [i, key] of keys.entries()) await kv.put(key.name, Uint8Array.from(value(i)).buffer);
      const cold = worker({ kvPersist: dir });
      const before = obo();
      const response = await call(cold, 'GET', '/api/dashboard', token);
      assert.equal(response.status, 200, `${what}: ${await response.clone().text()}`);
      assert.equal(obo() - before, keys.length, `${what}: fresh OBO tokens, not the stored values`);
      assert.equal((await response.json()).profile.oid, oid, `${what}: the downstream API accepted the fresh tokens`);
    }
  });
});

test('a bad configuration answers a bare 500, the log names the field, and /healthz still answers', async () => {
  const config = exampleConfig({ issuer: idp.issuer, profileUrl: api.profileUrl, partnerUrl: api.partnerUrl });
  delete config.AzureAd.ClientId;
  const logs = [];
  const mf = worker({ config, logs });
  const response = await call(mf, 'GET', '/api/me', await idp.mint({}));
  assert.equal(response.status, 500);
  const body = await response.text();
  assert.ok(!body.includes('ClientId') && !body.includes('AzureAd'), `the caller learns nothing: ${body}`);
  assert.equal(JSON.parse(body).error, 'server_error');
  assert.equal((await call(mf, 'GET', '/healthz')).status, 200);
  const noSecretLogs = [];
  const noSecret = worker({ secrets: {}, logs: noSecretLogs });
  const bare = await (await call(noSecret, 'GET', '/api/me', 'x')).text();
  assert.ok(!bare.includes('CLIENT_SECRET'), bare);
  for (let i = 0; i < 50 && !(logs.join('').includes('AzureAd.ClientId') && noSecretLogs.join('').includes('CLIENT_SECRET')); i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.match(logs.join(''), /AzureAd\.ClientId/, 'the operator\'s log names the field');
  assert.match(noSecretLogs.join(''), /CLIENT_SECRET/);
});

// Structured events (issue 23): the example with `Events: {Level: "Info"}`, its console read
// back line by line (`handleRuntimeStdio`), as Workers Logs would index them.
describe('the example worker writing its decisions as JSON lines', () => {
  let mf;
  const logs = [];
  const held = []; // every token and secret of this run: none may appear in any line
  before(() => {
    const config = {
      ...exampleConfig({ issuer: idp.issuer, profileUrl: api.profileUrl, partnerUrl: api.partnerUrl, azureAd: { ClockSkewSeconds: 0 } }),
      Events: { Level: 'Info' },
    };
    mf = worker({ config, logs });
    held.push(CLIENT_SECRET, CACHE_KEY);
  });

  /** The SDK's events written so far (the lines of the worker's console that are its JSON). */
  const events = () => logs.join('').split('\n')
    .map((line) => line.slice(line.indexOf('{')))
    .filter((line) => line.includes('"source":"edge-identity"'))
    .map((line) => JSON.parse(line));
  const settle = () => new Promise((resolve) => setTimeout(resolve, 200));

  test('a refused token is one warning with its code, under the correlation id its answer carries', async () => {
    const expired = await idp.mint({ claims: { oid: newOid() }, expiresIn: -120 });
    held.push(expired);
    const response = await call(mf, 'GET', '/api/me', expired);
    assert.equal(response.status, 401);
    const { correlation_id: id, code } = await response.json();
    assert.ok(id, 'the body names the correlation id');
    await settle();
    const refused = events().filter((e) => e.correlation_id === id);
    assert.deepEqual(refused.map((e) => [e.event, e.level, e.code, e.status]), [['request.refused', 'warn', code, 401]]);
  });

  test("a first and a repeat request: validated, the token's tier (provider, then memory), the call, under the caller's trace", async () => {
    const oid = newOid();
    const token = await idp.mint({ claims: { oid } });
    held.push(token, oid);
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const run = Math.random().toString(36).slice(2, 10);
    const requestId = (i) => `req-${i}-${run}`;
    for (const [i, parent] of ['00f067aa0ba902b7', '00f067aa0ba902b8'].entries()) {
      const response = await mf.dispatchFetch('http://example/api/me', {
        headers: { authorization: `Bearer ${token}`, traceparent: `00-${traceId}-${parent}-01`, 'client-request-id': requestId(i) },
      });
      assert.equal(response.status, 200, await response.clone().text());
      await response.arrayBuffer();
    }
    await settle();
    const ofRequest = (i) => events().filter((e) => e.correlation_id === requestId(i));
    const first = ofRequest(0);
    assert.deepEqual(first.map((e) => e.event), ['request.validated', 'token.acquired', 'downstream.call'], JSON.stringify(first));
    assert.equal(first[0].tid, claimsOfToken(token).tid);
    assert.equal(first[0].oid_hash.length, 16);
    assert.deepEqual([first[1].grant, first[1].tier], ['on_behalf_of', 'provider']);
    assert.deepEqual([first[2].api, first[2].status], ['Profile', 200]);
    const repeat = ofRequest(1);
    assert.equal(repeat.find((e) => e.event === 'token.acquired')?.tier, 'memory');
    // The downstream API saw the caller's trace continued.
    const seen = (await (await fetch(`${api.base}/__seen`)).json()).filter((c) => c.path === '/profile/me' && c.oid === oid);
    assert.ok(seen.every((c) => c.traceparent?.startsWith(`00-${traceId}-`)), JSON.stringify(seen));
  });

  test('a provider outage is a token.failed warning, and the request answers 503', async () => {
    const down = { status: 503, body: { error: 'temporarily_unavailable' } };
    await fetch(`${idp.issuer}/__script`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ answers: [down, down] }),
    });
    const token = await idp.mint({ claims: { oid: newOid() } });
    held.push(token);
    const response = await mf.dispatchFetch('http://example/api/me', { headers: { authorization: `Bearer ${token}`, 'client-request-id': 'outage-1' } });
    assert.equal(response.status, 503);
    await settle();
    const failed = events().filter((e) => e.correlation_id === 'outage-1' && e.event === 'token.failed');
    assert.equal(failed.length, 1, JSON.stringify(events().filter((e) => e.correlation_id === 'outage-1')));
    assert.equal(failed[0].level, 'warn');
    assert.equal(failed[0].code, 'provider_unavailable');
  });

  test("a session's life: started, its first call after the response, ended; the key only hashed", async () => {
    const oid = newOid();
    const token = await idp.mint({ claims: { oid } });
    held.push(token, oid);
    const started = await mf.dispatchFetch('http://example/api/jobs', {
      method: 'POST', body: JSON.stringify({ report: 'monthly' }),
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'client-request-id': `job-start-${oid.slice(-4)}x` },
    });
    assert.equal(started.status, 202, await started.clone().text());
    const { sessionKey } = await started.json();
    held.push(sessionKey);
    const ended = await mf.dispatchFetch(`http://example/api/jobs/${sessionKey}`, {
      method: 'DELETE', headers: { authorization: `Bearer ${token}`, 'client-request-id': `job-end-${oid.slice(-4)}x` },
    });
    assert.equal(ended.status, 204);
    await settle();
    const of = (id) => events().filter((e) => e.correlation_id === id).map((e) => e.event);
    assert.ok(of(`job-start-${oid.slice(-4)}x`).includes('session.started'), JSON.stringify(of(`job-start-${oid.slice(-4)}x`)));
    assert.ok(of(`job-end-${oid.slice(-4)}x`).includes('session.ended'), JSON.stringify(of(`job-end-${oid.slice(-4)}x`)));
    const start = events().find((e) => e.event === 'session.started' && e.correlation_id === `job-start-${oid.slice(-4)}x`);
    assert.equal(start.session_hash.length, 16);
  });

  test('no token or secret of the run appears in any line the worker wrote', async () => {
    await settle();
    const all = logs.join('');
    assert.ok(events().length >= 6);
    for (const secret of held) {
      assert.ok(!all.includes(secret), `a held-out value appears in the logs: ${secret.slice(0, 12)}…`);
      for (const part of secret.split('.').filter((p) => p.length > 20)) assert.ok(!all.includes(part));
    }
  });
});

// Counters (issue 23, item 4): the example with an Analytics Engine dataset bound as
// IDENTITY_METRICS, which `web_api(&env, ctx)` picks up. Miniflare's own local dataset drops
// every point, so the binding here is a recorder worker (a wrapped binding) that takes a point
// only within the limits Cloudflare documents for `writeDataPoint` (developers.cloudflare.com,
// Analytics Engine "Limits": at most 20 blobs and 20 doubles, one index of at most 96 bytes,
// 16 KB of blobs) and throws otherwise, and prints what it took.
const RECORDER = `
export default function () {
  return {
    writeDataPoint(point = {}) {
      const { indexes = [], blobs = [], doubles = [] } = point;
      const bytes = (v) => new TextEncoder().encode(String(v)).length;
      if (indexes.length > 1 || indexes.some((i) => bytes(i) > 96)) throw new Error('one index of at most 96 bytes');
      if (blobs.length > 20 || doubles.length > 20) throw new Error('at most 20 blobs and 20 doubles');
      if (blobs.reduce((n, b) => n + bytes(b), 0) > 16 * 1024) throw new Error('blobs over 16 KB');
      if (!doubles.every((d) => typeof d === 'number' && Number.isFinite(d))) throw new Error('doubles are numbers');
      console.log('AE-POINT ' + JSON.stringify({ indexes, blobs, doubles }));
    },
  };
}`;

describe('the example worker counting its decisions in Analytics Engine, with Server-Timing', () => {
  let mf;
  const logs = [];
  before(() => {
    const config = {
      ...exampleConfig({ issuer: idp.issuer, profileUrl: api.profileUrl, partnerUrl: api.partnerUrl, azureAd: { ClockSkewSeconds: 0 } }),
      // Events stay off: counters and Server-Timing do not depend on them.
      Events: { ServerTiming: true },
    };
    mf = worker({
      config,
      logs,
      extra: { wrappedBindings: { IDENTITY_METRICS: { scriptName: 'metrics-recorder' } } },
      others: [{ name: 'metrics-recorder', modules: true, script: RECORDER }],
    });
  });

  const points = () => logs.join('').split('\n')
    .filter((line) => line.includes('AE-POINT '))
    .map((line) => JSON.parse(line.slice(line.indexOf('AE-POINT ') + 9)));
  const settle = () => new Promise((resolve) => setTimeout(resolve, 200));

  test('a refusal, a first and a repeat request are counted by outcome, and no token or claim reaches the dataset', async () => {
    const oid = newOid();
    const token = await idp.mint({ claims: { oid } });
    const expired = await idp.mint({ claims: { oid: newOid() }, expiresIn: -120 });
    assert.equal((await call(mf, 'GET', '/api/me', expired)).status, 401);
    for (let i = 0; i < 2; i++) {
      const response = await call(mf, 'GET', '/api/me', token);
      assert.equal(response.status, 200, await response.clone().text());
      await response.arrayBuffer();
    }
    await settle();
    const taken = points();
    const rows = taken.map(({ blobs }) => blobs.join(' '));
    assert.deepEqual(rows, [
      'keys.fetched ok ',
      'request.refused token_expired Bearer',
      'request.validated ok Bearer',
      'token.acquired provider on_behalf_of',
      'downstream.call 2xx Profile',
      'request.validated verified_cache Bearer',
      'token.acquired memory on_behalf_of',
      'downstream.call 2xx Profile',
    ], JSON.stringify(taken));
    for (const { indexes, blobs, doubles } of taken) {
      assert.deepEqual(indexes, [blobs[0]], 'the event is the sampling key');
      assert.equal(doubles[0], 1, 'double1 counts');
      assert.ok(doubles[1] >= 0, 'double2 is the duration');
    }
    const all = JSON.stringify(taken);
    const claims = claimsOfToken(token);
    for (const held of [token, expired, oid, claims.tid, claims.sub, CLIENT_SECRET, CACHE_KEY]) {
      assert.ok(!all.includes(held), `a held-out value reached the dataset: ${String(held).slice(0, 12)}…`);
    }
    assert.ok(!logs.join('').includes('"source":"edge-identity"'), 'events off: no JSON lines');
  });

  test('answers carry Server-Timing: validation, token and downstream on a pass-through, validation on a refusal', async () => {
    const ok = await call(mf, 'GET', '/api/me', await idp.mint({ claims: { oid: newOid() } }));
    assert.equal(ok.status, 200);
    await ok.arrayBuffer();
    assert.match(ok.headers.get('server-timing') ?? '', /^identity-validation;dur=\d+, identity-token;dur=\d+, identity-downstream;dur=\d+$/);
    const refused = await call(mf, 'GET', '/api/me', 'not-a-token');
    assert.equal(refused.status, 401);
    assert.match(refused.headers.get('server-timing') ?? '', /^identity-validation;dur=\d+$/);
  });

  test("without ServerTiming no answer carries it, and Miniflare's own local dataset is taken too", async () => {
    const plain = worker({ extra: { analyticsEngineDatasets: { IDENTITY_METRICS: { dataset: 'edge_identity' } } } });
    const response = await call(plain, 'GET', '/api/me', await idp.mint({ claims: { oid: newOid() } }));
    assert.equal(response.status, 200, await response.clone().text());
    await response.arrayBuffer();
    assert.equal(response.headers.get('server-timing'), null);
    const refused = await call(plain, 'GET', '/api/me', 'not-a-token');
    assert.equal(refused.headers.get('server-timing'), null);
  });
});

// The example's hooks (worker-example/src/routes.rs, `set_hooks_once`): a user in the
// BLOCKED_USERS var is refused after the token validated, and every refusal's body carries the
// host's `help` member next to the SDK's own.
describe("the example worker's validation hooks", () => {
  test('a blocked user is refused by the host rule, with the body the challenge hook adds to', async () => {
    const blocked = newOid();
    const mf = worker({
      secrets: { CLIENT_SECRET, TOKEN_CACHE_KEY: CACHE_KEY, BLOCKED_USERS: `${newOid()}, ${blocked}` },
    });
    const refused = await call(mf, 'GET', '/api/whoami', await idp.mint({ claims: { oid: blocked } }));
    assert.equal(refused.status, 401);
    const body = await refused.json();
    assert.deepEqual([body.code, body.help], ['token_refused', 'https://example.com/support']);
    assert.match(refused.headers.get('www-authenticate'), /^Bearer error="invalid_token", error_description="this user is blocked"/);
    const other = await call(mf, 'GET', '/api/whoami', await idp.mint({ claims: { oid: newOid() } }));
    assert.equal(other.status, 200, await other.clone().text());
    const missing = await call(mf, 'GET', '/api/whoami');
    assert.equal((await missing.json()).help, 'https://example.com/support');
  });
});

function claimsOfToken(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url'));
}

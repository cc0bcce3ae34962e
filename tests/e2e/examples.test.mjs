// The small examples (examples/*) inside real workerd, against the local stack. Build first
// (scripts/test.sh does): examples/{protect-route,router,long-running-job,axum}/build/index.js.
// The identity provider, the downstream APIs and the app-only token are the local stack's
// (tests/e2e/identity-provider.mjs, downstream-api.mjs); the runtime is real workerd.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Miniflare } from 'miniflare';
import { startIdentityProvider } from './identity-provider.mjs';
import { startDownstreamApi } from './downstream-api.mjs';
import { CLIENT_SECRET, appToken as clientCredentialsToken, exampleConfig } from './example-config.mjs';

let idp;
let api;
let mf;
let router;
let jobs;
let axum;

/** A Miniflare instance running the example built at examples/<name>/build. */
function example(name, azureAd = {}) {
  return new Miniflare({
    modules: true,
    scriptPath: `examples/${name}/build/index.js`,
    modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }],
    compatibilityDate: '2025-09-01',
    kvNamespaces: ['TOKEN_CACHE'],
    bindings: {
      IDENTITY_CONFIG: JSON.stringify(exampleConfig({ issuer: idp.issuer, profileUrl: api.profileUrl, partnerUrl: api.partnerUrl, azureAd })),
      CLIENT_SECRET,
      TOKEN_CACHE_KEY: 'examples-test-token-cache-key-of-32-characters',
    },
  });
}

before(async () => {
  idp = await startIdentityProvider({ clientSecret: CLIENT_SECRET });
  api = await startDownstreamApi({ issuer: idp.issuer });
  mf = example('protect-route');
  router = example('router');
  // No clock skew, so the job's two-second user token is refused when the job runs.
  jobs = example('long-running-job', { ClockSkewSeconds: 0 });
  axum = example('axum');
});

after(async () => {
  await mf?.dispose();
  await router?.dispose();
  await jobs?.dispose();
  await axum?.dispose();
  await api?.stop();
  await idp?.stop();
});

const me = (token) => mf.dispatchFetch('http://example/', { headers: token ? { authorization: `Bearer ${token}` } : {} });

test('protect-route (the README example) answers the profile for a valid token, through OBO', async () => {
  const oid = '00000000-0000-4000-8000-0000000e0001';
  const response = await me(await idp.mint({ claims: { oid } }));
  assert.equal(response.status, 200, await response.clone().text());
  assert.equal((await response.json()).oid, oid);
  assert.deepEqual(api.seen.filter((s) => s.oid === oid).map((s) => s.aud), ['api://profile']);
});

test('protect-route refuses a missing token (401), a token without the scope (403), two headers (400)', async () => {
  assert.equal((await me()).status, 401);
  assert.equal((await me(await idp.mint({ claims: { scp: 'other' } }))).status, 403);
  const headers = new Headers();
  headers.append('authorization', `Bearer ${await idp.mint({})}`);
  headers.append('authorization', 'Bearer x');
  assert.equal((await mf.dispatchFetch('http://example/', { headers })).status, 400);
});

test('router: /me calls on behalf of the caller, /report calls as the app, both behind the scope', async () => {
  const oid = '00000000-0000-4000-8000-0000000e0002';
  const token = await idp.mint({ claims: { oid } });
  const get = (path, t) => router.dispatchFetch(`http://example${path}`, { headers: t ? { authorization: `Bearer ${t}` } : {} });
  const me = await get('/me', token);
  assert.equal(me.status, 200, await me.clone().text());
  assert.equal((await me.json()).oid, oid);
  const report = await get('/report', token);
  assert.equal(report.status, 200, await report.clone().text());
  const asApp = api.seen.filter((s) => s.path === '/partner/api/data').at(-1);
  assert.deepEqual([asApp.oid, asApp.roles], ['app-oid', ['Jobs.Resume']], 'an app-only token reached the API');
  assert.equal((await get('/report')).status, 401);
  assert.equal((await get('/me', await idp.mint({ claims: { scp: 'other' } }))).status, 403);
});

const appToken = () => clientCredentialsToken(idp);

const post = (worker, path, token) => worker.dispatchFetch(`http://example${path}`, { method: 'POST', headers: token ? { authorization: `Bearer ${token}` } : {} });

test('long-running-job: a job started with a short-lived user token runs for that user after the token expired', async () => {
  const oid = '00000000-0000-4000-8000-0000000e0003';
  const userToken = await idp.mint({ claims: { oid }, expiresIn: 2 });
  const started = await post(jobs, '/jobs', userToken);
  assert.equal(started.status, 202, await started.clone().text());
  const { sessionKey } = await started.json();
  assert.ok(sessionKey);
  await new Promise((resolve) => setTimeout(resolve, 2500));
  assert.equal((await post(jobs, '/jobs', userToken)).status, 401, 'the user token has expired');

  const ran = await post(jobs, `/jobs/${encodeURIComponent(sessionKey)}/run`, await appToken());
  assert.equal(ran.status, 200, await ran.clone().text());
  assert.deepEqual(await ran.json(), { completed: true, for: oid, job: { sessionKey } }, 'the call was made as the user');
});

test('long-running-job: a user token may not run jobs, and an unknown session is 404', async () => {
  const started = await post(jobs, '/jobs', await idp.mint({}));
  const { sessionKey } = await started.json();
  assert.equal((await post(jobs, `/jobs/${encodeURIComponent(sessionKey)}/run`, await idp.mint({}))).status, 403);
  assert.equal((await post(jobs, '/jobs/no-such-session/run', await appToken())).status, 404);
  assert.equal((await post(jobs, '/jobs')).status, 401);
});

test('axum: the Authorized extractor lets a caller with the scope through to OBO and app-only calls', async () => {
  const oid = '00000000-0000-4000-8000-0000000e0004';
  const token = await idp.mint({ claims: { oid } });
  const get = (path, t) => axum.dispatchFetch(`http://example${path}`, { headers: t ? { authorization: `Bearer ${t}` } : {} });
  const me = await get('/me', token);
  assert.equal(me.status, 200, await me.clone().text());
  assert.equal((await me.json()).oid, oid);
  assert.deepEqual(api.seen.filter((s) => s.oid === oid).map((s) => s.aud), ['api://profile']);
  const report = await get('/report', token);
  assert.equal(report.status, 200, await report.clone().text());
  assert.equal(api.seen.filter((s) => s.path === '/partner/api/data').at(-1).oid, 'app-oid');
});

test('axum: the extractor rejection is the RFC 6750 answer (401, 403, 400), and routing stays with axum', async () => {
  const get = (path, headers) => axum.dispatchFetch(`http://example${path}`, { headers });
  const missing = await get('/me', {});
  assert.equal(missing.status, 401);
  assert.match(missing.headers.get('www-authenticate'), /^Bearer/);
  const noScope = await get('/me', { authorization: `Bearer ${await idp.mint({ claims: { scp: 'other' } })}` });
  assert.equal(noScope.status, 403);
  assert.match(noScope.headers.get('www-authenticate'), /insufficient_scope/);
  const headers = new Headers();
  headers.append('authorization', `Bearer ${await idp.mint({})}`);
  headers.append('authorization', 'Bearer x');
  assert.equal((await axum.dispatchFetch('http://example/me', { headers })).status, 400);
  assert.equal((await get('/nowhere', {})).status, 404);
});

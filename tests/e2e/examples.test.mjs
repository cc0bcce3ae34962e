// The small examples (examples/*) inside real workerd, against the local stack. Build first
// (scripts/test.sh does): examples/protect-route/build/index.js, examples/router/build/index.js.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Miniflare } from 'miniflare';
import { startIdentityProvider } from './identity-provider.mjs';
import { startDownstreamApi } from './downstream-api.mjs';
import { CLIENT_SECRET, exampleConfig } from './example-config.mjs';

let idp;
let api;
let mf;
let router;

/** A Miniflare instance running the example built at examples/<name>/build. */
function example(name) {
  return new Miniflare({
    modules: true,
    scriptPath: `examples/${name}/build/index.js`,
    modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }],
    compatibilityDate: '2025-09-01',
    kvNamespaces: ['TOKEN_CACHE'],
    bindings: {
      IDENTITY_CONFIG: JSON.stringify(exampleConfig({ issuer: idp.issuer, profileUrl: api.profileUrl, partnerUrl: api.partnerUrl })),
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
});

after(async () => {
  await mf?.dispose();
  await router?.dispose();
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

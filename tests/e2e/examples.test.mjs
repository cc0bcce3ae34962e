// The small examples (examples/*) inside real workerd, against the local stack. Build first
// (scripts/test.sh does): examples/protect-route/build/index.js.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Miniflare } from 'miniflare';
import { startIdentityProvider } from './identity-provider.mjs';
import { startDownstreamApi } from './downstream-api.mjs';
import { CLIENT_SECRET, exampleConfig } from './example-config.mjs';

let idp;
let api;
let mf;

before(async () => {
  idp = await startIdentityProvider({ clientSecret: CLIENT_SECRET });
  api = await startDownstreamApi({ issuer: idp.issuer });
  mf = new Miniflare({
    modules: true,
    scriptPath: 'examples/protect-route/build/index.js',
    modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }],
    compatibilityDate: '2025-09-01',
    kvNamespaces: ['TOKEN_CACHE'],
    bindings: {
      IDENTITY_CONFIG: JSON.stringify(exampleConfig({ issuer: idp.issuer, profileUrl: api.profileUrl, partnerUrl: api.partnerUrl })),
      CLIENT_SECRET,
      TOKEN_CACHE_KEY: 'examples-test-token-cache-key-of-32-characters',
    },
  });
});

after(async () => {
  await mf?.dispose();
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

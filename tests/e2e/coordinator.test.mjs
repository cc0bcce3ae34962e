// Beyond one isolate (issue 20): two copies of the example worker inside one workerd (Miniflare
// under node --test), two isolates, bound to one KV namespace and to one Durable Object
// namespace of the SDK's coordinator class (`EdgeIdentityCoordinator`, exported by the example),
// against the local stack (identity provider and downstream API on 127.0.0.1).
//
// What KV alone can't promise and the coordinator does: one provider call per user across
// isolates, a session ended through one isolate refused by the other on its next request, one
// owner for a session key two users start at once, and nothing older than the coordinator's
// record believed. And when the coordinator fails or hangs: tokens are still served (each
// isolate asks the provider itself) and session operations answer 503.
// Build the worker first (scripts/test.sh does): bash scripts/build-worker.sh
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Miniflare } from 'miniflare';
import { startIdentityProvider } from './identity-provider.mjs';
import { startDownstreamApi } from './downstream-api.mjs';
import { CLIENT_SECRET, appToken as clientCredentialsToken, exampleConfig } from './example-config.mjs';

const OBO = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const CACHE_KEY = 'coordinator-test-cache-key-of-at-least-32-characters';

let idp;
let api;
const stacks = [];
let oidCounter = 0;

function newOid() {
  oidCounter += 1;
  return `00000000-0000-4000-8000-c00${String(oidCounter).padStart(9, '0')}`;
}

/**
 * Two isolates of the example worker (`a` owns the coordinator class, `b` binds the same
 * namespace by script name), one KV namespace. `coordinator`: `'real'`, or `'hanging'`/`'failing'`
 * (a JavaScript class standing in for a coordinator that never answers or always errors).
 */
function twoIsolates({ coordinator = 'real' } = {}) {
  const config = JSON.stringify(exampleConfig({
    issuer: idp.issuer, profileUrl: api.profileUrl, partnerUrl: api.partnerUrl, azureAd: { ClockSkewSeconds: 0 },
  }));
  const binding = (own) => {
    if (coordinator !== 'real') return { className: 'Broken', scriptName: 'broken' };
    return own ? 'EdgeIdentityCoordinator' : { className: 'EdgeIdentityCoordinator', scriptName: 'a' };
  };
  const example = (name, own) => ({
    name,
    modules: true,
    scriptPath: 'worker-example/build/index.js',
    modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }],
    compatibilityDate: '2025-09-01',
    kvNamespaces: { TOKEN_CACHE: 'shared-token-cache' },
    durableObjects: { IDENTITY_COORDINATOR: binding(own) },
    bindings: { IDENTITY_CONFIG: config, CLIENT_SECRET, TOKEN_CACHE_KEY: CACHE_KEY },
  });
  const broken = {
    name: 'broken',
    modules: true,
    script: `
      import { DurableObject } from 'cloudflare:workers';
      export class Broken extends DurableObject {
        async fetch() {
          if (${JSON.stringify(coordinator)} === 'hanging') await new Promise(() => {});
          return new Response('broken', { status: 500 });
        }
      }
      export default { fetch() { return new Response('no'); } };`,
    compatibilityDate: '2025-09-01',
    durableObjects: { BROKEN: 'Broken' },
  };
  const mf = new Miniflare({ workers: [example('a', true), example('b', false), broken] });
  stacks.push(mf);
  return {
    mf,
    a: () => mf.getWorker('a'),
    b: () => mf.getWorker('b'),
  };
}

async function call(worker, method, path, token, body) {
  const w = await worker();
  return w.fetch(`http://example${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
}

const obo = () => idp.stats.byGrant[OBO] ?? 0;

before(async () => {
  idp = await startIdentityProvider({ clientSecret: CLIENT_SECRET });
  api = await startDownstreamApi({ issuer: idp.issuer });
});

after(async () => {
  for (const mf of stacks) await mf.dispose();
  await api.stop();
  await idp.stop();
});

test('K users × 25 concurrent first requests split across two isolates make exactly K provider calls', async () => {
  const { a, b } = twoIsolates();
  const K = 3;
  const tokens = await Promise.all(Array.from({ length: K }, () => idp.mint({ claims: { oid: newOid() } })));
  const before = obo();
  const answers = await Promise.all(tokens.flatMap((token) =>
    Array.from({ length: 25 }, (_, i) => call(i % 2 ? b : a, 'GET', '/api/me', token))));
  for (const answer of answers) assert.equal(answer.status, 200, await answer.clone().text());
  await Promise.all(answers.map((r) => r.arrayBuffer()));
  assert.equal(obo() - before, K, 'one OBO call per user, in both isolates together');
});

test('a session ended through one isolate is refused by the other on its very next request', async () => {
  const { a, b } = twoIsolates();
  const oid = newOid();
  const user = await idp.mint({ claims: { oid } });
  const jobId = `job-${oid}`;
  const started = await call(a, 'POST', '/api/jobs', user, { jobId });
  assert.equal(started.status, 202, await started.clone().text());
  const app = await clientCredentialsToken(idp);
  // The other isolate continues it (reads the coordinator's record), then the first ends it.
  assert.equal((await call(b, 'POST', `/api/jobs/${jobId}/resume`, app)).status, 200);
  assert.equal((await call(a, 'DELETE', `/api/jobs/${jobId}`, user)).status, 204);
  const after = await call(b, 'POST', `/api/jobs/${jobId}/resume`, app);
  assert.equal(after.status, 404, 'ended everywhere at once, though b still holds its token in memory');
  // An ended key is never started again, by anyone.
  assert.equal((await call(b, 'POST', '/api/jobs', user, { jobId })).status, 404);
});

test('two users starting the same session key through the two isolates at once: exactly one owns it', async () => {
  const { a, b } = twoIsolates();
  const jobId = `job-race-${newOid()}`;
  const [first, second] = [await idp.mint({ claims: { oid: newOid() } }), await idp.mint({ claims: { oid: newOid() } })];
  const [one, two] = await Promise.all([
    call(a, 'POST', '/api/jobs', first, { jobId }),
    call(b, 'POST', '/api/jobs', second, { jobId }),
  ]);
  const statuses = [one.status, two.status].sort();
  assert.deepEqual(statuses, [202, 404], `${one.status} ${await one.text()} / ${two.status} ${await two.text()}`);
  // And the loser can't end it either; the owner can.
  const [owner, loser] = one.status === 202 ? [first, second] : [second, first];
  assert.equal((await call(b, 'DELETE', `/api/jobs/${jobId}`, loser)).status, 204, 'ending someone else\'s is a no-op');
  assert.equal((await call(a, 'POST', `/api/jobs/${jobId}/resume`, await clientCredentialsToken(idp))).status, 200);
  assert.equal((await call(a, 'DELETE', `/api/jobs/${jobId}`, owner)).status, 204);
  assert.equal((await call(b, 'POST', `/api/jobs/${jobId}/resume`, await clientCredentialsToken(idp))).status, 404);
});

test('an older sealed session record put back into KV is not believed', async () => {
  const { mf, a, b } = twoIsolates();
  const oid = newOid();
  const user = await idp.mint({ claims: { oid } });
  const jobId = `job-replay-${oid}`;
  assert.equal((await call(a, 'POST', '/api/jobs', user, { jobId })).status, 202);
  // Whatever KV holds for sessions (a replayed older value included), the coordinator decides.
  const kv = await mf.getKVNamespace('TOKEN_CACHE', 'a');
  const before = (await kv.list()).keys.map((k) => k.name);
  const values = await Promise.all(before.map(async (name) => [name, await kv.get(name, 'arrayBuffer')]));
  assert.equal((await call(a, 'DELETE', `/api/jobs/${jobId}`, user)).status, 204);
  for (const [name, value] of values) await kv.put(name, value);
  assert.equal((await call(b, 'POST', `/api/jobs/${jobId}/resume`, await clientCredentialsToken(idp))).status, 404);
});

test('concurrent refreshes of one session through both isolates make one provider call and keep the rotated refresh token', async () => {
  const { a, b } = twoIsolates();
  const lifetime = (seconds) => fetch(`${idp.issuer}/__lifetime`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ seconds }),
  });
  await lifetime(2);
  try {
    const oid = newOid();
    const jobId = `job-refresh-${oid}`;
    assert.equal((await call(a, 'POST', '/api/jobs', await idp.mint({ claims: { oid } }), { jobId })).status, 202);
    const refreshes = () => idp.stats.byGrant.refresh_token ?? 0;
    for (let round = 0; round < 2; round++) {
      // The session's token has expired: eight resumes at once, through both isolates (the
      // scheduler's own token is fresh).
      await new Promise((resolve) => setTimeout(resolve, 2500));
      const app = await clientCredentialsToken(idp);
      const before = refreshes();
      const answers = await Promise.all(Array.from({ length: 8 }, (_, i) =>
        call(i % 2 ? b : a, 'POST', `/api/jobs/${jobId}/resume`, app)));
      for (const answer of answers) assert.equal(answer.status, 200, await answer.clone().text());
      assert.equal(refreshes() - before, 1, `round ${round}: one refresh for all of them`);
    }
  } finally {
    await lifetime(null);
  }
});

for (const broken of ['failing', 'hanging']) {
  test(`a ${broken} coordinator: tokens are still served, session operations answer 503`, async () => {
    const { a, b } = twoIsolates({ coordinator: broken });
    const user = await idp.mint({ claims: { oid: newOid() } });
    const started = Date.now();
    const me = await call(a, 'GET', '/api/me', user);
    assert.equal(me.status, 200, await me.clone().text());
    assert.ok(Date.now() - started < 8000, `answered in ${Date.now() - started} ms`);
    const job = await call(b, 'POST', '/api/jobs', user, { jobId: `job-${broken}-${newOid()}` });
    assert.equal(job.status, 503, await job.clone().text());
    assert.ok(job.headers.get('retry-after'));
    // An end that can't be recorded is not answered as done.
    assert.equal((await call(a, 'DELETE', `/api/jobs/job-${broken}`, user)).status, 503);
  });
}

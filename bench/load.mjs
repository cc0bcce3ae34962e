// End-to-end load and cache behaviour against the local stack (identity provider + downstream
// API on 127.0.0.1), with autocannon: the example worker's GET /api/me next to a JavaScript
// baseline worker (jose + fetch + KV) and a proxy-only worker, warm and cold; then K users × M
// concurrent requests through the probe worker, counting provider calls and KV operations.
import { readdirSync, readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { Miniflare } from 'miniflare';
import { startIdentityProvider } from '../tests/e2e/identity-provider.mjs';
import { startDownstreamApi } from '../tests/e2e/downstream-api.mjs';
import { CLIENT_ID, CLIENT_SECRET, exampleConfig } from '../tests/e2e/example-config.mjs';

const OBO = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20);
// Time-bounded runs (autocannon's request-count mode ends on a 1 s tick, which skews rates).
const WARM_SECONDS = Number(process.env.BENCH_WARM_SECONDS ?? 5);
const COLD_SECONDS = Number(process.env.BENCH_COLD_SECONDS ?? 2);
const COLD_USERS = Number(process.env.BENCH_COLD_USERS ?? 8000);

async function serve(options) {
  const mf = new Miniflare({ host: '127.0.0.1', port: 0, compatibilityDate: '2025-09-01', kvNamespaces: ['TOKEN_CACHE'], ...options });
  return { mf, url: (await mf.ready).toString().replace(/\/$/, '') };
}

/**
 * CPU time (ms) used so far by the workerd processes this process started (user + system, from
 * /proc): what Workers bills, and unlike requests per second not capped by the load generator
 * and the local servers, which share this machine's two cores with workerd.
 */
function workerdCpuMs() {
  let ticks = 0;
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    let stat;
    try { stat = readFileSync(`/proc/${pid}/stat`, 'utf8'); } catch { continue; }
    const close = stat.lastIndexOf(')');
    const name = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    // fields[1] is the parent pid; [11], [12] user and system time in clock ticks.
    if (name === 'workerd' && Number(fields[1]) === process.pid) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks * 10; // 100 ticks per second on Linux
}

async function load(url, tokens, duration) {
  let i = 0;
  const cpuBefore = workerdCpuMs();
  const started = process.hrtime.bigint();
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration,
    requests: [{
      setupRequest: (req) => ({ ...req, headers: { ...req.headers, ...(tokens ? { authorization: `Bearer ${tokens[i++ % tokens.length]}` } : {}) } }),
    }],
  });
  const ok = result['2xx'];
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpuMs = workerdCpuMs() - cpuBefore;
  return {
    rps: Math.round(result.requests.total / seconds),
    cpuUsPerRequest: result.requests.total ? Math.round((1000 * cpuMs) / result.requests.total) : 0,
    p50: result.latency.p50, p99: result.latency.p99,
    ok, total: result.requests.total, errors: result.errors + result.non2xx,
  };
}

export async function measureLoad() {
  const idp = await startIdentityProvider({ clientSecret: CLIENT_SECRET });
  const api = await startDownstreamApi({ issuer: idp.issuer });
  const config = exampleConfig({ issuer: idp.issuer, profileUrl: api.profileUrl, partnerUrl: api.partnerUrl });
  const sdk = await serve({
    modules: true, scriptPath: 'worker-example/build/index.js',
    modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }],
    bindings: { IDENTITY_CONFIG: JSON.stringify(config), CLIENT_SECRET, TOKEN_CACHE_KEY: 'bench-token-cache-key-of-at-least-32-chars' },
  });
  const proxyToken = await (async () => {
    const r = await fetch(`${idp.issuer}/token`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: OBO, client_id: CLIENT_ID, client_secret: CLIENT_SECRET, assertion: await idp.mint({}), scope: 'api://profile/read', requested_token_use: 'on_behalf_of' }),
    });
    return (await r.json()).access_token;
  })();
  const baseline = await serve({
    modules: true, scriptPath: 'bench/build/baseline-worker.js',
    bindings: {
      ISSUER: idp.issuer, AUDIENCE: `api://${CLIENT_ID}`, CLIENT_ID, CLIENT_SECRET, TOKEN_ENDPOINT: `${idp.issuer}/token`,
      SCOPE: 'api://profile/read', PROFILE_URL: api.profileUrl, PROXY_TOKEN: proxyToken,
    },
  });

  const warmToken = [await idp.mint({})];
  for (const target of [sdk, baseline]) {
    const r = await fetch(`${target.url}/api/me`, { headers: { authorization: `Bearer ${warmToken[0]}` } });
    if (r.status !== 200) throw new Error(`warm-up answered ${r.status}: ${await r.text()}`);
  }
  const coldTokens = async (n) => Promise.all(Array.from({ length: n }, (_, i) => idp.mint({ claims: { oid: `00000000-0000-4000-8000-${String(i + 1).padStart(12, '0')}` } })));

  const rows = {};
  rows['proxy only (JS, no auth)'] = await load(`${baseline.url}/proxy`, null, WARM_SECONDS);
  rows['edge-identity example, warm cache'] = await load(`${sdk.url}/api/me`, warmToken, WARM_SECONDS);
  rows['JS baseline (jose + fetch + KV), warm cache'] = await load(`${baseline.url}/api/me`, warmToken, WARM_SECONDS);
  const cold = await coldTokens(COLD_USERS);
  let before = idp.stats.byGrant[OBO] ?? 0;
  rows['edge-identity example, cold (new user each request)'] = await load(`${sdk.url}/api/me`, cold.slice(0, COLD_USERS / 2), COLD_SECONDS);
  const sdkCold = { requests: rows['edge-identity example, cold (new user each request)'].total, calls: idp.stats.byGrant[OBO] - before };
  before = idp.stats.byGrant[OBO] ?? 0;
  rows['JS baseline, cold (new user each request)'] = await load(`${baseline.url}/api/me`, cold.slice(COLD_USERS / 2), COLD_SECONDS);
  const baselineCold = { requests: rows['JS baseline, cold (new user each request)'].total, calls: idp.stats.byGrant[OBO] - before };
  await sdk.mf.dispose();
  await baseline.mf.dispose();

  // K users × M concurrent first requests through the probe worker (stats in each answer).
  const K = 20;
  const M = 25;
  const probe = await serve({
    modules: true, scriptPath: 'tests/workerd/probe/build/index.js',
    modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }],
    bindings: { IDENTITY_CONFIG: JSON.stringify({ AzureAd: config.AzureAd }), CLIENT_SECRET, TOKEN_CACHE_KEY: 'bench-token-cache-key-of-at-least-32-chars' },
  });
  const users = await Promise.all(Array.from({ length: K }, (_, i) => idp.mint({ claims: { oid: `00000000-0000-4000-9000-${String(i + 1).padStart(12, '0')}` } })));
  before = idp.stats.byGrant[OBO] ?? 0;
  const answers = await Promise.all(users.flatMap((token) => Array.from({ length: M }, async () => {
    const r = await fetch(`${probe.url}/acquire?scope=api://partner/read`, { headers: { authorization: `Bearer ${token}` } });
    return r.json();
  })));
  const providerCalls = idp.stats.byGrant[OBO] - before;
  // Counters are per isolate and only grow: the largest of each is the burst's total.
  const last = Object.fromEntries(['l1Hits', 'l2Reads', 'l2Writes'].map((c) => [c, Math.max(...answers.map((a) => a[c]))]));
  const requests = K * M;
  const cache = {
    users: K, perUser: M, requests, providerCalls,
    kvReadsPerRequest: last.l2Reads / requests, kvWritesPerRequest: last.l2Writes / requests,
    l1HitRatio: last.l1Hits / requests,
  };
  // A second wave for the same users: now memory serves them.
  await Promise.all(users.flatMap((token) => Array.from({ length: M }, () => fetch(`${probe.url}/acquire?scope=api://partner/read`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.json()))));
  const after = await (await fetch(`${probe.url}/acquire?scope=api://partner/read`, { headers: { authorization: `Bearer ${users[0]}` } })).json();
  cache.secondWaveL1HitRatio = (after.l1Hits - last.l1Hits) / (requests + 1);
  cache.secondWaveProviderCalls = idp.stats.byGrant[OBO] - before - providerCalls;
  await probe.mf.dispose();
  await api.stop();
  await idp.stop();
  return { rows, sdkCold, baselineCold, cache, connections: CONNECTIONS, warmSeconds: WARM_SECONDS, coldSeconds: COLD_SECONDS };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await measureLoad();
  console.table(result.rows);
  console.log(result.cache, { sdkCold: result.sdkCold, baselineCold: result.baselineCold });
}

/**
 * Where the SDK worker's warm path spends its time, piece by piece, under the same load: an
 * empty JavaScript worker next to the workers-rs entry alone (the validation worker with K=0),
 * and a JavaScript `fetch` next to the SDK's `WorkerFetch` alone (the probe's /fetch route),
 * both fetching the same local document.
 */
export async function measureAblation() {
  const idp = await startIdentityProvider({ clientSecret: CLIENT_SECRET });
  const target = encodeURIComponent(`${idp.issuer}/.well-known/openid-configuration`);
  const jsWorker = await serve({
    modules: true,
    script: `export default { async fetch(req) {
      const u = new URL(req.url).searchParams.get('url');
      if (!u) return new Response('ok');
      const r = await fetch(u);
      return new Response(String((await r.text()).length));
    } }`,
  });
  const rustEntry = await serve({
    modules: true, scriptPath: 'bench/validation-worker/build/index.js',
    modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }],
    bindings: { IDENTITY_CONFIG: JSON.stringify({ AzureAd: { Authority: idp.issuer, Provider: 'Entra', ClientId: CLIENT_ID } }) },
  });
  const probe = await serve({
    modules: true, scriptPath: 'tests/workerd/probe/build/index.js',
    modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }],
  });
  const rows = {};
  rows['JS worker, empty'] = await load(`${jsWorker.url}/`, null, WARM_SECONDS);
  rows['workers-rs entry, no work (validation worker, K=0)'] = await load(`${rustEntry.url}/validate?k=0`, null, WARM_SECONDS);
  rows['JS worker, one fetch'] = await load(`${jsWorker.url}/?url=${target}`, null, WARM_SECONDS);
  rows['SDK WorkerFetch, one fetch (probe /fetch)'] = await load(`${probe.url}/fetch?ms=5000&url=${target}`, null, WARM_SECONDS);
  for (const s of [jsWorker, rustEntry, probe]) await s.mf.dispose();
  await idp.stop();
  return rows;
}

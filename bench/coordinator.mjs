// `bash bench/coordinator.sh`: the coordinator Durable Object (issue 20) measured, not tested.
// The example worker (worker-example/build, built by the script) as two isolates in one workerd
// (Miniflare), on one KV namespace, with and without the coordinator bound, against the local
// identity provider and downstream API on 127.0.0.1:
//   1. the two-isolate burst: USERS users × 25 concurrent first `GET /api/me`, split across the
//      isolates; provider (OBO) calls and the requests' p50/p99 latency, ROUNDS rounds each,
//      the two setups alternating;
//   2. the warm path: one user's `GET /api/me` under autocannon (20 connections, SECONDS each,
//      RUNS runs alternating), req/s with the coordinator bound and without.
// Prints a Markdown table for docs/benchmarks.md.
import autocannon from 'autocannon';
import { Miniflare } from 'miniflare';
import { startIdentityProvider } from '../tests/e2e/identity-provider.mjs';
import { startDownstreamApi } from '../tests/e2e/downstream-api.mjs';
import { CLIENT_SECRET, exampleConfig } from '../tests/e2e/example-config.mjs';

const USERS = Number(process.env.BENCH_USERS ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const RUNS = Number(process.env.BENCH_RUNS ?? 4);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const OBO = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

const idp = await startIdentityProvider({ clientSecret: CLIENT_SECRET });
const api = await startDownstreamApi({ issuer: idp.issuer });
const config = JSON.stringify(exampleConfig({ issuer: idp.issuer, profileUrl: api.profileUrl, partnerUrl: api.partnerUrl }));
let oidCounter = 0;
const newOid = () => `00000000-0000-4000-8000-b${String(++oidCounter).padStart(11, '0')}`;

/** Two isolates of the example on one KV namespace, the coordinator bound or not. */
async function twoIsolates(coordinated, kvId) {
  const example = (name, own) => ({
    name, modules: true, scriptPath: 'worker-example/build/index.js',
    modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }], compatibilityDate: '2025-09-01',
    kvNamespaces: { TOKEN_CACHE: kvId },
    durableObjects: coordinated
      ? { IDENTITY_COORDINATOR: own ? 'EdgeIdentityCoordinator' : { className: 'EdgeIdentityCoordinator', scriptName: 'a' } }
      : {},
    bindings: { IDENTITY_CONFIG: config, CLIENT_SECRET, TOKEN_CACHE_KEY: 'bench-coordinator-cache-key-of-32-chars-or-more' },
  });
  const mf = new Miniflare({ host: '127.0.0.1', port: 0, workers: [example('a', true), example('b', false)] });
  const url = `${(await mf.ready).toString().replace(/\/$/, '')}/api/me`;
  return { mf, url, a: await mf.getWorker('a'), b: await mf.getWorker('b') };
}

const percentile = (xs, p) => { const s = [...xs].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };
const median = (xs) => percentile(xs, 0.5);

async function burst(setup) {
  const tokens = await Promise.all(Array.from({ length: USERS }, () => idp.mint({ claims: { oid: newOid() } })));
  const before = idp.stats.byGrant[OBO] ?? 0;
  const latencies = await Promise.all(tokens.flatMap((token) => Array.from({ length: 25 }, async (_, i) => {
    const started = performance.now();
    const response = await (i % 2 ? setup.b : setup.a).fetch('http://example/api/me', { headers: { authorization: `Bearer ${token}` } });
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`burst answered ${response.status}`);
    return performance.now() - started;
  })));
  return { calls: (idp.stats.byGrant[OBO] ?? 0) - before, latencies };
}

const setups = { off: await twoIsolates(false, 'kv-off'), on: await twoIsolates(true, 'kv-on') };
const bursts = { off: { calls: [], latencies: [] }, on: { calls: [], latencies: [] } };
for (let round = 0; round < ROUNDS; round++) {
  for (const side of round % 2 ? ['on', 'off'] : ['off', 'on']) {
    const r = await burst(setups[side]);
    bursts[side].calls.push(r.calls);
    bursts[side].latencies.push(...r.latencies);
  }
}

// Warm: one user, isolate a (Miniflare's entry worker), with and without the coordinator bound.
const token = await idp.mint({ claims: { oid: newOid() } });
for (const s of Object.values(setups)) {
  const warm = await fetch(s.url, { headers: { authorization: `Bearer ${token}` } });
  if (warm.status !== 200) throw new Error(`warm-up answered ${warm.status}`);
}
const rps = { off: [], on: [] };
for (let run = 0; run < RUNS; run++) {
  for (const side of run % 2 ? ['on', 'off'] : ['off', 'on']) {
    const r = await autocannon({ url: setups[side].url, connections: 20, duration: SECONDS, headers: { authorization: `Bearer ${token}` } });
    if (r.non2xx || r.errors) throw new Error(`${side}: ${r.non2xx} non-2xx, ${r.errors} errors`);
    rps[side].push(Math.round(r.requests.total / SECONDS));
  }
}
for (const s of Object.values(setups)) await s.mf.dispose();
await api.stop();
await idp.stop();

const row = (side, label) => {
  const b = bursts[side];
  return `| ${label} | ${b.calls.join(', ')} (${USERS} users) | ${median(b.latencies).toFixed(0)} | ${percentile(b.latencies, 0.99).toFixed(0)} | ${median(rps[side])} |`;
};
console.log(`${USERS} users × 25 concurrent first requests split over two isolates, ${ROUNDS} rounds; warm: ${RUNS} runs × ${SECONDS} s, 20 connections`);
console.log('');
console.log('| two isolates | provider calls per round | burst p50 ms | burst p99 ms | warm req/s (median) |');
console.log('|---|---|---|---|---|');
console.log(row('off', 'KV alone'));
console.log(row('on', 'with the coordinator'));
console.log('');
console.log(`warm with/without: ${(median(rps.on) / median(rps.off)).toFixed(2)} (runs: off ${rps.off.join(' ')}, on ${rps.on.join(' ')})`);

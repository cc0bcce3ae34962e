// The load half of `bash bench/ab.sh`: the example worker built twice (bench/build/ab-a and
// ab-b), each in its own workerd with the same bindings, against one local identity provider
// and downstream API; warm `GET /api/me` with one user, AB_RUNS alternating runs of AB_SECONDS
// each (A first in even runs, B first in odd ones), 20 connections. Prints each run and the
// medians. Everything on 127.0.0.1.
//
// bench/events.sh runs it on one build with two configurations instead: AB_DIR_A / AB_DIR_B
// name the builds, AB_EVENTS_A / AB_EVENTS_B each side's `Events` section (JSON); the workers'
// console output is drained, not printed, on both sides. bench/metrics.sh sets AB_METRICS_A /
// AB_METRICS_B to 1 to bind that side's IDENTITY_METRICS to Miniflare's own local Analytics
// Engine dataset (its writeDataPoint keeps nothing: what is measured is the SDK's side).
import autocannon from 'autocannon';
import { Miniflare } from 'miniflare';
import { startIdentityProvider } from '../tests/e2e/identity-provider.mjs';
import { startDownstreamApi } from '../tests/e2e/downstream-api.mjs';
import { CLIENT_SECRET, exampleConfig } from '../tests/e2e/example-config.mjs';

const RUNS = Number(process.env.AB_RUNS ?? 4);
const SECONDS = Number(process.env.AB_SECONDS ?? 4);
const [labelA = 'A', labelB = 'B'] = process.argv.slice(2);

const idp = await startIdentityProvider({ clientSecret: CLIENT_SECRET });
const api = await startDownstreamApi({ issuer: idp.issuer });
const config = exampleConfig({ issuer: idp.issuer, profileUrl: api.profileUrl, partnerUrl: api.partnerUrl });
const token = await idp.mint({});
async function serve(dir, events, metrics) {
  const mf = new Miniflare({
    ...(metrics === '1' ? { analyticsEngineDatasets: { IDENTITY_METRICS: { dataset: 'edge_identity' } } } : {}),
    host: '127.0.0.1', port: 0, compatibilityDate: '2025-09-01', kvNamespaces: ['TOKEN_CACHE'],
    modules: true, scriptPath: `${dir}/index.js`, modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }],
    bindings: {
      IDENTITY_CONFIG: JSON.stringify(events ? { ...config, Events: JSON.parse(events) } : config),
      CLIENT_SECRET, TOKEN_CACHE_KEY: 'bench-token-cache-key-of-at-least-32-chars',
    },
    ...(draining ? { handleRuntimeStdio(stdout, stderr) { stdout.resume(); stderr.resume(); } } : {}),
  });
  const url = `${(await mf.ready).toString().replace(/\/$/, '')}/api/me`;
  const warm = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  if (warm.status !== 200) throw new Error(`${dir} answered ${warm.status}: ${await warm.text()}`);
  return { mf, url };
}
const draining = Boolean(process.env.AB_EVENTS_A || process.env.AB_EVENTS_B);
const targets = {
  a: await serve(process.env.AB_DIR_A ?? 'bench/build/ab-a', process.env.AB_EVENTS_A, process.env.AB_METRICS_A),
  b: await serve(process.env.AB_DIR_B ?? 'bench/build/ab-b', process.env.AB_EVENTS_B, process.env.AB_METRICS_B),
};
const rps = { a: [], b: [] };
for (let run = 0; run < RUNS; run++) {
  for (const side of run % 2 ? ['b', 'a'] : ['a', 'b']) {
    const r = await autocannon({ url: targets[side].url, connections: 20, duration: SECONDS, headers: { authorization: `Bearer ${token}` } });
    if (r.non2xx || r.errors) throw new Error(`${side}: ${r.non2xx} non-2xx, ${r.errors} errors`);
    rps[side].push(Math.round(r.requests.total / SECONDS));
  }
}
for (const t of Object.values(targets)) await t.mf.dispose();
await api.stop();
await idp.stop();
const median = (xs) => { const s = [...xs].sort((x, y) => x - y); return (s[(s.length - 1) >> 1] + s[s.length >> 1]) / 2; };
console.log(`A ${labelA.trim()}: ${rps.a.join(' ')} req/s, median ${median(rps.a)}`);
console.log(`B ${labelB.trim()}: ${rps.b.join(' ')} req/s, median ${median(rps.b)}`);
console.log(`B/A: ${(median(rps.b) / median(rps.a)).toFixed(2)}`);

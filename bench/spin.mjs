// The Spin example's per-request cost under wasmtime serve 49 (bench/spin.sh builds it first):
// one server reusing instances as a WASI 0.3 host does by default (up to 128 requests, 16 at
// once), one with a new instance for every request (`--max-instance-reuse-count 1`, the Spin
// premise before WASI 0.3). Requests are sent one after another from this process to 127.0.0.1,
// against the local identity provider and downstream API (tests/e2e), and timed here: a
// request's whole round trip, so the same HTTP cost is in every row (`/healthz`, which does no
// SDK work, is that floor). Each scenario: BENCH_REQUESTS requests (default 200) after 20 not
// counted; median and 90th percentile in ms.
//
// - first sight: a token never presented before (minted beforehand, one per request), on a route
//   that validates it and answers 404: parse, RS256 signature (RustCrypto), claims.
// - repeat sight: one token again and again on that route (the verified-token cache, where the
//   instance is reused).
// - OBO cache hit: `GET /api/me` with one token again and again: validation, its OBO token
//   from the cache (memory where reused, the key-value store otherwise), the downstream call.
// - session continued: `POST /api/jobs/{key}/resume` by the user who started it, again and
//   again: validation, the session's record read (from the store, every time, since 147ba96),
//   its token from the cache, the downstream call.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startIdentityProvider } from '../tests/e2e/identity-provider.mjs';
import { startDownstreamApi } from '../tests/e2e/downstream-api.mjs';
import { CLIENT_SECRET, exampleConfig } from '../tests/e2e/example-config.mjs';
import { serve } from '../tests/spin/serve.mjs';

const N = Number(process.env.BENCH_REQUESTS ?? 200);
const WARMUP = 20;

const idp = await startIdentityProvider({ clientSecret: CLIENT_SECRET });
const api = await startDownstreamApi({ issuer: idp.issuer });
const config = exampleConfig({ issuer: idp.issuer, profileUrl: api.profileUrl, partnerUrl: api.partnerUrl });

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

async function timed(url, path, tokens, method = 'GET') {
  const times = [];
  for (let i = 0; i < WARMUP + N; i++) {
    const token = tokens(i);
    const start = process.hrtime.bigint();
    const response = await fetch(`${url}${path}`, { method, headers: token ? { authorization: `Bearer ${token}` } : {} });
    await response.arrayBuffer();
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (![200, 404].includes(response.status)) throw new Error(`${path}: ${response.status}`);
    if (i >= WARMUP) times.push(ms);
  }
  times.sort((a, b) => a - b);
  return { p50: quantile(times, 0.5), p90: quantile(times, 0.9) };
}

const modes = [
  ['instances reused (WASI 0.3 default)', []],
  ['one instance per request', ['--max-instance-reuse-count', '1']],
];
// SPIN_BASELINE_COMPONENT: a composed build of another revision (e.g. the spin-sdk 5.2 / WASI 0.2
// one before issue 22, which wasmtime serve runs one instance per request), measured as a third
// column; with SPIN_BASELINE_FIRST=1 it is measured first (the first server measured reads a
// little slower on this machine, whatever it serves: compare both orders).
const baseline = process.env.SPIN_BASELINE_COMPONENT;
if (baseline && process.env.SPIN_BASELINE_FIRST === '1') modes.unshift([`baseline: ${baseline}`, [], baseline]);
else if (baseline) modes.push([`baseline: ${baseline}`, [], baseline]);
const results = {};
const procs = [];
const dirs = [];
try {
  for (const [mode, args, component] of modes) {
    const dir = mkdtempSync(join(tmpdir(), 'edge-identity-spin-bench-'));
    dirs.push(dir);
    const served = await serve(config, dir, { args, ...(component ? { component } : {}) });
    procs.push(served.proc);
    const fresh = await Promise.all(Array.from({ length: WARMUP + N }, (_, i) =>
      idp.mint({ claims: { oid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}` } })));
    const one = await idp.mint({});
    results[mode] = {
      'floor: `GET /healthz` (no SDK work)': await timed(served.url, '/healthz', () => undefined),
      'first sight (validation, 404 route)': await timed(served.url, '/api/none', (i) => fresh[i]),
      'repeat sight (validation, 404 route)': await timed(served.url, '/api/none', () => one),
      'OBO cache hit (`GET /api/me`)': await timed(served.url, '/api/me', () => one),
    };
    const started = await fetch(`${served.url}/api/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${one}`, 'content-type': 'application/json' },
      body: JSON.stringify({ jobId: 'bench-job' }),
    });
    if (started.status !== 202) throw new Error(`POST /api/jobs: ${started.status}`);
    results[mode]['session continued (`POST /api/jobs/{key}/resume`)'] =
      await timed(served.url, '/api/jobs/bench-job/resume', () => one, 'POST');
    served.proc.kill('SIGTERM');
  }
} finally {
  for (const proc of procs) proc.kill('SIGTERM');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  await api.stop();
  await idp.stop();
}

const fmt = (v) => v.toFixed(2);
console.log(`\nSpin example under wasmtime serve, ${N} sequential requests per row (p50 / p90 ms, whole round trip):\n`);
console.log(`| per request | ${modes.map(([mode]) => `${mode}: p50 | p90`).join(' | ')} |`);
console.log(`|---|${modes.map(() => '---|---|').join('')}`);
for (const row of Object.keys(results[modes[0][0]])) {
  const cells = modes.map(([mode]) => `${fmt(results[mode][row].p50)} | ${fmt(results[mode][row].p90)}`);
  console.log(`| ${row} | ${cells.join(' | ')} |`);
}

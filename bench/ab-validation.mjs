// The measuring half of `bash bench/ab-validation.sh`: the validation worker at two revisions
// (bench/build/abv-a, abv-b) as two workers of one workerd, validating the same Entra-shaped
// RS256 token K times per request with a warm key cache (first sight, parse; a repeat token 25·K times), the sides measured side by side and the
// order flipped every round (as bench/run.mjs measures). Prints µs per validation and B/A as the
// median of the rounds' own ratios. Everything on 127.0.0.1.
import { startEntraIssuer } from './entra-issuer.mjs';
import { Miniflare } from 'miniflare';

const K = Number(process.env.BENCH_K ?? 200);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const [labelA = 'A', labelB = 'B'] = process.argv.slice(2);

// The token and issuer of bench/run.mjs's section 1 (one key here).
const { server, jwks, token, identityConfig } = await startEntraIssuer(['key-1']);

const worker = (name) => ({
  name, modules: true, scriptPath: `bench/build/abv-${name}/index.js`,
  modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }], compatibilityDate: '2025-09-01',
  bindings: { IDENTITY_CONFIG: identityConfig, JWKS: JSON.stringify(jwks) },
});
const mf = new Miniflare({ workers: [worker('a'), worker('b')] });
const fetchers = { a: await mf.getWorker('a'), b: await mf.getWorker('b') };
const call = async (side, path, k) => {
  const response = await fetchers[side].fetch(`http://bench${path}&k=${k}`, { headers: { authorization: `Bearer ${token}` } });
  const passed = Number(await response.text());
  if (response.status !== 200 || passed !== k) throw new Error(`${side}${path}: status ${response.status}, ${passed}/${k}`);
};
const timed = async (side, path, k) => {
  const start = process.hrtime.bigint();
  for (let i = 0; i < REQUESTS; i++) await call(side, path, k);
  return Number(process.hrtime.bigint() - start) / 1e3 / REQUESTS;
};
const perValidation = async (side, path, k) => Math.max(0, ((await timed(side, path, k)) - (await timed(side, path, 0))) / k);

// A repeat token (the verified-token cache) takes about a microsecond: 25× as many per request,
// as in bench/run.mjs, to lift it clear of the request's own cost.
const paths = { 'first sight': '/validate?backend=webcrypto-first', 'parse only': '/parse?', 'repeat token': '/validate?backend=webcrypto' };
const perRequest = { 'first sight': K, 'parse only': K, 'repeat token': 25 * K };
for (const side of ['a', 'b']) for (const path of Object.values(paths)) for (let i = 0; i < 3; i++) await call(side, path, 50);
const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
for (const [name, path] of Object.entries(paths)) {
  const a = [];
  const b = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const side of round % 2 ? ['b', 'a'] : ['a', 'b']) (side === 'a' ? a : b).push(await perValidation(side, path, perRequest[name]));
  }
  const ratios = a.map((x, i) => b[i] / x);
  console.log(`${name}: A ${labelA} ${median(a).toFixed(2)} µs, B ${labelB} ${median(b).toFixed(2)} µs, B/A ${median(ratios).toFixed(2)}`);
}
await mf.dispose();
server.close();

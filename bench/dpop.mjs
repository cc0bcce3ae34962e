// The measuring half of `bash bench/dpop.sh`: what a DPoP request costs the validator on Workers
// next to a bearer one, in one workerd process on 127.0.0.1. The token is bench/run.mjs's
// Entra-shaped RS256 token (bench/entra-issuer.mjs) with `cnf.jkt` of an ES256 client key; every
// validation gets its own proof (fresh `jti`, as a client sends them), signed here with jose
// before the request. Per validation: a request of K, minus a request carrying the same body
// but validating none, divided by K; median over rounds, the variants measured in turn.
//
// - bearer, repeat token: the verified-token cache (bench/run.mjs's "repeat token");
// - bearer, first sight: parse, WebCrypto signature, claims;
// - DPoP, repeat token: the bound token from the cache plus the whole proof check (parse, the
//   proof's key imported into WebCrypto, its ES256 signature, htm/htu/iat/ath/jkt, replay in
//   the isolate);
// - the same with the sealed KV store for replay (`sdk-kv`: one KV read and one write);
// - DPoP, first sight: no token cache.
import { createSign } from 'node:crypto';
import { Miniflare } from 'miniflare';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { createHash, randomUUID } from 'node:crypto';
import { startEntraIssuer } from './entra-issuer.mjs';

const K = Number(process.env.BENCH_K ?? 100);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);

const { server, jwks, keys, token, identityConfig } = await startEntraIssuer(['key-1']);
const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
const jwk = await exportJWK(publicKey);

// The same claims as the bearer token, bound to the client key.
const claims = { ...JSON.parse(Buffer.from(token.split('.')[1], 'base64url')), cnf: { jkt: await calculateJwkThumbprint(jwk) } };
const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
const input = `${b64({ typ: 'JWT', alg: 'RS256', kid: keys[0].kid })}.${b64(claims)}`;
const bound = `${input}.${createSign('RSA-SHA256').update(input).sign(keys[0].privateKey).toString('base64url')}`;
const ath = createHash('sha256').update(bound).digest('base64url');
const proofs = (n) => Promise.all(Array.from({ length: n }, () => new SignJWT({ htm: 'GET', htu: 'https://bench/dpop', jti: randomUUID(), ath })
  .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk }).setIssuedAt().sign(privateKey)));

const worker = (name, extra = {}) => ({
  name, modules: true, scriptPath: 'bench/validation-worker/build/index.js',
  modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }], compatibilityDate: '2025-09-01',
  bindings: { IDENTITY_CONFIG: identityConfig, JWKS: JSON.stringify(jwks), ...(extra.bindings ?? {}) },
  ...(extra.kv ? { kvNamespaces: ['TOKEN_CACHE'] } : {}),
});
const mf = new Miniflare({ workers: [
  worker('sdk'),
  worker('sdk-kv', { kv: true, bindings: { TOKEN_CACHE_KEY: 'bench-token-cache-key-of-at-least-32-chars' } }),
] });
const fetchers = { sdk: await mf.getWorker('sdk'), 'sdk-kv': await mf.getWorker('sdk-kv') };

const bearer = async (worker, backend, k) => {
  const response = await fetchers[worker].fetch(`http://bench/validate?backend=${backend}&k=${k}`, { headers: { authorization: `Bearer ${token}` } });
  const passed = Number(await response.text());
  if (passed !== k) throw new Error(`bearer ${backend}: ${passed}/${k}`);
};
const dpop = async (worker, backend, k, body) => {
  const response = await fetchers[worker].fetch(`http://bench/dpop?backend=${backend}&k=${k}`, { method: 'POST', body });
  const passed = Number(await response.text());
  if (passed !== k) throw new Error(`dpop ${worker} ${backend}: ${passed}/${k}`);
};
const time = async (f) => {
  const start = process.hrtime.bigint();
  await f();
  return Number(process.hrtime.bigint() - start) / 1e3;
};

const variants = {
  'bearer, repeat token': { k: 5 * K, run: (k) => bearer('sdk', 'webcrypto', k) },
  'bearer, first sight': { k: K, run: (k) => bearer('sdk', 'webcrypto-first', k) },
  'DPoP, repeat token + proof (replay in the isolate)': { k: K, proofs: true, worker: 'sdk', backend: 'dpop' },
  'DPoP, repeat token + proof (replay in the isolate and sealed KV)': { k: K, proofs: true, worker: 'sdk-kv', backend: 'dpop' },
  'DPoP, first sight + proof': { k: K, proofs: true, worker: 'sdk', backend: 'dpop-first' },
};

const perValidation = async (v) => {
  let loaded = 0;
  let empty = 0;
  for (let i = 0; i < REQUESTS; i++) {
    if (v.proofs) {
      const body = JSON.stringify({ token: bound, proofs: await proofs(v.k) });
      empty += await time(() => dpop(v.worker, v.backend, 0, body));
      loaded += await time(() => dpop(v.worker, v.backend, v.k, body));
    } else {
      empty += await time(() => v.run(0));
      loaded += await time(() => v.run(v.k));
    }
  }
  return Math.max(0, (loaded - empty) / REQUESTS / v.k);
};

// Warm up: keys fetched and imported, code compiled.
for (const v of Object.values(variants)) for (let i = 0; i < 2; i++) await perValidation({ ...v, k: 20 });
const samples = Object.fromEntries(Object.keys(variants).map((name) => [name, []]));
for (let round = 0; round < ROUNDS; round++) {
  const names = Object.keys(variants);
  for (const name of round % 2 ? names.reverse() : names) samples[name].push(await perValidation(variants[name]));
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const first = median(samples['bearer, first sight']);
console.log(`µs per validation (median of ${ROUNDS} rounds; K=${K}, ${REQUESTS} requests per sample)`);
for (const [name, xs] of Object.entries(samples)) {
  const us = median(xs);
  console.log(`${name.padEnd(68)} ${us.toFixed(1).padStart(8)} µs  (${(us / first).toFixed(2)}× bearer first sight)`);
}
await mf.dispose();
server.close();

// The measuring half of `bash bench/ab-validation.sh`: the validation worker at two revisions
// (bench/build/abv-a, abv-b) as two workers of one workerd, validating the same Entra-shaped
// RS256 token K times per request with a warm key cache, the sides measured side by side and the
// order flipped every round (as bench/run.mjs measures). Prints µs per validation and B/A as the
// median of the rounds' own ratios. Everything on 127.0.0.1.
import { createServer } from 'node:http';
import { createSign, generateKeyPairSync, randomUUID } from 'node:crypto';
import { Miniflare } from 'miniflare';

const K = Number(process.env.BENCH_K ?? 200);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const [labelA = 'A', labelB = 'B'] = process.argv.slice(2);

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwks = { keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'key-1', use: 'sig', alg: 'RS256' }] };
const tenant = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const server = createServer((req, res) => {
  const body = req.url.endsWith('/openid-configuration') ? { issuer, jwks_uri: jwksUri } : jwks;
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const instance = `http://127.0.0.1:${server.address().port}/`;
const issuer = `${instance}${tenant}/v2.0`;
const jwksUri = `${instance}${tenant}/discovery/v2.0/keys`;
const audience = 'api://6e74172b-be56-4843-9ff4-e66a39bb12e3';
const now = Math.floor(Date.now() / 1000);
// The claims of bench/run.mjs's token: an Entra v2.0 access token's thirty-odd members.
const claims = {
  aud: audience, iss: issuer, iat: now - 60, nbf: now - 60, exp: now + 3600,
  aio: 'AWQAm/8ZAAAA' + 'x'.repeat(60), azp: '1950a258-227b-4e31-a9cf-717495945fc2', azpacr: '0',
  name: 'Ada Lovelace', oid: 'a1b2c3d4-0000-4000-8000-000000000001', preferred_username: 'ada@contoso.example',
  rh: '0.AXEAv4j5cvGGr0GRqy180BHbR' + 'y'.repeat(20), scp: 'access_as_user User.Read',
  sub: 'x8nS1nCq1ckT8YwKpJ1uGcZb9uL3H2uB8oZk1e4oYyM', tid: tenant,
  uti: randomUUID().replace(/-/g, ''), ver: '2.0', xms_tcdt: 1289241547, wids: ['b79fbf4d-3ef9-4689-8143-76b194e85509'],
  idtyp: 'user', acct: 0, ipaddr: '203.0.113.7', family_name: 'Lovelace', given_name: 'Ada',
};
const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
const input = `${b64({ typ: 'JWT', alg: 'RS256', kid: 'key-1' })}.${b64(claims)}`;
const token = `${input}.${createSign('RSA-SHA256').update(input).sign(privateKey).toString('base64url')}`;
const identityConfig = JSON.stringify({ AzureAd: { Instance: instance, TenantId: tenant, ClientId: '6e74172b-be56-4843-9ff4-e66a39bb12e3', Audience: audience } });

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
const perValidation = async (side, path) => Math.max(0, ((await timed(side, path, K)) - (await timed(side, path, 0))) / K);

const paths = { 'first sight': '/validate?backend=webcrypto-first', 'parse only': '/parse?' };
for (const side of ['a', 'b']) for (const path of Object.values(paths)) for (let i = 0; i < 3; i++) await call(side, path, 50);
const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
for (const [name, path] of Object.entries(paths)) {
  const a = [];
  const b = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const side of round % 2 ? ['b', 'a'] : ['a', 'b']) (side === 'a' ? a : b).push(await perValidation(side, path));
  }
  const ratios = a.map((x, i) => b[i] / x);
  console.log(`${name}: A ${labelA} ${median(a).toFixed(1)} µs, B ${labelB} ${median(b).toFixed(1)} µs, B/A ${median(ratios).toFixed(2)}`);
}
await mf.dispose();
server.close();

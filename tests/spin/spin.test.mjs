// The Spin example component end to end: built for wasm32-wasip2, composed with the test-only
// host shim (Spin's key-value and variables interfaces, tests/spin/host-shim), and served by
// `wasmtime serve` on 127.0.0.1 against the local identity provider and downstream API.
// This stands in for Spin's runtime; it is not Spin. Build first (scripts/test.sh does):
// target/spin-e2e/composed.wasm, and WASMTIME pointing at wasmtime 49.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest } from 'node:http';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startIdentityProvider } from '../e2e/identity-provider.mjs';
import { startDownstreamApi } from '../e2e/downstream-api.mjs';
import { CLIENT_SECRET, exampleConfig } from '../e2e/example-config.mjs';
import { serve as serveComponent } from './serve.mjs';

const OBO = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

let idp;
let api;
let kvDir;
let server;
let base;
const servers = [];

/** `wasmtime serve` of the composed component with `config`, on a free port, once it answers. */
async function serve(config, dir, options) {
  const served = await serveComponent(config, dir, options);
  servers.push(served.proc);
  return served.url;
}

before(async () => {
  idp = await startIdentityProvider({ clientSecret: CLIENT_SECRET });
  api = await startDownstreamApi({ issuer: idp.issuer });
  kvDir = mkdtempSync(join(tmpdir(), 'edge-identity-spin-kv-'));
  const config = exampleConfig({ issuer: idp.issuer, profileUrl: api.profileUrl, partnerUrl: api.partnerUrl });
  base = await serve(config, kvDir);
});

after(async () => {
  for (const proc of servers) proc.kill('SIGTERM');
  await api?.stop();
  await idp?.stop();
  if (kvDir) rmSync(kvDir, { recursive: true, force: true });
});

const get = (path, token) => fetch(`${base}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

test('without a token cache key nothing is served and no token costs a request to the issuer', async () => {
  // Issue 19: the shipped manifest defaulted the key to empty, so the store was not used and
  // every request (a forged token too) fetched the issuer's documents again.
  let issuerHits = 0;
  const issuer = createServer((req, res) => { issuerHits += 1; res.writeHead(404).end(); });
  await new Promise((resolve) => issuer.listen(0, '127.0.0.1', resolve));
  const dir = mkdtempSync(join(tmpdir(), 'edge-identity-spin-unsealed-'));
  try {
    const config = exampleConfig({ issuer: `http://127.0.0.1:${issuer.address().port}`, profileUrl: api.profileUrl, partnerUrl: api.partnerUrl });
    const unsealed = await serve(config, dir, { sealed: false });
    const part = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const forged = `${part({ alg: 'RS256', kid: 'k' })}.${part({ sub: 'x' })}.${part('no signature')}`;
    for (let i = 0; i < 3; i++) {
      const response = await fetch(`${unsealed}/api/me`, { headers: { authorization: `Bearer ${forged}` } });
      assert.equal(response.status, 500, await response.clone().text());
      assert.deepEqual(await response.json(), { error: 'server_error', error_description: 'the service is not configured correctly' });
    }
    assert.equal(issuerHits, 0, 'the issuer was asked');
  } finally {
    issuer.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a valid token gets the downstream data through an OBO token for the same user', async () => {
  const oid = '00000000-0000-4000-8000-00000000051a';
  const response = await get('/api/me', await idp.mint({ claims: { oid } }));
  assert.equal(response.status, 200, await response.clone().text());
  assert.equal((await response.json()).oid, oid);
  const seen = api.seen.filter((s) => s.path === '/profile/me' && s.oid === oid);
  assert.deepEqual([seen.length, seen[0].aud, seen[0].azp], [1, 'api://profile', 'edge-api']);
});

test('the second request costs no provider call, and what the store keeps is sealed with its expiry', async () => {
  // Under instance reuse the second request is served from memory; tests/spin/reuse.test.mjs
  // checks the store's part with one instance per request.
  const token = await idp.mint({ claims: { oid: '00000000-0000-4000-8000-00000000051b' } });
  const before = idp.stats.byGrant[OBO] ?? 0;
  assert.equal((await get('/api/me', token)).status, 200);
  const keySetFetches = idp.stats.tokenRequests;
  assert.equal((await get('/api/me', token)).status, 200);
  assert.equal(idp.stats.byGrant[OBO] - before, 1);
  assert.equal(idp.stats.tokenRequests, keySetFetches);
  // Each value carries its own expiry (Spin's store has none) and is sealed.
  let checked = 0;
  for (const name of readdirSync(kvDir)) {
    const key = Buffer.from(name, 'hex').toString();
    if (!key.startsWith('edge-identity/v1/token/')) continue;
    const value = readFileSync(join(kvDir, name));
    const expiresAt = Number(value.readBigUInt64BE(0));
    assert.ok(expiresAt > Date.now() && expiresAt < Date.now() + 3600_000, key);
    assert.equal(value.subarray(8, 12).toString(), 'EI3s');
    checked += 1;
  }
  assert.ok(checked >= 1, 'token entries are in the store');
});

test('/api/dashboard calls both APIs', async () => {
  const oid = '00000000-0000-4000-8000-00000000051c';
  const response = await get('/api/dashboard', await idp.mint({ claims: { oid } }));
  assert.equal(response.status, 200, await response.clone().text());
  const { profile, data } = await response.json();
  assert.deepEqual([profile.oid, data.items[0].owner], [oid, oid]);
});

test('bad tokens get 401 and a missing scope 403', async () => {
  const good = await idp.mint({});
  const [head, body, signature] = good.split('.');
  for (const token of [
    await idp.mint({ expiresIn: -60 }),
    await idp.mint({ claims: { aud: 'api://someone-else' } }),
    `${head}.${body}.${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`,
    undefined,
  ]) {
    const response = await get('/api/me', token);
    assert.equal(response.status, 401);
    assert.match(response.headers.get('www-authenticate'), /^Bearer/);
  }
  assert.equal((await get('/api/me', await idp.mint({ claims: { scp: 'other' } }))).status, 403);
});

test('outbound HTTP on Spin follows no redirect and stops reading a body at its limit', async () => {
  // Profile answers 307 to another local server; Partner answers an endless chunked body.
  const hits = [];
  const target = createServer((req, res) => { hits.push(req.url); res.end('{}'); });
  await new Promise((resolve) => target.listen(0, '127.0.0.1', resolve));
  let written = 0;
  const hostile = createServer((req, res) => {
    if (req.url.startsWith('/profile')) {
      res.writeHead(307, { location: `http://127.0.0.1:${target.address().port}/collect` });
      return res.end();
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let open = true;
    res.on('close', () => { open = false; });
    const more = () => {
      while (open && written < 256 * 1024 * 1024) {
        written += chunk.length;
        if (!res.write(chunk)) return res.once('drain', more);
      }
      res.end();
    };
    more();
  });
  await new Promise((resolve) => hostile.listen(0, '127.0.0.1', resolve));
  const dir = mkdtempSync(join(tmpdir(), 'edge-identity-spin-hostile-'));
  try {
    const hostileBase = `http://127.0.0.1:${hostile.address().port}`;
    const config = exampleConfig({
      issuer: idp.issuer, profileUrl: `${hostileBase}/profile`, partnerUrl: `${hostileBase}/partner`,
      partner: { MaxResponseBytes: 100000 },
    });
    const url = await serve(config, dir);
    const token = await idp.mint({ claims: { oid: '00000000-0000-4000-8000-00000000051d' } });
    const me = await fetch(`${url}/api/me`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(me.status, 502, await me.clone().text());
    assert.deepEqual(hits, [], 'the redirect was not followed');
    const dashboard = await fetch(`${url}/api/dashboard`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(dashboard.status, 502);
    assert.ok(written < 64 * 1024 * 1024, `reading stopped (${written} bytes written)`);
  } finally {
    hostile.closeAllConnections();
    hostile.close();
    target.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('two Authorization headers get 400 invalid_request', async () => {
  // Sent as two header lines (node:http), as a proxy or a confused client might.
  const token = await idp.mint({});
  const { status, challenge } = await new Promise((resolve, reject) => {
    const url = new URL(`${base}/api/me`);
    const req = httpRequest({ host: url.hostname, port: url.port, path: url.pathname,
      headers: { authorization: [`Bearer ${token}`, `Bearer ${token}`] } }, (res) => {
      res.resume();
      resolve({ status: res.statusCode, challenge: res.headers['www-authenticate'] });
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(status, 400);
  assert.match(challenge, /error="invalid_request"/);
});

test('the manifest is in Spin 4.1\'s shape and cannot start without a token cache key', () => {
  // Shape: Spin 4.1's http-rust template (spinframework/spin templates/http-rust/content/spin.toml:
  // the schema line, manifest version 2, [[trigger.http]] with route and component, build with
  // watch) and issue 19 (the key defaulted to empty, so the store went unused). Read as text:
  // the lines that matter, not a TOML parser's view of them.
  const manifest = readFileSync('spin-example/spin.toml', 'utf8');
  const lines = manifest.split('\n').map((line) => line.trim());
  assert.equal(lines[0], '#:schema https://schemas.spinframework.dev/spin/manifest-v2/latest.json');
  assert.ok(lines.includes('spin_manifest_version = 2'));
  assert.match(manifest, /\[\[trigger\.http\]\]\nroute = "\/\.\.\."\ncomponent = "api"\n/);
  assert.match(manifest, /\[component\.api\.build\][^[]*\nwatch = \[/);
  const key = lines.find((line) => line.startsWith('token_cache_key ='));
  assert.equal(key, 'token_cache_key = { required = true, secret = true }', 'required, with no default');
  assert.ok(lines.includes('key_value_stores = ["default"]'));
});

// The example worker inside real workerd (Miniflare under node --test), configured with each
// provider preset (AzureAd.Provider) and sent that provider's token shapes as its documentation
// publishes them: tests/fixtures/providers/*.json (the page for each shape is in its `source`
// and in the fixtures' README). The provider's documents are served from 127.0.0.1: each
// fixture's origin is rewritten to this test's server, the only host workerd can reach here.
// Tokens are signed with the fixtures' test key `org` (tests/fixtures/entra/test-keys.json).
//
// What each preset must answer, in the worker, through its WebCrypto path:
// - the user's token is accepted (an unknown route answers 404 only to an authenticated caller);
// - the same user with the API's delegated scope passes /api/me's Requirement::scope and goes
//   on to the downstream call (which fails here: no token endpoint is reachable);
// - the app-only token, even carrying that delegated scope where the provider puts scopes, is
//   refused 403 on /api/me: an app is never served as a user;
// - the ID token (or the provider's other non-access token) and the other tenant's token are
//   refused 401 with the fixture's error code.
// Build the worker first (scripts/test.sh does).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, sign } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { Miniflare } from 'miniflare';

const FIXTURES = new URL('../fixtures/providers/', import.meta.url);
const TEST_KEYS = JSON.parse(readFileSync(new URL('../fixtures/entra/test-keys.json', import.meta.url), 'utf8'));
const ORG_KEY = createPrivateKey({ key: Buffer.from(TEST_KEYS.org.pkcs8, 'base64'), format: 'der', type: 'pkcs8' });
const SCOPE = 'access_as_user';
const SECRETS = { CLIENT_SECRET: 'presets-secret', TOKEN_CACHE_KEY: 'presets-token-cache-key-of-32-characters' };

const b64url = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A compact RS256 JWS of `header` and `claims`, signed with the test key `org`. */
function signed(header, claims) {
  const input = `${b64url(header)}.${b64url(claims)}`;
  return `${input}.${sign('sha256', Buffer.from(input), ORG_KEY).toString('base64url')}`;
}

/** The fixture's placeholder times (0) around now, as tests/support/providers.rs sets them. */
function timed(claims) {
  const now = Math.floor(Date.now() / 1000);
  return Object.fromEntries(Object.entries(claims).map(([name, value]) =>
    [name, value === 0 ? (name === 'exp' ? now + 3600 : now - 60) : value]));
}

/** The API's delegated scope added where the provider puts scopes (the attack). */
function withScope(provider, claims) {
  if (provider === 'Okta') return { ...claims, scp: [...(claims.scp ?? []), SCOPE] };
  return { ...claims, scope: `${claims.scope ?? ''} ${SCOPE}`.trim() };
}

/** Each fixture, its origin rewritten to `origin` (the other tenant's own origin is kept). */
function fixtures(origin) {
  return readdirSync(FIXTURES).filter((f) => f.endsWith('.json')).map((file) => {
    const text = readFileSync(new URL(file, FIXTURES), 'utf8');
    const own = new URL(JSON.parse(text).azure_ad.Authority).origin;
    return { file, ...JSON.parse(text.replaceAll(own, origin)) };
  });
}

const publishedKey = { kty: 'RSA', use: 'sig', alg: 'RS256', kid: 'org', n: TEST_KEYS.org.public.n, e: TEST_KEYS.org.public.e };

let server;
let origin;
const routes = new Map();
const workers = [];

before(async () => {
  server = createServer((req, res) => {
    const body = routes.get(req.url);
    res.writeHead(body ? 200 : 404, { 'content-type': 'application/json', connection: 'close' });
    res.end(JSON.stringify(body ?? { error: 'not_found' }));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${server.address().port}`;
});

after(async () => {
  for (const mf of workers) await mf.dispose();
  await new Promise((resolve) => server.close(resolve));
});

/** Serves the fixture's discovery document (or Access's certs) and key set. */
function serve(fixture) {
  const path = (url) => new URL(url).pathname + new URL(url).search;
  if (fixture.discovery_url) {
    // Every token endpoint on this server too (Cognito's is on another host): nothing leaves
    // 127.0.0.1, and the unserved path answers 404.
    routes.set(path(fixture.discovery_url), { ...fixture.discovery, token_endpoint: `${origin}/no-token-endpoint` });
    routes.set(path(fixture.discovery.jwks_uri), { keys: [publishedKey] });
  }
  if (fixture.keys_url) routes.set(path(fixture.keys_url), { keys: [publishedKey] });
}

function worker(fixture) {
  const unreachable = 'http://127.0.0.1:9';
  const config = {
    AzureAd: fixture.azure_ad,
    DownstreamApis: {
      Profile: { BaseUrl: unreachable, Scopes: ['api://profile/read'], RelativePath: 'me', TimeoutMs: 1000 },
      Partner: { BaseUrl: unreachable, Scopes: ['api://partner/read'] },
    },
  };
  const mf = new Miniflare({
    modules: true,
    scriptPath: 'worker-example/build/index.js',
    modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }],
    compatibilityDate: '2025-09-01',
    kvNamespaces: ['TOKEN_CACHE'],
    bindings: { IDENTITY_CONFIG: JSON.stringify(config), ...SECRETS },
  });
  workers.push(mf);
  return mf;
}

async function get(mf, path, token, header = 'authorization') {
  const value = header === 'authorization' ? `Bearer ${token}` : token;
  const response = await mf.dispatchFetch(`http://example${path}`, { headers: { [header]: value } });
  const text = await response.text();
  let code;
  try { code = JSON.parse(text).code; } catch { code = undefined; }
  return { status: response.status, code, text };
}

describe('the example worker with each provider preset, on its documented token shapes', () => {
  for (const name of readdirSync(FIXTURES).filter((f) => f.endsWith('.json'))) {
    test(name, async () => {
      const fixture = fixtures(origin).find((f) => f.file === name);
      serve(fixture);
      const mf = worker(fixture);
      const token = (kind, patch = (c) => c) => {
        const { header, claims } = fixture.tokens[kind];
        return signed(header, patch(timed(claims)));
      };
      // Cloudflare Access hands the token over in its own header.
      const header = fixture.provider === 'CloudflareAccess' ? 'cf-access-jwt-assertion' : 'authorization';
      const what = (kind, got) => `${fixture.provider} ${kind}: ${got.status} ${got.text}`;

      const user = await get(mf, '/api/unknown', token('user'), header);
      assert.equal(user.status, 404, what('user', user));

      for (const kind of Object.keys(fixture.tokens).filter((k) => fixture.tokens[k].expect !== 'ok')) {
        const got = await get(mf, '/api/unknown', token(kind), header);
        assert.equal(got.status, 401, what(kind, got));
        assert.equal(got.code, fixture.tokens[kind].expect, what(kind, got));
      }

      const app = await get(mf, '/api/unknown', token('app'), header);
      assert.equal(app.status, 404, what('app', app));
      const appWithScope = await get(mf, '/api/me', token('app', (c) => withScope(fixture.provider, c)), header);
      assert.equal(appWithScope.status, 403, what('app with the user scope on /api/me', appWithScope));
      assert.equal(appWithScope.code, 'insufficient_scope', what('app with the user scope', appWithScope));

      if (fixture.provider !== 'CloudflareAccess') {
        // The same scope in the user's token passes the requirement: the answer comes from the
        // downstream call (unreachable here), never from authorization.
        const userWithScope = await get(mf, '/api/me', token('user', (c) => withScope(fixture.provider, c)), header);
        assert.ok(![401, 403].includes(userWithScope.status), what('user with the scope on /api/me', userWithScope));
      }
    });
  }
});

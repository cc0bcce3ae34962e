// Issue 22: the Spin example on WASI 0.3, where the host reuses a component instance for request
// after request and for several requests at once (`wasmtime serve` 49: up to 16 at once; Spin 4:
// spin #3328). Concurrent requests in one instance share its caches (key set, verified tokens,
// tokens, single flight) but never a caller's state, and none waits on a future another owns
// (wit-bindgen's runtime would trap on that cross-task wake-up, failing the request). With one
// instance per request (`--max-instance-reuse-count 1`, what Spin 3 did), the key-value store
// still carries keys and tokens.
//
// The identity provider is reached through a counting proxy named as the Authority: it forwards
// everything, points the discovery document's jwks_uri and token_endpoint at itself (the issuer
// stays the provider's), counts each document and token request, and can hold token answers so
// that requests really are in flight together. The component's structured events (Events.Level
// Info, on stderr) say from which tier each token came and whether the verified-token cache
// answered.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startIdentityProvider } from '../e2e/identity-provider.mjs';
import { startDownstreamApi } from '../e2e/downstream-api.mjs';
import { CLIENT_SECRET, appToken, exampleConfig } from '../e2e/example-config.mjs';
import { serve } from './serve.mjs';

const OBO = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

let idp;
let api;
const procs = [];
const dirs = [];
const authorities = [];

/**
 * A proxy in front of `idp`, counting what it forwards. While `gate.close()` holds, token
 * requests wait at the proxy, in arrival order, until `gate.open()` (all of them) or
 * `gate.releaseOne()` (the oldest); `gate.held()` is how many wait.
 */
async function countingAuthority(idp) {
  const counts = { discovery: 0, jwks: 0, byGrant: {} };
  let closed = false;
  const waiting = [];
  const gate = {
    close() { closed = true; },
    open() { closed = false; while (waiting.length) waiting.shift()(); },
    releaseOne() { waiting.shift()?.(); },
    held: () => waiting.length,
  };
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const body = Buffer.concat(chunks);
    const path = req.url;
    if (path.endsWith('/openid-configuration')) counts.discovery += 1;
    if (path === '/jwks') counts.jwks += 1;
    if (req.method === 'POST' && path === '/token') {
      const grant = new URLSearchParams(body.toString()).get('grant_type');
      counts.byGrant[grant] = (counts.byGrant[grant] ?? 0) + 1;
      if (closed) await new Promise((resolve) => waiting.push(resolve));
    }
    // The end-to-end headers a discovery, key-set or token request carries; none hop-by-hop.
    const headers = {};
    for (const name of ['accept', 'authorization', 'content-type', 'client-request-id']) {
      if (req.headers[name]) headers[name] = req.headers[name];
    }
    let answer;
    try {
      answer = await fetch(`${idp.issuer}${path}`, {
        method: req.method, headers, body: ['GET', 'HEAD'].includes(req.method) ? undefined : body,
      });
    } catch (error) {
      res.writeHead(502).end(String(error));
      return;
    }
    let text = await answer.text();
    if (path.endsWith('/openid-configuration')) {
      const doc = JSON.parse(text);
      doc.jwks_uri = doc.jwks_uri.replace(idp.issuer, url);
      doc.token_endpoint = doc.token_endpoint.replace(idp.issuer, url);
      text = JSON.stringify(doc);
    }
    res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
    res.end(text);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return { url, counts, gate, close: () => { server.closeAllConnections(); server.close(); } };
}

/** Resolves once `done()` holds, checked every 5 ms; fails naming `what` after 10 s. */
async function until(what, done) {
  for (let waited = 0; !done(); waited += 5) {
    if (waited > 10_000) throw new Error(`${what} within 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A served component on its own key-value directory and its own counting authority. */
async function fresh(args = []) {
  const authority = await countingAuthority(idp);
  authorities.push(authority);
  const dir = mkdtempSync(join(tmpdir(), 'edge-identity-spin-reuse-'));
  dirs.push(dir);
  const config = exampleConfig({ issuer: authority.url, profileUrl: api.profileUrl, partnerUrl: api.partnerUrl });
  config.Events = { Level: 'Info' };
  // Long enough idle time that the one instance outlives the pauses of a test.
  const served = await serve(config, dir, { args: ['--idle-instance-timeout', '30s', ...args] });
  procs.push(served.proc);
  const call = (method, path, token, body) => fetch(`${served.url}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  // Resolves once `count` events named `name` are out (wasmtime passes lines on after answers).
  const counted = (name, count) => until(`${count} ${name} events`, () => served.events().filter((e) => e.event === name).length >= count);
  return { ...served, authority, call, counted };
}

/**
 * Sends each of `sends` (functions making one request) only once the one before it has been
 * validated (its `request.validated` or `request.refused` event is out): past its CPU-bound
 * part, waiting on I/O or on its own timer, so that they are in flight together, in one
 * instance as far as the host allows. wasmtime serve hands a request to a busy instance only
 * while all its work is waiting; one arriving while the instance runs guest code (another
 * request's answer being read, say) starts another instance (crates/wasi-http handler.rs:
 * `accept_concurrent` is false until the event loop is pending). So the tests below count per
 * instance (each event carries its instance). Resolves to the responses.
 */
async function staggered(s, sends) {
  const decided = () => s.events().filter((e) => e.event === 'request.validated' || e.event === 'request.refused').length;
  const pending = [];
  for (const send of sends) {
    const seen = decided();
    pending.push(send());
    await until('a request validated', () => decided() > seen);
  }
  return Promise.all(pending);
}

/** The events of each instance, by instance number. */
const perInstance = (events) => [...Map.groupBy(events, (e) => e.instance).values()];

const oidOf = (n) => `00000000-0000-4000-8000-0000000052${String(n).padStart(2, '0')}`;

before(async () => {
  idp = await startIdentityProvider({ clientSecret: CLIENT_SECRET });
  api = await startDownstreamApi({ issuer: idp.issuer });
});

after(async () => {
  for (const proc of procs) proc.kill('SIGTERM');
  for (const authority of authorities) authority.close();
  await api?.stop();
  await idp?.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

test('requests at once in one instance share one key-set fetch and one OBO request, and a repeat is taken from the verified-token cache', async () => {
  // Shape: issue 22 ("single flight, the verified-token cache ... start to work there"). Before
  // the port, Spin ran each request in its own instance: twelve at once cost twelve key-set
  // reads from the store and twelve OBO requests.
  const s = await fresh();
  const token = await idp.mint({ claims: { oid: oidOf(1) } });
  // The first request's OBO request is held at the provider until the others are waiting.
  s.authority.gate.close();
  const wave = staggered(s, Array.from({ length: 12 }, () => () => s.call('GET', '/api/me', token)));
  await new Promise((resolve) => setTimeout(resolve, 50));
  s.authority.gate.open();
  const first = await wave;
  for (const response of first) {
    assert.equal(response.status, 200, await response.clone().text());
    assert.equal((await response.json()).oid, oidOf(1));
  }
  await s.counted('token.acquired', 12);
  const acquired = s.events().filter((e) => e.event === 'token.acquired');
  assert.equal(acquired.length, 12);
  const instances = perInstance(acquired);
  // In each instance one OBO request at most (a later instance may find the token in the store);
  // the others joined it on their own timers, or found its answer in memory.
  for (const events of instances) {
    assert.ok(events.filter((e) => e.tier === 'provider').length <= 1, JSON.stringify(events));
    assert.ok(events.slice(1).every((e) => ['coalesced', 'memory'].includes(e.tier)), JSON.stringify(events));
  }
  const fromProvider = acquired.filter((e) => e.tier === 'provider').length;
  assert.equal(s.authority.counts.byGrant[OBO], fromProvider, JSON.stringify(s.authority.counts));
  assert.ok(acquired.some((e) => e.tier === 'coalesced'), 'the others joined the one request on their own timers');
  // One key-set fetch at most in an instance (the store carries it to the others).
  const fetched = s.events().filter((e) => e.event === 'keys.fetched');
  assert.ok(perInstance(fetched).every((events) => events.length === 1), JSON.stringify(fetched));
  assert.equal(s.authority.counts.jwks, fetched.length);
  assert.ok(s.authority.counts.discovery <= fetched.length, JSON.stringify(s.authority.counts));

  const before = s.events().length;
  const seen = new Set(s.events().filter((e) => e.event === 'request.validated').map((e) => e.instance));
  const second = await staggered(s, Array.from({ length: 12 }, () => () => s.call('GET', '/api/me', token)));
  assert.ok(second.every((r) => r.status === 200));
  await s.counted('token.acquired', 24);
  const later = s.events().slice(before);
  const validated = later.filter((e) => e.event === 'request.validated');
  assert.equal(validated.length, 12);
  // An instance that verified the token before answers from its verified-token cache and its
  // memory; only a new instance verifies again and reads the token from the store.
  for (const events of perInstance(later)) {
    const known = seen.has(events[0].instance);
    const checks = events.filter((e) => e.event === 'request.validated');
    assert.ok(checks.slice(known ? 0 : 1).every((e) => e.verified_cache === true), JSON.stringify(checks));
    // (In a new instance a request may also join the first one's read of the store.)
    const tiers = events.filter((e) => e.event === 'token.acquired').map((e) => e.tier);
    const allowed = known ? ['memory'] : ['memory', 'coalesced'];
    assert.ok(tiers.slice(known ? 0 : 1).every((tier) => allowed.includes(tier)), JSON.stringify(tiers));
  }
  assert.ok(validated.filter((e) => seen.has(e.instance)).length > 0, 'some repeats in an instance that verified it');
  assert.equal(s.authority.counts.byGrant[OBO], fromProvider, 'no OBO request for a repeat');
  assert.equal(s.authority.counts.jwks, fetched.length, 'no key-set fetch for a repeat');
});

test('callers at once in one instance each get their own identity and their own OBO token', async () => {
  // Shape: issue 22 ("concurrent requests in one instance share caches but never a caller's
  // state"): eight users, three requests each, interleaved and in flight together.
  const s = await fresh();
  s.authority.gate.close();
  const tokens = await Promise.all(Array.from({ length: 8 }, (_, n) => idp.mint({ claims: { oid: oidOf(10 + n) } })));
  const sent = [];
  for (let round = 0; round < 3; round++) tokens.forEach((token, n) => sent.push({ n, token }));
  const wave = staggered(s, sent.map(({ n, token }) => async () => {
    const response = await s.call('GET', '/api/dashboard', token);
    return { n, status: response.status, body: await response.json() };
  }));
  await new Promise((resolve) => setTimeout(resolve, 50));
  s.authority.gate.open();
  const answers = await wave;
  for (const { n, status, body } of answers) {
    assert.equal(status, 200, JSON.stringify(body));
    assert.deepEqual([body.profile.oid, body.data.items[0].owner], [oidOf(10 + n), oidOf(10 + n)]);
  }
  // One OBO request per user and API (Profile, Partner) in an instance, however many requests
  // each made: what each instance asked the provider for, by user (the request's oid_hash).
  await s.counted('token.acquired', 48);
  const events = s.events();
  const userOf = new Map(events.filter((e) => e.event === 'request.validated').map((e) => [e.correlation_id, e.oid_hash]));
  const fromProvider = events.filter((e) => e.event === 'token.acquired' && e.tier === 'provider');
  for (const acquired of perInstance(fromProvider)) {
    const byUser = Map.groupBy(acquired, (e) => userOf.get(e.correlation_id));
    assert.ok([...byUser.values()].every((calls) => calls.length <= 2), JSON.stringify(acquired));
  }
  assert.equal(s.authority.counts.byGrant[OBO], fromProvider.length, JSON.stringify(s.authority.counts));
  assert.ok(fromProvider.length >= 16, 'each user its own token for each API');
  assert.equal(s.authority.counts.discovery, 1);
});

test('a session bound to one user is refused to another, with both in flight in one instance', async () => {
  // Shape: SECURITY.md ("a session key held by someone else is refused (as not found)"),
  // tests/sessions.rs's a_session_is_continued_only_by_its_owner_and_the_apps_it_names, here
  // with the owner's and the other user's requests interleaved in one reused instance.
  const s = await fresh();
  const alice = await idp.mint({ claims: { oid: oidOf(30) } });
  const bob = await idp.mint({ claims: { oid: oidOf(31) } });
  const started = await s.call('POST', '/api/jobs', alice, { jobId: 'reuse-job-1' });
  assert.equal(started.status, 202, await started.clone().text());
  const { sessionKey } = await started.json();
  assert.equal(sessionKey, 'reuse-job-1');

  const sent = [];
  for (let i = 0; i < 6; i++) {
    sent.push({ who: 'alice', go: () => s.call('POST', `/api/jobs/${sessionKey}/resume`, alice) });
    sent.push({ who: 'bob', go: () => s.call('POST', `/api/jobs/${sessionKey}/resume`, bob) });
    if (i % 2 === 0) sent.push({ who: 'bob-start', go: () => s.call('POST', '/api/jobs', bob, { jobId: sessionKey }) });
  }
  const answers = await staggered(s, sent.map(({ who, go }) => async () => {
    const response = await go();
    return { who, status: response.status, body: await response.text() };
  }));
  for (const { who, status, body } of answers) {
    if (who === 'alice') {
      assert.equal(status, 200, body);
      assert.equal(JSON.parse(body).for, oidOf(30));
    } else {
      assert.equal(status, 404, `${who}: ${body}`);
      assert.equal(JSON.parse(body).error, 'session_not_found');
    }
  }
  assert.equal(s.authority.counts.discovery, 1);
  // The scheduler may continue it; another user may not end it; its owner may.
  const resumed = await s.call('POST', `/api/jobs/${sessionKey}/resume`, await appToken(idp));
  assert.equal(resumed.status, 200, await resumed.clone().text());
  assert.equal((await resumed.json()).for, oidOf(30));
  assert.equal((await s.call('DELETE', `/api/jobs/${sessionKey}`, bob)).status, 204);
  // A user token without the example's scope: the route's own requirement (WebApi::require)
  // answers 403 and writes the refusal, as authorize would.
  const refusals = () => s.events().filter((e) => e.event === 'request.refused');
  const before = refusals().length;
  const unscoped = await s.call('POST', `/api/jobs/${sessionKey}/resume`, await idp.mint({ claims: { oid: oidOf(30), scp: 'other' } }));
  assert.equal(unscoped.status, 403, await unscoped.clone().text());
  await s.counted('request.refused', before + 1);
  const refused = refusals()[before];
  assert.deepEqual([refused.code, refused.status], ['insufficient_scope', 403]);
  assert.equal((await s.call('POST', `/api/jobs/${sessionKey}/resume`, alice)).status, 200, 'still alive');
  assert.equal((await s.call('DELETE', `/api/jobs/${sessionKey}`, alice)).status, 204);
  assert.equal((await s.call('POST', `/api/jobs/${sessionKey}/resume`, alice)).status, 404, 'ended');
});

test('a session ended in one instance is refused at once by another that holds it and its token in memory', async () => {
  // Shape: SECURITY.md ("an ended session is refused by the next request of every isolate or
  // instance that sees the store's write"), wasmtime serve's pool (crates/wasi-http handler.rs:
  // a request waits in one queue for any instance with room, and a new instance is started when
  // none has): with one request at a time per instance, a request held at the provider keeps
  // its instance busy, so the next one lands in another. Instance X starts the session (its
  // record and token in X's memory); Y ends it while X is busy; X then continues it.
  const s = await fresh(['--max-instance-concurrent-reuse-count', '1']);
  const alice = await idp.mint({ claims: { oid: oidOf(50) } });
  // The first `name` event since event number `from`, once wasmtime has passed its line on.
  const eventOf = async (name, from) => {
    const find = () => s.events().slice(from).find((e) => e.event === name);
    await until(name, () => find() !== undefined);
    return find();
  };
  const instanceOf = async (name, from) => (await eventOf(name, from)).instance;
  const started = await s.call('POST', '/api/jobs', alice, { jobId: 'two-instances' });
  assert.equal(started.status, 202, await started.clone().text());
  const x = await instanceOf('session.started', 0);
  let mark = s.events().length;
  const resumed = await s.call('POST', '/api/jobs/two-instances/resume', alice);
  assert.equal(resumed.status, 200, await resumed.clone().text());
  const continued = await eventOf('token.acquired', mark);
  assert.deepEqual([continued.instance, continued.tier], [x, 'memory'], 'X continues it from its memory');

  // X busy: a new user's first request waits at the provider for its OBO token.
  s.authority.gate.close();
  mark = s.events().length;
  const busyX = s.call('GET', '/api/me', await idp.mint({ claims: { oid: oidOf(51) } }));
  await until('the first held request', () => s.authority.gate.held() === 1);
  assert.equal(await instanceOf('request.validated', mark), x);

  // Y ends the session.
  mark = s.events().length;
  assert.equal((await s.call('DELETE', '/api/jobs/two-instances', alice)).status, 204);
  const y = await instanceOf('session.ended', mark);
  assert.notEqual(y, undefined, 'ended');
  assert.notEqual(y, x, 'ended in another instance');

  // Y busy in turn; X free again: the next request can only land in X.
  mark = s.events().length;
  const busyY = s.call('GET', '/api/me', await idp.mint({ claims: { oid: oidOf(52) } }));
  await until('the second held request', () => s.authority.gate.held() === 2);
  assert.equal(await instanceOf('request.validated', mark), y);
  s.authority.gate.releaseOne();
  assert.equal((await busyX).status, 200);

  mark = s.events().length;
  const again = await s.call('POST', '/api/jobs/two-instances/resume', alice);
  assert.equal(await instanceOf('request.validated', mark), x, 'continued in X, which holds the token');
  assert.equal(again.status, 404, await again.clone().text());
  assert.equal((await again.json()).error, 'session_not_found');
  s.authority.gate.open();
  assert.equal((await busyY).status, 200);
});

test('with one instance per request the key-value store carries the key set and the tokens', async () => {
  // Shape: the Spin premise before WASI 0.3 (one instance per request; Spin 3, or a host that
  // does not reuse), still true of any new instance: nothing in memory reaches it.
  const s = await fresh(['--max-instance-reuse-count', '1']);
  const token = await idp.mint({ claims: { oid: oidOf(40) } });
  for (let i = 0; i < 3; i++) assert.equal((await s.call('GET', '/api/me', token)).status, 200);
  await s.counted('token.acquired', 3);
  const acquired = s.events().filter((e) => e.event === 'token.acquired').map((e) => e.tier);
  assert.deepEqual(acquired, ['provider', 'store', 'store']);
  const validated = s.events().filter((e) => e.event === 'request.validated').map((e) => e.verified_cache);
  assert.deepEqual(validated, [false, false, false], 'a new instance verifies again');
  assert.deepEqual([s.authority.counts.discovery, s.authority.counts.jwks, s.authority.counts.byGrant[OBO]], [1, 1, 1]);
});

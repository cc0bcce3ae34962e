// Where the example worker's warm GET /api/me spends its CPU time, from workerd's own sampling
// profiler (V8's, through the inspector protocol), next to the JavaScript baseline worker under
// the same load. Prints the functions with the most self time in each. Not a test and not part
// of `bash bench/run.sh`: run `bash bench/profile.sh` (it builds an example whose wasm keeps its
// function names, so the profile can name Rust functions).
import autocannon from 'autocannon';
import { Miniflare } from 'miniflare';
import { startIdentityProvider } from '../tests/e2e/identity-provider.mjs';
import { startDownstreamApi } from '../tests/e2e/downstream-api.mjs';
import { CLIENT_ID, CLIENT_SECRET, exampleConfig } from '../tests/e2e/example-config.mjs';

const SECONDS = Number(process.env.PROFILE_SECONDS ?? 4);
const TOP = Number(process.env.PROFILE_TOP ?? 25);

/** Sends inspector commands over one WebSocket and answers each with its result. */
async function inspector(port) {
  const targets = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
  const target = targets.find((t) => t.webSocketDebuggerUrl) ?? targets[0];
  const socket = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => { socket.onopen = resolve; socket.onerror = reject; });
  let id = 0;
  const pending = new Map();
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.id && pending.has(message.id)) {
      pending.get(message.id)(message);
      pending.delete(message.id);
    }
  };
  const send = (method, params = {}) => new Promise((resolve) => {
    id += 1;
    pending.set(id, resolve);
    socket.send(JSON.stringify({ id, method, params }));
  });
  return { send, close: () => socket.close() };
}

/** Self time per function (ms) from a V8 CPU profile, largest first. */
function selfTimes(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const counts = new Map();
  for (const sample of profile.samples) counts.set(sample, (counts.get(sample) ?? 0) + 1);
  const total = profile.samples.length;
  const perFunction = new Map();
  for (const [nodeId, count] of counts) {
    const frame = byId.get(nodeId).callFrame;
    const file = frame.url ? frame.url.split('/').pop() : '';
    const name = `${frame.functionName || '(anonymous)'}${file ? ` [${file}]` : ''}`;
    perFunction.set(name, (perFunction.get(name) ?? 0) + count);
  }
  return [...perFunction].sort((a, b) => b[1] - a[1]).map(([name, count]) => ({ name, share: (100 * count) / total }));
}

async function profileUnderLoad(options, url, token) {
  const mf = new Miniflare({ host: '127.0.0.1', port: 0, inspectorPort: 0, compatibilityDate: '2025-09-01', kvNamespaces: ['TOKEN_CACHE'], ...options });
  const base = (await mf.ready).toString().replace(/\/$/, '');
  const inspectorUrl = await mf.getInspectorURL();
  const warm = await fetch(`${base}${url}`, { headers: { authorization: `Bearer ${token}` } });
  if (warm.status !== 200) throw new Error(`warm-up answered ${warm.status}`);
  const session = await inspector(inspectorUrl.port);
  await session.send('Profiler.enable');
  await session.send('Profiler.setSamplingInterval', { interval: 100 });
  await session.send('Profiler.start');
  const result = await autocannon({ url: `${base}${url}`, connections: 20, duration: SECONDS, headers: { authorization: `Bearer ${token}` } });
  const { result: { profile } } = await session.send('Profiler.stop');
  session.close();
  await mf.dispose();
  return { rps: Math.round(result.requests.total / SECONDS), top: selfTimes(profile) };
}

const idp = await startIdentityProvider({ clientSecret: CLIENT_SECRET });
const api = await startDownstreamApi({ issuer: idp.issuer });
const config = exampleConfig({ issuer: idp.issuer, profileUrl: api.profileUrl, partnerUrl: api.partnerUrl });
const token = await idp.mint({});
const runs = {
  'edge-identity example': await profileUnderLoad({
    modules: true, scriptPath: 'worker-example/build/index.js',
    modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }],
    bindings: { IDENTITY_CONFIG: JSON.stringify(config), CLIENT_SECRET, TOKEN_CACHE_KEY: 'bench-token-cache-key-of-at-least-32-chars' },
  }, '/api/me', token),
  'JS baseline': await profileUnderLoad({
    modules: true, scriptPath: 'bench/build/baseline-worker.js',
    bindings: {
      ISSUER: idp.issuer, AUDIENCE: `api://${CLIENT_ID}`, CLIENT_ID, CLIENT_SECRET, TOKEN_ENDPOINT: `${idp.issuer}/token`,
      SCOPE: 'api://profile/read', PROFILE_URL: api.profileUrl, PROXY_TOKEN: 'unused',
    },
  }, '/api/me', token),
};
await api.stop();
await idp.stop();
for (const [name, run] of Object.entries(runs)) {
  console.log(`\n${name}: ${run.rps} req/s under profiling; self time, share of samples in workerd's isolate`);
  console.table(run.top.slice(0, TOP).map((r) => ({ function: r.name.slice(0, 110), '%': r.share.toFixed(1) })));
}

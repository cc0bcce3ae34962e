// `wasmtime serve` of the composed Spin example (target/spin-e2e/composed.wasm: the component and
// the test-only host shim, built by scripts/toolchain.sh's build_spin_component), shared by the
// Spin suites. WASMTIME points at wasmtime 49, which serves WASI 0.3 components and reuses their
// instances (up to 128 requests, 16 at once, 1 s idle by default; `args` may change that).
import { spawn } from 'node:child_process';
import { CLIENT_SECRET } from '../e2e/example-config.mjs';
import { freePort } from '../e2e/free-port.mjs';

const WASMTIME = process.env.WASMTIME ?? 'wasmtime';
export const TOKEN_CACHE_KEY = 'spin-e2e-token-cache-key-of-32-characters';

/**
 * Serves the component with `config` (IDENTITY_CONFIG) and the key-value directory `dir` on a
 * free port, once it answers. Returns `{ url, proc, events }`: `events()` is every structured
 * event line (JSON with `"source": "edge-identity"`) the component has written to stderr so far,
 * each with `instance`: the number in wasmtime's `stderr [N] ::` prefix, which names the
 * instance that wrote it (wasmtime numbers a store, and so an instance, by the request that
 * made it).
 * `component` serves another build (bench/spin.mjs: the revision before WASI 0.3).
 */
export async function serve(config, dir, { sealed = true, args = [], component = 'target/spin-e2e/composed.wasm' } = {}) {
  const port = await freePort();
  const proc = spawn(WASMTIME, [
    'serve', '--addr', `127.0.0.1:${port}`, '-S', 'cli=y', '--dir', `${dir}::/kv`, ...args,
    '--env', `SPIN_VARIABLE_IDENTITY_CONFIG=${JSON.stringify(config)}`,
    '--env', `SPIN_VARIABLE_CLIENT_SECRET=${CLIENT_SECRET}`,
    ...(sealed ? ['--env', `SPIN_VARIABLE_TOKEN_CACHE_KEY=${TOKEN_CACHE_KEY}`] : []),
    component,
  ], { stdio: ['ignore', 'inherit', 'pipe'] });
  const lines = [];
  let partial = '';
  proc.stderr.on('data', (chunk) => {
    process.stderr.write(chunk);
    const text = partial + chunk.toString();
    const complete = text.split('\n');
    partial = complete.pop();
    for (const line of complete) {
      // wasmtime prefixes what the guest writes (`stderr [0] :: ...`).
      const json = line.slice(line.indexOf('{'));
      const instance = /^stderr \[(\d+)\] :: /.exec(line)?.[1];
      try {
        const event = JSON.parse(json);
        if (event.source === 'edge-identity') lines.push({ ...event, instance: instance === undefined ? undefined : Number(instance) });
      } catch {
        // not an event line
      }
    }
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (i > 200) throw new Error('wasmtime serve did not answer');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { url, proc, events: () => [...lines] };
}

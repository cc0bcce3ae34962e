// The largest contributors to a wasm file's size, by crate: twiggy's per-item sizes (from the
// name section of the pre-wasm-bindgen build) summed by the first path segment of each
// demangled name. Used by bench/run.mjs when twiggy is installed.
import { execFileSync } from 'node:child_process';

const bucket = (name) => {
  const clean = name.replace(/^<|^_?\$?LT\$/, '').replace(/^(impl |dyn |&mut |&)/, '');
  if (/^data\[/.test(name) || name.startsWith('data segment')) return '(data segments)';
  if (/^(code|type|import|export|table|elem|custom|global|memory)/.test(name) && !name.includes('::')) return `(${name.split(/[\s[]/)[0]})`;
  const crate = clean.split('::')[0].replace(/[<>&\s]/g, '').replace(/\[[0-9a-f]+\]$/, '');
  return crate || '(other)';
};

export function contributors(twiggy, wasm, top = 10) {
  const json = execFileSync(twiggy, ['top', '-n', '1000000', '--format', 'json', wasm], { maxBuffer: 1 << 28 }).toString();
  // Sections wasm-bindgen strips before upload (names, its custom section, describe exports)
  // are not what a user ships: leave them out.
  const shipped = (name) => !/^"function names"|^custom section|^export /.test(name) && !name.includes('__wbindgen_describe');
  const items = JSON.parse(json).filter((item) => shipped(item.name));
  const total = items.reduce((sum, item) => sum + item.shallow_size, 0);
  const byCrate = new Map();
  for (const item of items) byCrate.set(bucket(item.name), (byCrate.get(bucket(item.name)) ?? 0) + item.shallow_size);
  return {
    total,
    top: [...byCrate.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)
      .map(([crate, bytes]) => ({ crate, bytes, share: bytes / total })),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.table(contributors(process.argv[2], process.argv[3]).top);
}

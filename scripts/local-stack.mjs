// The local stack behind `bash scripts/dev.sh`: the identity provider and the downstream API
// (tests/e2e/) on free 127.0.0.1 ports, and `wrangler dev` running the example worker with local
// KV. Prints a ready-to-paste curl with a freshly minted user token; Ctrl-C stops everything
// (wrangler by its process group's PID, the servers in-process).
//
// With `--entra` the identity provider runs in its Entra-shaped mode and the worker is configured
// as a Microsoft.Identity.Web user configures an API (`Instance` + `TenantId`, no `Audience`): it
// then accepts v1.0 and v2.0 access tokens, as Entra issues them, and the printed curls use both.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { freePort } from '../tests/e2e/free-port.mjs';
import { startIdentityProvider } from '../tests/e2e/identity-provider.mjs';
import { startDownstreamApi } from '../tests/e2e/downstream-api.mjs';
import { CLIENT_SECRET, entraExampleConfig, exampleConfig } from '../tests/e2e/example-config.mjs';

const entra = process.argv.includes('--entra');
const idp = await startIdentityProvider({ clientSecret: CLIENT_SECRET, entra });
const api = await startDownstreamApi({ issuer: idp.tokenIssuer, jwksUrl: idp.jwksUrl });
const port = Number(process.env.PORT ?? await freePort());
const inspectorPort = await freePort();
const config = {
  ...(entra
    ? entraExampleConfig({ instance: idp.instance, tenant: idp.tenant, profileUrl: api.profileUrl, partnerUrl: api.partnerUrl })
    : exampleConfig({ issuer: idp.issuer, profileUrl: api.profileUrl, partnerUrl: api.partnerUrl })),
  // Every decision of the curls below as a JSON line in this terminal (README, "Operating it").
  Events: { Level: 'Info' },
};

// Local secrets, as `wrangler secret put` would hold them in production (.dev.vars is ignored by git).
writeFileSync('.dev.vars', `CLIENT_SECRET=${CLIENT_SECRET}\nTOKEN_CACHE_KEY=${randomBytes(32).toString('base64')}\n`);

const wrangler = spawn('npx', [
  'wrangler', 'dev', '--ip', '127.0.0.1', '--port', String(port),
  '--inspector-ip', '127.0.0.1', '--inspector-port', String(inspectorPort),
  '--persist-to', '.wrangler/state',
  '--var', `IDENTITY_CONFIG:${JSON.stringify(config)}`,
], {
  detached: true,
  stdio: ['ignore', 'inherit', 'inherit'],
  env: {
    ...process.env,
    CLOUDFLARE_CF_FETCH_ENABLED: 'false',
    WRANGLER_SEND_METRICS: 'false',
    WRANGLER_SEND_ERROR_REPORTS: 'false',
  },
});

let stopping = false;
async function stop(code) {
  if (stopping) return;
  stopping = true;
  try {
    process.kill(-wrangler.pid, 'SIGTERM');
  } catch {
    // already gone
  }
  await api.stop();
  await idp.stop();
  process.exit(code);
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));
wrangler.on('exit', (code) => {
  if (!stopping) {
    console.error(`wrangler dev exited (${code}); stopping the local stack`);
    stop(1);
  }
});

const base = `http://127.0.0.1:${port}`;
const deadline = Date.now() + 240_000;
for (;;) {
  try {
    if ((await fetch(`${base}/healthz`)).ok) break;
  } catch {
    // not up yet
  }
  if (Date.now() > deadline) {
    console.error('the worker did not answer within 4 minutes');
    await stop(1);
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
}

const token = await idp.mint({});
// Every command is printed on a line of its own and every note as a `#` comment, so a
// newcomer can paste any line, or all of them, into a shell.
const v1 = entra
  ? `  # a v1.0 token:\n  curl -s ${base}/api/me -H "Authorization: Bearer ${await idp.mint({ version: 1 })}"\n`
  : '';
console.log(`
edge-identity local stack is up${entra ? ` (Entra-shaped: Instance ${idp.instance}, TenantId ${idp.tenant})` : ''}:
  worker             ${base}
  identity provider  ${idp.issuer}
  downstream API     ${api.base}

  # mint a token${entra ? ` (a v1.0 one: -d '{"version": 1}')` : ''}:
  curl -s -X POST ${idp.issuer}/__mint -H 'content-type: application/json' -d '{}'
  # what the downstream API saw:
  curl -s ${api.base}/__seen

  # try it (the tokens are valid for an hour):
  curl -s ${base}/api/me -H "Authorization: Bearer ${token}"
${v1}  curl -s ${base}/api/dashboard -H "Authorization: Bearer ${token}"

Ctrl-C stops everything.
`);

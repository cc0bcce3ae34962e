// oidc-provider (tests/e2e/oidc-provider.mjs: a real, OpenID Certified authorization server on
// 127.0.0.1) as a child process for the Rust tests, with the protocol of tests/e2e/oidc-server.mjs
// and tests/support/node_server.rs: it prints ONE JSON line when ready
//   {"issuer", "tokenEndpoint", "jwksUri", "apiResource", "downstreamResource", "clients",
//    "tokens": {"user", "app", "idToken", "otherAudience"}}
// and runs until its stdin closes. Tokens, all issued by oidc-provider itself:
//   user           a user's RFC 9068 access token for apiResource (real code flow, client
//                  `clients.api`), scope access_as_user
//   app            client credentials of `clients.post` for apiResource, scope access_as_user
//                  (sub = client_id: no user)
//   idToken        the ID token of a code flow by `clients.post` (aud = its client id)
//   otherAudience  a user's access token for downstreamResource (scope read)
//   dpopBound      client credentials of `clients.post` with a DPoP proof: bound to the proof's
//                  key (`cnf.jkt`), as RFC 9449 issues it
// Commands, one per stdin line:
//   rotate         restarts the server on the same port with a new signing key and prints one
//                  JSON line {"rotated": true, "kid", "tokens": {"user": <a user token signed by it>}}
//
// `clients.privateKeyJwt.pemBundle` is the PEM text (PKCS#8 key + self-signed certificate) for
// `ClientCredentials: [{"SourceType": "Base64Encoded", "Base64EncodedValue": base64(pemBundle)}]`.
import { createInterface } from 'node:readline';
import { startOidcProvider } from './oidc-provider.mjs';

// The reader of our stdout may be gone (a test that stopped reading): no crash on EPIPE.
process.stdout.on('error', (error) => {
  if (error.code !== 'EPIPE') throw error;
});
const print = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);

const op = await startOidcProvider({ port: Number(process.env.EDGE_IDENTITY_OIDC_PROVIDER_PORT ?? 0) });
const userToken = () => op.mintUser({ sub: 'user-1' });

print({
  issuer: op.issuer,
  tokenEndpoint: op.tokenEndpoint,
  jwksUri: op.jwksUri,
  apiResource: op.apiResource,
  downstreamResource: op.downstreamResource,
  clients: op.clients,
  tokens: {
    user: await userToken(),
    app: await op.appToken(op.clients.post),
    idToken: await op.mintIdToken({ sub: 'user-1', clientId: op.clients.post.id }),
    otherAudience: await op.mintUser({ sub: 'user-1', scope: 'read', resource: op.downstreamResource }),
    dpopBound: await op.appToken(op.clients.post, { dpop: true }),
  },
});

// Commands are handled one at a time, in order.
let pending = Promise.resolve();
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  pending = pending.then(async () => {
    const command = line.trim();
    if (command === 'rotate') {
      const kid = await op.rotateKeys();
      print({ rotated: true, kid, tokens: { user: await userToken() } });
    } else if (command) {
      print({ error: `unknown command ${command}` });
    }
  });
});
lines.on('close', async () => {
  await pending.catch(() => {});
  await op.close();
  process.exit(0);
});

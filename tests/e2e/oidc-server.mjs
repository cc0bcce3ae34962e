// A real third-party OpenID Connect server (npm oauth2-mock-server) on 127.0.0.1, for the tests.
// Generates an RS256 key, serves discovery and JWKS, prints one JSON line
// {"issuer": ..., "tokens": {...}} with tokens it signed, and runs until its stdin closes.
import { OAuth2Server } from 'oauth2-mock-server';

const server = new OAuth2Server();
await server.issuer.keys.generate('RS256');
await server.start(0, '127.0.0.1');
// Advertise the address it really listens on (it would say localhost).
server.issuer.url = `http://127.0.0.1:${server.address().port}`;

const audience = process.env.EDGE_IDENTITY_TEST_AUDIENCE ?? 'edge-api';
const claims = (extra) => (_header, payload) =>
  Object.assign(payload, { aud: audience, scp: 'access_as_user', sub: 'user-1' }, extra);

const tokens = {
  valid: await server.issuer.buildToken({ scopesOrTransform: claims({}) }),
  expired: await server.issuer.buildToken({ scopesOrTransform: claims({}), expiresIn: -3600 }),
  wrongAudience: await server.issuer.buildToken({ scopesOrTransform: claims({ aud: 'someone-else' }) }),
  noScope: await server.issuer.buildToken({ scopesOrTransform: claims({ scp: undefined }) }),
};
process.stdout.write(JSON.stringify({ issuer: server.issuer.url, tokens }) + '\n');

process.stdin.resume();
process.stdin.on('end', async () => {
  await server.stop();
  process.exit(0);
});

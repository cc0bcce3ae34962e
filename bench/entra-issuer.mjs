// The benchmarks' issuer: an Entra tenant served on 127.0.0.1 at the paths Entra uses
// (discovery at `{instance}{tenant}/v2.0/.well-known/openid-configuration`, keys at
// `…/discovery/v2.0/keys`), RS256 keys of 2048 bits, and one realistic Entra v2.0 access token
// (its thirty-odd claims, ~1.5 KB) signed by the first key. Shared by bench/run.mjs and
// bench/ab-validation.mjs, so both measure the same token.
import { createServer } from 'node:http';
import { createSign, generateKeyPairSync, randomUUID } from 'node:crypto';

export const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
export const CLIENT_ID = '6e74172b-be56-4843-9ff4-e66a39bb12e3';
export const AUDIENCE = `api://${CLIENT_ID}`;

/** Starts the issuer with keys `kids`; returns its URLs, key set, token and the SDK's config. */
export async function startEntraIssuer(kids = ['key-1', 'key-2']) {
  const keys = kids.map((kid) => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    return { kid, privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' } };
  });
  const jwks = { keys: keys.map((k) => k.jwk) };
  const server = createServer((req, res) => {
    const body = req.url === `/${TENANT}/v2.0/.well-known/openid-configuration`
      ? { issuer, jwks_uri: jwksUri, token_endpoint: `${instance}${TENANT}/oauth2/v2.0/token` }
      : jwks;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const instance = `http://127.0.0.1:${server.address().port}/`;
  const issuer = `${instance}${TENANT}/v2.0`;
  const jwksUri = `${instance}${TENANT}/discovery/v2.0/keys`;
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    aud: AUDIENCE, iss: issuer, iat: now - 60, nbf: now - 60, exp: now + 3600,
    aio: 'AWQAm/8ZAAAA' + 'x'.repeat(60), azp: '1950a258-227b-4e31-a9cf-717495945fc2', azpacr: '0',
    name: 'Ada Lovelace', oid: 'a1b2c3d4-0000-4000-8000-000000000001', preferred_username: 'ada@contoso.example',
    rh: '0.AXEAv4j5cvGGr0GRqy180BHbR' + 'y'.repeat(20), scp: 'access_as_user User.Read',
    sub: 'x8nS1nCq1ckT8YwKpJ1uGcZb9uL3H2uB8oZk1e4oYyM', tid: TENANT,
    uti: randomUUID().replace(/-/g, ''), ver: '2.0', xms_tcdt: 1289241547, wids: ['b79fbf4d-3ef9-4689-8143-76b194e85509'],
    idtyp: 'user', acct: 0, ipaddr: '203.0.113.7', family_name: 'Lovelace', given_name: 'Ada',
  };
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const input = `${b64({ typ: 'JWT', alg: 'RS256', kid: keys[0].kid })}.${b64(claims)}`;
  const token = `${input}.${createSign('RSA-SHA256').update(input).sign(keys[0].privateKey).toString('base64url')}`;
  const identityConfig = JSON.stringify({ AzureAd: { Instance: instance, TenantId: TENANT, ClientId: CLIENT_ID, Audience: AUDIENCE } });
  return { server, instance, issuer, jwksUri, jwks, keys, token, identityConfig, audience: AUDIENCE };
}

// A local identity provider for integration and end-to-end tests: npm oauth2-mock-server (a real
// third-party OIDC server) on 127.0.0.1, shaped like Entra ID, with the checks the mock lacks.
//
// - User tokens are Entra-shaped: iss, tid, oid, sub, scp, ver "2.0", azp, aud = the API.
// - The on-behalf-of grant (jwt-bearer, requested_token_use=on_behalf_of) is checked: the client
//   must authenticate with its secret, the assertion must carry this server's valid RS256
//   signature, be unexpired, and be addressed to the client (aud = the API). Failures answer as
//   Entra does (invalid_client AADSTS7000215, invalid_grant AADSTS50013 / AADSTS500133).
// - The issued token is for the requested scope's resource (scope "api://partner/read" gives
//   aud "api://partner", scp "read") and keeps the caller's oid, tid and sub.
// - With offline_access the answer carries a refresh token; the refresh_token grant continues
//   as the same user. client_credentials gives app tokens with roles.
// - Test routes: GET /__stats (token requests by grant), POST /__mint (a user token; JSON body
//   with optional claims and expiresIn), POST /__script (queue the next token answers).
//
// Run directly, it prints one JSON line {"issuer", "tenant", "port"} and runs until stdin closes.
import { randomUUID } from 'node:crypto';
import { OAuth2Server } from 'oauth2-mock-server';
import { checkJwt } from './jwt.mjs';

export const TENANT = '9188040d-6c67-4c5b-b112-36a304b66dad';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';


export async function startIdentityProvider({
  clientId = 'edge-api',
  clientSecret = 'local-dev-secret',
  apiAudience = `api://${clientId}`,
  port = 0,
} = {}) {
  const server = new OAuth2Server();
  await server.issuer.keys.generate('RS256');
  await server.start(port, '127.0.0.1');
  server.issuer.url = `http://127.0.0.1:${server.address().port}`;
  const issuer = server.issuer.url;

  const stats = { tokenRequests: 0, byGrant: {}, refused: 0 };
  const refreshTokens = new Map(); // refresh token -> user claims
  const scripted = []; // queued {status, body} answers

  /** Verifies one of this server's RS256 tokens; returns its claims or a reason. */
  const checkOwnToken = (jwt) => checkJwt(jwt, server.issuer.keys.toJSON(), issuer);

  const userClaims = (c) => ({ oid: c.oid, tid: c.tid, sub: c.sub, name: c.name });
  const resourceOf = (scope) => {
    const first = (scope ?? '').split(' ').find((s) => s && s !== 'offline_access') ?? '';
    const cut = first.lastIndexOf('/');
    return cut > 0 ? { aud: first.slice(0, cut), scp: first.slice(cut + 1) } : { aud: first, scp: first };
  };
  const scopeNames = (scope) => (scope ?? '').split(' ')
    .filter((s) => s && s !== 'offline_access').map((s) => s.slice(s.lastIndexOf('/') + 1)).join(' ');

  server.service.on('beforeTokenSigning', (token, req) => {
    const body = req.body ?? {};
    if (!('scope' in token.payload)) return; // the id_token of a refresh answer
    const { aud } = resourceOf(body.scope);
    let user = {};
    if (body.grant_type === JWT_BEARER) user = userClaims(checkOwnToken(body.assertion).claims ?? {});
    if (body.grant_type === 'refresh_token') user = refreshTokens.get(body.refresh_token) ?? {};
    Object.assign(token.payload, { aud, ver: '2.0', azp: clientId, tid: TENANT });
    if (body.grant_type === 'client_credentials') {
      Object.assign(token.payload, { roles: ['Jobs.Resume'], oid: 'app-oid', sub: 'app-oid', idtyp: 'app' });
    } else {
      Object.assign(token.payload, user, { scp: scopeNames(body.scope) });
    }
    delete token.payload.scope;
    delete token.payload.client_id;
  });

  server.service.on('beforeResponse', (response, req) => {
    const body = req.body ?? {};
    stats.tokenRequests += 1;
    stats.byGrant[body.grant_type] = (stats.byGrant[body.grant_type] ?? 0) + 1;
    const refuse = (status, error, code, description) => {
      stats.refused += 1;
      response.statusCode = status;
      response.body = { error, error_description: `AADSTS${code}: ${description}`, error_codes: [code],
        trace_id: randomUUID(), correlation_id: req.headers['client-request-id'] ?? randomUUID() };
    };
    if (scripted.length > 0) {
      const next = scripted.shift();
      response.statusCode = next.status;
      response.body = next.body;
      return;
    }
    if (body.client_id !== clientId || body.client_secret !== clientSecret) {
      return refuse(401, 'invalid_client', 7000215, 'Invalid client secret provided.');
    }
    delete response.body.id_token;
    if (body.grant_type === JWT_BEARER) {
      if (body.requested_token_use !== 'on_behalf_of') {
        return refuse(400, 'invalid_request', 900144, "requested_token_use must be 'on_behalf_of'.");
      }
      const { claims, reason } = checkOwnToken(body.assertion);
      if (reason === 'expired') return refuse(400, 'invalid_grant', 500133, 'Assertion is not within its valid time range.');
      if (reason) return refuse(400, 'invalid_grant', 50013, `Assertion failed signature validation: ${reason}.`);
      if (claims.aud !== apiAudience && claims.aud !== clientId) {
        return refuse(400, 'invalid_grant', 50013, 'Assertion audience does not match the client.');
      }
      delete response.body.refresh_token;
      if ((body.scope ?? '').split(' ').includes('offline_access')) {
        const refreshToken = randomUUID();
        refreshTokens.set(refreshToken, userClaims(claims));
        response.body.refresh_token = refreshToken;
      }
    } else if (body.grant_type === 'refresh_token') {
      const user = refreshTokens.get(body.refresh_token);
      if (!user) return refuse(400, 'invalid_grant', 70043, 'The refresh token has expired or is invalid.');
      // Rotate, as Entra may: the old refresh token keeps working, the new one is returned.
      const rotated = randomUUID();
      refreshTokens.set(rotated, user);
      response.body.refresh_token = rotated;
    } else if (body.grant_type !== 'client_credentials') {
      return refuse(400, 'unsupported_grant_type', 70003, 'The grant type is not supported here.');
    }
    response.body.scope = body.scope;
  });

  const sendJson = (res, status, value) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(value));
  };
  server.service.addRoute('GET', '/__stats', (_req, res) => sendJson(res, 200, stats));
  server.service.addRoute('POST', '/__script', (req, res) => {
    for (const answer of req.body?.answers ?? []) scripted.push(answer);
    sendJson(res, 200, { queued: scripted.length });
  });
  server.service.addRoute('POST', '/__mint', async (req, res) => {
    sendJson(res, 200, { token: await mint(req.body ?? {}) });
  });

  /** A user token for the API, Entra-shaped; `claims` override, `expiresIn` in seconds. */
  async function mint({ claims = {}, expiresIn = 3600 } = {}) {
    return server.issuer.buildToken({
      expiresIn,
      scopesOrTransform: (_header, payload) => Object.assign(payload, {
        aud: apiAudience, tid: TENANT, oid: '00000000-0000-4000-8000-00000000a11c',
        sub: 'alice-subject', name: 'Alice', scp: 'access_as_user', ver: '2.0', azp: 'spa-client-id',
      }, claims),
    });
  }

  return {
    issuer,
    tenant: TENANT,
    port: server.address().port,
    stats,
    mint,
    stop: () => server.stop(),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const idp = await startIdentityProvider({
    clientId: process.env.EDGE_IDENTITY_CLIENT_ID ?? 'edge-api',
    clientSecret: process.env.EDGE_IDENTITY_CLIENT_SECRET ?? 'local-dev-secret',
    port: Number(process.env.EDGE_IDENTITY_IDP_PORT ?? 0),
  });
  process.stdout.write(JSON.stringify({ issuer: idp.issuer, tenant: idp.tenant, port: idp.port }) + '\n');
  process.stdin.resume();
  process.stdin.on('end', async () => {
    await idp.stop();
    process.exit(0);
  });
}

// A local downstream API for the example worker, on 127.0.0.1. It serves two APIs:
//   /profile/me                      (audience api://profile)  -> the caller's profile
//   /partner/api/data                (audience api://partner)  -> some data
//   /partner/api/process             (POST)                    -> echoes the job
//   /partner/api/process/complete    (POST)                    -> marks it complete
// and checks every bearer token it receives as a real API would: the identity provider's RS256
// signature (keys from its JWKS, fetched again once for an unknown `kid`: a rotated key), issuer,
// lifetime, and the audience of the API called. It records who each call was for (oid, sub,
// scp / scope, roles, azp / client_id) so tests can check the token was obtained on behalf of
// the same user.
//
// Test routes: GET /__seen (recorded calls), POST /__behave {path, status, delayMs,
// wwwAuthenticate, times} (make the next `times` calls to `path` answer `status`, with that
// `WWW-Authenticate` challenge, or wait `delayMs`), POST /__reset.
import { createServer } from 'node:http';
import { checkJwt } from './jwt.mjs';

const AUDIENCES = { profile: 'api://profile', partner: 'api://partner' };

export async function startDownstreamApi({ issuer, jwksUrl = `${issuer}/jwks`, port = 0 }) {
  const seen = [];
  let behaviours = [];
  let keys = null;

  async function jwks({ refresh = false } = {}) {
    if (!keys || refresh) {
      const response = await fetch(jwksUrl);
      keys = (await response.json()).keys;
    }
    return keys;
  }

  /** The token's claims if it is valid for `audience`, else a reason. */
  async function check(authorization, audience) {
    const match = /^Bearer ([A-Za-z0-9_\-.]+)$/.exec(authorization ?? '');
    if (!match) return { reason: 'no bearer token' };
    let { claims, reason } = checkJwt(match[1], await jwks(), issuer);
    // A key the issuer rotated in since the set was fetched: fetch it again, once.
    if (reason === 'unknown key') ({ claims, reason } = checkJwt(match[1], await jwks({ refresh: true }), issuer));
    if (reason) return { reason };
    if (claims.aud !== audience) return { reason: `wrong audience ${claims.aud}` };
    return { claims };
  }

  const send = (res, status, body) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  const readBody = (req) => new Promise((resolve) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        resolve(text ? JSON.parse(text) : null);
      } catch {
        resolve(undefined);
      }
    });
  });

  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://localhost');
    const body = await readBody(req);
    if (url.pathname === '/__seen') return send(res, 200, seen);
    if (url.pathname === '/__reset') {
      seen.length = 0;
      behaviours = [];
      return send(res, 200, {});
    }
    if (url.pathname === '/__behave') {
      behaviours.push({ ...body, times: body?.times ?? 1 });
      return send(res, 200, {});
    }
    const api = url.pathname.split('/')[1];
    const audience = AUDIENCES[api];
    if (!audience) return send(res, 404, { error: 'no such API' });
    const { claims, reason } = await check(req.headers.authorization, audience);
    if (reason) {
      seen.push({ path: url.pathname, refused: reason });
      res.writeHead(401, { 'www-authenticate': `Bearer error="invalid_token", error_description="${reason}"` });
      return res.end();
    }
    seen.push({ path: url.pathname, method: req.method, oid: claims.oid, scp: claims.scp, roles: claims.roles,
      azp: claims.azp, aud: claims.aud, sub: claims.sub, clientId: claims.client_id, scope: claims.scope, correlationId: req.headers['x-correlation-id'] ?? null,
      traceparent: req.headers.traceparent ?? null, body });
    const behaviour = behaviours.find((b) => b.path === url.pathname && b.times > 0);
    if (behaviour) {
      behaviour.times -= 1;
      if (behaviour.delayMs) await new Promise((resolve) => setTimeout(resolve, behaviour.delayMs));
      if (behaviour.wwwAuthenticate) {
        res.writeHead(behaviour.status ?? 401, { 'www-authenticate': behaviour.wwwAuthenticate });
        return res.end();
      }
      if (behaviour.status) return send(res, behaviour.status, { error: `scripted ${behaviour.status}` });
    }
    const route = `${req.method} ${url.pathname}`;
    switch (route) {
      case 'GET /profile/me':
        return send(res, 200, { oid: claims.oid, sub: claims.sub, name: claims.name ?? null, scp: claims.scp });
      case 'GET /partner/api/data':
        return send(res, 200, { items: [{ id: 1, owner: claims.oid }, { id: 2, owner: claims.oid }] });
      case 'POST /partner/api/process':
        return send(res, 200, { processed: true, for: claims.oid, job: body });
      case 'POST /partner/api/process/complete':
        return send(res, 200, { completed: true, for: claims.oid, job: body });
      default:
        return send(res, 404, { error: 'no such route' });
    }
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  return {
    base,
    profileUrl: `${base}/profile`,
    partnerUrl: `${base}/partner`,
    seen,
    stop: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(resolve);
    }),
  };
}

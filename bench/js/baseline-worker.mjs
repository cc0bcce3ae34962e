// Benchmark only: the JavaScript baseline for the end-to-end path, doing by hand what the
// example worker's GET /api/me does with the SDK: validate with jose (remote JWKS), exchange the
// token on behalf of the user (OBO, client secret), cache the result in memory and Workers KV,
// call the downstream API. No single flight, no sealing. GET /proxy only forwards a downstream
// call with a fixed token: the floor for "a worker that calls the API".
import { createRemoteJWKSet, jwtVerify } from 'jose';

let jwks;
const memory = new Map();

const hex = (buffer) => [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, '0')).join('');

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === '/proxy') {
      const r = await fetch(`${env.PROFILE_URL}/me`, { headers: { authorization: `Bearer ${env.PROXY_TOKEN}` } });
      return new Response(await r.text(), { status: r.status, headers: { 'content-type': 'application/json' } });
    }
    const match = /^Bearer (.+)$/.exec(request.headers.get('authorization') ?? '');
    if (!match) return new Response('{"error":"invalid_token"}', { status: 401 });
    jwks ??= createRemoteJWKSet(new URL(`${env.ISSUER}/jwks`));
    let claims;
    try {
      ({ payload: claims } = await jwtVerify(match[1], jwks, { issuer: env.ISSUER, audience: env.AUDIENCE }));
    } catch {
      return new Response('{"error":"invalid_token"}', { status: 401 });
    }
    if (!String(claims.scp ?? '').split(' ').includes('access_as_user')) {
      return new Response('{"error":"insufficient_scope"}', { status: 403 });
    }
    const now = Date.now() / 1000;
    const key = `obo:${hex(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`${match[1]}|${env.SCOPE}`)))}`;
    let cached = memory.get(key);
    if (!cached || cached.exp < now + 300) {
      cached = await env.TOKEN_CACHE.get(key, 'json');
      if (cached && cached.exp < now + 300) cached = null;
    }
    if (!cached) {
      const r = await fetch(env.TOKEN_ENDPOINT, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', client_id: env.CLIENT_ID,
          client_secret: env.CLIENT_SECRET, assertion: match[1], scope: env.SCOPE, requested_token_use: 'on_behalf_of',
        }),
      });
      if (!r.ok) return new Response('{"error":"temporarily_unavailable"}', { status: 503 });
      const answer = await r.json();
      cached = { token: answer.access_token, exp: now + answer.expires_in };
      await env.TOKEN_CACHE.put(key, JSON.stringify(cached), { expirationTtl: Math.max(60, answer.expires_in - 300) });
    }
    memory.set(key, cached);
    const r = await fetch(`${env.PROFILE_URL}/me`, { headers: { authorization: `Bearer ${cached.token}` } });
    return new Response(await r.text(), { status: r.status === 200 ? 200 : 502, headers: { 'content-type': 'application/json' } });
  },
};

// Benchmark only: the JavaScript baselines for token validation, in a Worker bundled with
// esbuild. Each route validates the token in the Authorization header K times per request:
//   /jose-key    jose jwtVerify with a key imported once (importJWK)
//   /jose-jwks   jose jwtVerify with createLocalJWKSet over the two-key JWKS
//   /jose-remote jose jwtVerify with createRemoteJWKSet (fetches JWKS_URL on first use)
//   /subtle      the floor: crypto.subtle.verify alone on the token's signing input
//   /empty       nothing (the per-request overhead to subtract)
import { createLocalJWKSet, createRemoteJWKSet, importJWK, jwtVerify } from 'jose';

let state;

async function setup(env) {
  if (state) return state;
  const jwks = JSON.parse(env.JWKS);
  const options = { issuer: env.ISSUER, audience: env.AUDIENCE, algorithms: ['RS256'] };
  const jwk = jwks.keys[0];
  state = {
    options,
    joseKey: await importJWK(jwk, 'RS256'),
    localSet: createLocalJWKSet(jwks),
    remoteSet: createRemoteJWKSet(new URL(env.JWKS_URL)),
    subtleKey: await crypto.subtle.importKey('jwk', jwk, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['verify']),
  };
  return state;
}

const b64url = (text) => Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const k = Number(url.searchParams.get('k') ?? '1');
    const s = await setup(env);
    const token = (request.headers.get('authorization') ?? '').replace(/^Bearer /, '');
    let passed = 0;
    switch (url.pathname) {
      case '/jose-key':
        for (let i = 0; i < k; i++) {
          try { await jwtVerify(token, s.joseKey, s.options); passed++; } catch { /* counted */ }
        }
        break;
      case '/jose-jwks':
        for (let i = 0; i < k; i++) {
          try { await jwtVerify(token, s.localSet, s.options); passed++; } catch { /* counted */ }
        }
        break;
      case '/jose-remote':
        for (let i = 0; i < k; i++) {
          try { await jwtVerify(token, s.remoteSet, s.options); passed++; } catch { /* counted */ }
        }
        break;
      case '/subtle': {
        const cut = token.lastIndexOf('.');
        const data = new TextEncoder().encode(token.slice(0, cut));
        const signature = b64url(token.slice(cut + 1));
        for (let i = 0; i < k; i++) {
          if (await crypto.subtle.verify('RSASSA-PKCS1-v1_5', s.subtleKey, signature, data)) passed++;
        }
        break;
      }
      case '/empty':
        passed = k;
        break;
      default:
        return new Response('not found', { status: 404 });
    }
    return new Response(String(passed));
  },
};

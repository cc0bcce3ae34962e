// Checking an RS256 JWT against a JSON Web Key Set, for the local stack's servers (the identity
// provider checks OBO assertions, the downstream API checks the tokens it receives).
import { createPublicKey, verify } from 'node:crypto';

const b64json = (part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));

/**
 * `{claims}` when `jwt` carries a valid RS256 signature by one of `keys` from `issuer` (a string,
 * or a predicate `(iss, claims) => boolean`) and has not expired; otherwise `{reason}` (with
 * `claims` too when only the lifetime is wrong).
 */
export function checkJwt(jwt, keys, issuer) {
  const parts = typeof jwt === 'string' ? jwt.split('.') : [];
  if (parts.length !== 3) return { reason: 'malformed' };
  let header, claims;
  try {
    header = b64json(parts[0]);
    claims = b64json(parts[1]);
  } catch {
    return { reason: 'malformed' };
  }
  const jwk = keys.find((k) => k.kid === header.kid);
  if (header.alg !== 'RS256' || !jwk) return { reason: 'unknown key' };
  const ok = verify('RSA-SHA256', Buffer.from(`${parts[0]}.${parts[1]}`),
    createPublicKey({ key: jwk, format: 'jwk' }), Buffer.from(parts[2], 'base64url'));
  if (!ok) return { reason: 'bad signature' };
  const issuerOk = typeof issuer === 'function' ? issuer(claims.iss, claims) : claims.iss === issuer;
  if (!issuerOk) return { reason: 'wrong issuer' };
  if (typeof claims.exp !== 'number' || claims.exp * 1000 < Date.now()) return { reason: 'expired', claims };
  return { claims };
}

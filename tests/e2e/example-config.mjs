// The example worker's IDENTITY_CONFIG for the local stack: the local identity provider as a
// generic OpenID Connect authority (Entra-shaped tokens, the Entra OBO grant), and the local
// downstream API's two APIs. Shared by the local stack (scripts/local-stack.mjs) and the tests; and
// `genericConfig`, the same worker on npm oidc-provider as a `Generic` authority (the e2e suites).
export const CLIENT_ID = 'edge-api';
export const CLIENT_SECRET = 'local-dev-secret';

export function exampleConfig({ issuer, profileUrl, partnerUrl, azureAd = {}, profile = {}, partner = {} }) {
  return {
    AzureAd: {
      Authority: issuer,
      // The local identity provider issues Entra-shaped tokens (oid, scp, azp) at its own URLs.
      Provider: 'Entra',
      ClientId: CLIENT_ID,
      Audience: `api://${CLIENT_ID}`,
      OnBehalfOfGrant: 'JwtBearer',
      ...azureAd,
    },
    DownstreamApis: {
      Profile: { BaseUrl: profileUrl, Scopes: ['api://profile/read'], RelativePath: 'me', ...profile },
      Partner: { BaseUrl: partnerUrl, Scopes: ['api://partner/read', 'api://partner/write'], ...partner },
    },
  };
}

/**
 * The same configuration against an Entra-shaped authority (the identity provider's `entra`
 * mode): `Instance` + `TenantId` as a Microsoft.Identity.Web user writes them, no `Audience`
 * (so the audience follows the token version, as Microsoft.Identity.Web decides it).
 */
export function entraExampleConfig({ instance, tenant, profileUrl, partnerUrl, azureAd = {}, profile = {}, partner = {} }) {
  const { DownstreamApis } = exampleConfig({ issuer: instance, profileUrl, partnerUrl, profile, partner });
  return { AzureAd: { Instance: instance, TenantId: tenant, ClientId: CLIENT_ID, ...azureAd }, DownstreamApis };
}

/** A client-credentials token for this API itself (its scheduler), from `provider`'s token endpoint. */
export async function appToken(provider) {
  const response = await fetch(provider.tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: CLIENT_SECRET, scope: `api://${CLIENT_ID}/.default` }),
  });
  return (await response.json()).access_token;
}

/**
 * The example worker's IDENTITY_CONFIG for oidc-provider as a `Generic` authority, as `client`
 * (one of `op.clients`) authenticating by `method` (default: its registered one; `null` leaves
 * `TokenEndpointAuthMethod` out). The downstream APIs are asked for by `Resource` (RFC 8707),
 * which oidc-provider's token exchange grant maps to the audience of the token it issues.
 */
export function genericConfig(op, api, client, { method = client.method, pemBundle = client.pemBundle, azureAd = {} } = {}) {
  return {
    AzureAd: {
      Authority: op.issuer,
      Provider: 'Generic',
      ClientId: client.id,
      Audience: op.apiResource,
      OnBehalfOfGrant: 'TokenExchange',
      ...(method ? { TokenEndpointAuthMethod: method } : {}),
      ...(pemBundle ? {
        ClientCredentials: [{ SourceType: 'Base64Encoded', Base64EncodedValue: Buffer.from(pemBundle).toString('base64') }],
      } : {}),
      ClockSkewSeconds: 0,
      ...azureAd,
    },
    DownstreamApis: {
      Profile: { BaseUrl: api.profileUrl, Scopes: ['read'], Resource: op.downstreamResource, RelativePath: 'me', TimeoutMs: 5000 },
      Partner: { BaseUrl: api.partnerUrl, Scopes: ['read', 'write'], Resource: op.partnerResource },
    },
  };
}

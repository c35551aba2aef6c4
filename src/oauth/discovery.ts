import type { FlowgateConfig } from '../config/schema.ts'
import type { KeyRing } from '../identity/key-ring.ts'
import { sendError } from '../lib/http-error.ts'
import { checkMethod, sendJson } from './oauth-response.ts'
import type { OAuthRoute } from './route.ts'

/** Short enough that a rotation reaches caches quickly; the next key is published long before it signs. */
const keySetCacheControl = 'public, max-age=300'
const metadataCacheControl = 'public, max-age=3600'

/** RFC 8414 metadata, built once from configuration: no request header can change the issuer. */
function authorizationServerMetadata(config: Pick<FlowgateConfig, 'publicUrl'>): Record<string, unknown> {
  const base = config.publicUrl
  const authMethods = ['client_secret_basic', 'client_secret_post']
  return {
    issuer: base,
    token_endpoint: `${base}/oauth/token`,
    jwks_uri: `${base}/token_keys`,
    introspection_endpoint: `${base}/oauth/introspect`,
    revocation_endpoint: `${base}/oauth/revoke`,
    grant_types_supported: ['client_credentials'],
    response_types_supported: [],
    token_endpoint_auth_methods_supported: authMethods,
    introspection_endpoint_auth_methods_supported: authMethods,
    revocation_endpoint_auth_methods_supported: authMethods,
  }
}

/** A `GET`/`HEAD` endpoint answering the JSON `body()` returns, cacheable for `cacheControl`. */
function publicJsonEndpoint(body: () => string, cacheControl: string): OAuthRoute {
  const headers = { 'cache-control': cacheControl }
  return async (req, res, ctx) => {
    try {
      checkMethod(req, ['GET', 'HEAD'])
      sendJson(res, 200, body(), headers, ctx.correlationId, req.method === 'HEAD')
    } catch (error) {
      sendError(res, error, { correlationId: ctx.correlationId })
    }
  }
}

/** `GET /token_keys` and `GET /.well-known/jwks.json`: the published public keys. */
export function createKeySetEndpoint(keyRing: KeyRing): OAuthRoute {
  return publicJsonEndpoint(() => keyRing.jwksJson(), keySetCacheControl)
}

/** `GET /.well-known/oauth-authorization-server`. */
export function createMetadataEndpoint(config: Pick<FlowgateConfig, 'publicUrl'>): OAuthRoute {
  const body = JSON.stringify(authorizationServerMetadata(config))
  return publicJsonEndpoint(() => body, metadataCacheControl)
}

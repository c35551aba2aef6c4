import { createServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair } from 'jose'
import { Provider } from 'oidc-provider'
import { localhostCertificate } from './localhost-certificate.ts'
import { serveBench } from './serve.ts'

/**
 * oidc-provider, the reference OAuth 2.0 server for Node.js, configured as close to Flowgate's
 * token endpoint as it goes: client credentials only, one client with HTTP Basic authentication,
 * JWT access tokens (through resource indicators, its only way to issue JWTs for this grant)
 * signed with the same algorithm, over TLS.
 */
interface OidcOptions {
  readonly algorithm: 'RS256' | 'ES256' | 'EdDSA'
  readonly clientId: string
  readonly clientSecret: string
}

const resource = 'https://flowgate.bench/runtime'

serveBench<OidcOptions>(async (options) => {
  const { privateKey } = await generateKeyPair(options.algorithm, { extractable: true })
  const jwk = { ...(await exportJWK(privateKey)), kid: 'bench', alg: options.algorithm, use: 'sig' }
  const certificate = await localhostCertificate()
  const server = createServer({ cert: certificate.cert, key: certificate.key, keepAliveTimeout: 120_000 })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const issuer = `https://127.0.0.1:${port}`

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: options.clientId,
        client_secret: options.clientSecret,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
        // Not used by client credentials, but client metadata must name an algorithm the key set has.
        id_token_signed_response_alg: options.algorithm,
        scope: 'ESBMessaging.send',
      },
    ],
    jwks: { keys: [jwk] },
    cookies: { keys: ['flowgate-bench-cookie-key-not-used-by-client-credentials'] },
    scopes: ['ESBMessaging.send'],
    ttl: { ClientCredentials: 3600 },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => resource,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: 'ESBMessaging.send',
          audience: resource,
          accessTokenTTL: 3600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: options.algorithm } },
        }),
      },
    },
  })
  server.on('request', provider.callback())
  return {
    url: issuer,
    info: { ca: certificate.cert, tokenPath: '/token', resource },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
})

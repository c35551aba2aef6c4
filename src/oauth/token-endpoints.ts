import type { FlowgateConfig } from '../config/schema.ts'
import type { IdentityIndex } from '../identity/identity-index.ts'
import type { IdentityService } from '../identity/identity-service.ts'
import type { KeyRing } from '../identity/key-ring.ts'
import type { FlowgateTokenAuthenticator } from '../identity/token-authenticator.ts'
import type { TokenIssuer } from '../identity/token-issuer.ts'
import type { Logger } from '../lib/logger.ts'
import type { MasterKey } from '../secrets/master-key.ts'
import type { StoreOperations } from '../store/types.ts'
import { createBruteForceGuard, type FailureCounter } from './brute-force.ts'
import { createClientAuthenticator } from './client-authenticator.ts'
import { createKeySetEndpoint, createMetadataEndpoint } from './discovery.ts'
import { createFailureAudit } from './failure-audit.ts'
import type { OAuthRoute } from './route.ts'
import { createTokenEndpoint } from './token-endpoint.ts'
import { createTokenManagement } from './token-management.ts'

export interface TokenEndpointsDeps {
  readonly config: FlowgateConfig
  readonly store: Pick<StoreOperations, 'appendAudit'>
  readonly masterKey: MasterKey
  readonly keyRing: KeyRing
  readonly index: IdentityIndex
  readonly issuer: TokenIssuer
  readonly authenticator: FlowgateTokenAuthenticator
  readonly identity: Pick<IdentityService, 'revokeToken'>
  readonly logger: Logger
  /** A failure counter shared by several nodes; a local one by default. */
  readonly failureCounter?: FailureCounter
  readonly now?: () => number
}

export interface TokenEndpoints {
  /** Exact paths → handlers; each handler checks its own method (405 with Allow). */
  readonly routes: ReadonlyMap<string, OAuthRoute>
  /** Writes pending failure audit events and stops timers. */
  close(): Promise<void>
}

export function createTokenEndpoints(deps: TokenEndpointsDeps): TokenEndpoints {
  const { config, logger, index } = deps
  const now = deps.now ?? Date.now
  const guard = createBruteForceGuard({
    config,
    now,
    ...(deps.failureCounter === undefined ? {} : { counter: deps.failureCounter }),
  })
  const clients = createClientAuthenticator({ index, masterKey: deps.masterKey, guard, now })
  const failures = createFailureAudit({
    store: deps.store,
    logger,
    windowMs: config.bruteForce.windowSeconds * 1000,
    now,
  })
  const management = createTokenManagement({
    config,
    index,
    authenticator: deps.authenticator,
    identity: deps.identity,
    clients,
    failures,
    logger,
    store: deps.store,
    now,
  })
  const keySet = createKeySetEndpoint(deps.keyRing)
  const routes = new Map<string, OAuthRoute>([
    ['/oauth/token', createTokenEndpoint({ config, index, issuer: deps.issuer, clients, failures, logger })],
    ['/oauth/introspect', management.introspect],
    ['/oauth/revoke', management.revoke],
    ['/token_keys', keySet],
    ['/.well-known/jwks.json', keySet],
    ['/.well-known/oauth-authorization-server', createMetadataEndpoint(config)],
  ])
  return {
    routes,
    close: () => failures.close(),
  }
}

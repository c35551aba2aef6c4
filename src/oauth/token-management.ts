import type { FlowgateConfig } from '../config/schema.ts'
import type { ClientEntry, IdentityIndex } from '../identity/identity-index.ts'
import type { IdentityService } from '../identity/identity-service.ts'
import { scopeOf, xsappnameOf } from '../identity/names.ts'
import type { FlowgateTokenAuthenticator, VerifiedToken } from '../identity/token-authenticator.ts'
import { FlowgateError, isFlowgateError } from '../lib/errors.ts'
import type { Logger } from '../lib/logger.ts'
import { shortHash } from '../lib/logger.ts'
import type { RequestContext } from '../lib/request-context.ts'
import type { StoreOperations } from '../store/types.ts'
import type { ClientAuthenticator } from './client-authenticator.ts'
import { createClientEndpoints } from './client-endpoint.ts'
import type { FailureAudit } from './failure-audit.ts'
import type { OAuthRoute } from './route.ts'

export interface TokenManagementOptions {
  readonly config: Pick<FlowgateConfig, 'gatewayName'>
  readonly index: IdentityIndex
  readonly authenticator: FlowgateTokenAuthenticator
  readonly identity: Pick<IdentityService, 'revokeToken'>
  readonly clients: ClientAuthenticator
  readonly failures: FailureAudit
  readonly logger: Logger
  readonly store: Pick<StoreOperations, 'appendAudit'>
  readonly now?: () => number
}

export interface TokenManagementRoutes {
  /** `POST /oauth/introspect` (RFC 7662). */
  readonly introspect: OAuthRoute
  /** `POST /oauth/revoke` (RFC 7009). */
  readonly revoke: OAuthRoute
}

const tokenErrors = new Set(['ERR_TOKEN_INVALID', 'ERR_TOKEN_EXPIRED', 'ERR_TOKEN_REVOKED'])

/**
 * Introspection and revocation: the caller authenticates like at the token endpoint and only ever
 * learns about, or revokes, its own tokens. Introspecting anything else is indistinguishable from
 * an unknown token; revoking another client's valid token is refused (RFC 7009 §2.1) and audited,
 * because a client holding another's token means that token has leaked.
 */
export function createTokenManagement(options: TokenManagementOptions): TokenManagementRoutes {
  const { authenticator, identity, clients, logger, store } = options
  const now = options.now ?? Date.now
  const xsappname = xsappnameOf(options.config)

  /** A currently valid token, whoever it was issued to; undefined for anything invalid. */
  async function validToken(token: string): Promise<VerifiedToken | undefined> {
    try {
      return await authenticator.verify(token)
    } catch (error) {
      if (isFlowgateError(error) && tokenErrors.has(error.code)) return undefined
      throw error
    }
  }

  /** The caller's own, currently valid token; undefined for anything else. */
  async function ownToken(token: string, caller: ClientEntry): Promise<VerifiedToken | undefined> {
    const verified = await validToken(token)
    return verified?.claims.clientId === caller.key.clientId ? verified : undefined
  }

  /** The refusal is the answer even when the event cannot be written; the failure is logged. */
  async function auditForeignRevocation(
    verified: VerifiedToken,
    caller: ClientEntry,
    ctx: RequestContext,
  ): Promise<void> {
    const { jti, clientId, exp } = verified.claims
    try {
      await store.appendAudit(
        {
          actor: caller.key.clientId,
          sourceAddress: ctx.clientAddress,
          action: 'token.revoke-refused',
          target: `token:${jti}`,
          after: { clientId, expiresAt: exp * 1000 },
        },
        now(),
      )
    } catch (error) {
      logger.error(
        { err: error, correlationId: ctx.correlationId, clientId: caller.key.clientId, jti },
        'could not audit a refused revocation of another client token',
      )
    }
  }

  const endpoint = createClientEndpoints(options)

  /** The token parameter is required before the client is authenticated; the answer is `respond`'s. */
  function handle(
    name: 'introspection' | 'revocation',
    respond: (token: string, caller: ClientEntry, ctx: RequestContext) => Promise<string>,
  ): OAuthRoute {
    return endpoint(name, async (params, credentials, ctx) => {
      const token = params.get('token')
      if (token === undefined || token === '') {
        throw new FlowgateError('ERR_OAUTH_INVALID_REQUEST', { description: 'token is missing' })
      }
      return respond(token, await clients.authenticate(credentials, ctx.clientAddress), ctx)
    })
  }

  return {
    introspect: handle('introspection', async (token, caller) => {
      const verified = await ownToken(token, caller)
      if (verified === undefined) return '{"active":false}'
      const { claims, principal } = verified
      return JSON.stringify({
        active: true,
        scope: [...principal.roles].map((role) => scopeOf(xsappname, role)).join(' '),
        client_id: claims.clientId,
        sub: claims.sub,
        aud: claims.aud,
        iss: claims.iss,
        exp: claims.exp,
        iat: claims.iat,
        jti: claims.jti,
        token_type: 'Bearer',
      })
    }),
    revoke: handle('revocation', async (token, caller, ctx) => {
      const verified = await validToken(token)
      // RFC 7009 §2.2: 200 whether or not there was anything to revoke.
      if (verified === undefined) return '{}'
      const { jti, clientId, exp } = verified.claims
      if (clientId !== caller.key.clientId) {
        await auditForeignRevocation(verified, caller, ctx)
        throw new FlowgateError('ERR_OAUTH_UNAUTHORIZED_CLIENT', {
          description: 'the token was not issued to this client',
          detail: `token ${jti} belongs to client ${clientId}`,
        })
      }
      await identity.revokeToken(
        { jti, clientId, exp },
        { actor: clientId, sourceAddress: ctx.clientAddress },
      )
      logger.info(
        { correlationId: ctx.correlationId, clientId, jti, tokenHash: shortHash(token) },
        'token revoked',
      )
      return '{}'
    }),
  }
}

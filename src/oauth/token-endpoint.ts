import type { FlowgateConfig } from '../config/schema.ts'
import type { IdentityIndex } from '../identity/identity-index.ts'
import { roleOfScope, xsappnameOf } from '../identity/names.ts'
import type { TokenIssuer } from '../identity/token-issuer.ts'
import { FlowgateError } from '../lib/errors.ts'
import type { Logger } from '../lib/logger.ts'
import type { Instance } from '../store/types.ts'
import type { ClientAuthenticator } from './client-authenticator.ts'
import { createClientEndpoints } from './client-endpoint.ts'
import type { FailureAudit } from './failure-audit.ts'
import type { OAuthRoute } from './route.ts'

export interface TokenEndpointOptions {
  readonly config: Pick<FlowgateConfig, 'gatewayName'>
  readonly index: IdentityIndex
  readonly issuer: TokenIssuer
  readonly clients: ClientAuthenticator
  readonly failures: FailureAudit
  readonly logger: Logger
}

/**
 * The roles a token carries: all of the instance's, or the requested subset (`<xsappname>.<Role>`
 * values). `scope=` with no value counts as omitted (RFC 6749 §3.1); a value of only spaces does not.
 */
function grantedRoles(scope: string | undefined, instance: Instance, xsappname: string): string[] {
  const held = instance.parameters.roles
  if (scope === undefined || scope === '') return [...held]
  const requested = scope.split(' ').filter((value) => value !== '')
  if (requested.length === 0) throw new FlowgateError('ERR_OAUTH_INVALID_SCOPE', { detail: 'empty scope' })
  const roles = new Set<string>()
  for (const value of requested) {
    const role = roleOfScope(xsappname, value)
    if (role === undefined || !held.includes(role)) {
      throw new FlowgateError('ERR_OAUTH_INVALID_SCOPE', {
        detail: 'a requested scope is not held by the instance',
      })
    }
    roles.add(role)
  }
  return [...roles]
}

/** `POST /oauth/token`: the client-credentials grant (RFC 6749 §4.4) in every form SAP clients use. */
export function createTokenEndpoint(options: TokenEndpointOptions): OAuthRoute {
  const { issuer, clients, logger } = options
  const xsappname = xsappnameOf(options.config)

  return createClientEndpoints(options)('token', async (params, credentials, ctx) => {
    const grantType = params.get('grant_type')
    if (grantType === undefined || grantType === '') {
      throw new FlowgateError('ERR_OAUTH_INVALID_REQUEST', { description: 'grant_type is missing' })
    }
    if (grantType !== 'client_credentials') {
      throw new FlowgateError('ERR_OAUTH_UNSUPPORTED_GRANT_TYPE', {
        detail: `grant_type ${grantType.slice(0, 40)}`,
      })
    }
    const { key, instance } = await clients.authenticate(credentials, ctx.clientAddress)
    if (!instance.parameters.grantTypes.includes('client_credentials')) {
      throw new FlowgateError('ERR_OAUTH_UNAUTHORIZED_CLIENT', {
        detail: 'the instance does not allow client_credentials',
      })
    }
    const roles = grantedRoles(params.get('scope'), instance, xsappname)
    const token = await issuer.issue({ key, instance, roles })
    logger.debug({ correlationId: ctx.correlationId, clientId: key.clientId, jti: token.jti }, 'token issued')
    return JSON.stringify({
      access_token: token.accessToken,
      token_type: 'bearer',
      // SAP answers one second less than the lifetime, so a client refreshes just before exp.
      expires_in: token.exp - token.iat - 1,
      scope: token.scope.join(' '),
      jti: token.jti,
    })
  })
}

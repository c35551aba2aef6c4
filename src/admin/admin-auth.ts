import type { IncomingMessage } from 'node:http'
import type { Actor } from '../identity/actor.ts'
import { builtInRoles } from '../identity/names.ts'
import type { Principal, TokenAuthenticator } from '../identity/principal.ts'
import { readBearer } from '../lib/bearer.ts'
import { FlowgateError, isFlowgateError } from '../lib/errors.ts'
import { bearerChallenge } from '../lib/http-error.ts'
import type { AdminAuthFailureLog } from './auth-failures.ts'

const adminRealm = 'flowgate-admin'

/** What an operation needs: reading, or changing state (only Flowgate.Admin). */
export type AdminAccess = 'read' | 'write'

export interface AdminCaller {
  readonly principal: Principal
  /** Who the audit trail names for changes made by this request. */
  readonly actor: Actor
}

/** The refusal with its RFC 6750 challenge, which the one renderer sends as `WWW-Authenticate`. */
function challenged(failure: FlowgateError, challenge: string): FlowgateError {
  return new FlowgateError(failure.code, {
    description: failure.description,
    ...(failure.detail === undefined ? {} : { detail: failure.detail }),
    headers: { ...failure.headers, 'www-authenticate': challenge },
    cause: failure.cause,
  })
}

export interface AdminAuthenticatorOptions {
  readonly authenticator: TokenAuthenticator
  readonly failures: AdminAuthFailureLog
}

/**
 * Admin API authentication: Flowgate's own access tokens of plan `api` instances. Flowgate.Admin
 * reads and writes, Flowgate.Viewer only reads; runtime tokens (plan integration-flow) are refused
 * with 403 even when valid, so a partner credential can never administer the gateway. Every
 * refusal is counted into the audit trail.
 */
export function createAdminAuthenticator(options: AdminAuthenticatorOptions) {
  const { authenticator, failures } = options
  return async (req: IncomingMessage, sourceAddress: string, access: AdminAccess): Promise<AdminCaller> => {
    const bearer = readBearer(req)
    if (bearer.token === null) {
      failures.record({ actor: 'anonymous', sourceAddress, code: 'ERR_TOKEN_MISSING' })
      throw new FlowgateError('ERR_TOKEN_MISSING', {
        detail: req.headers.authorization === undefined ? 'no Authorization header' : 'not a Bearer token',
        headers: { 'www-authenticate': bearerChallenge(adminRealm) },
      })
    }
    let principal: Principal
    try {
      principal = await authenticator.authenticate(bearer.token)
    } catch (error) {
      const failure = isFlowgateError(error)
        ? error
        : new FlowgateError('ERR_TOKEN_INVALID', { cause: error })
      if (failure.status >= 500) throw failure
      failures.record({ actor: 'anonymous', sourceAddress, code: failure.code })
      throw challenged(
        failure,
        bearerChallenge(adminRealm, {
          oauth: failure.oauth ?? 'invalid_token',
          description: failure.description,
        }),
      )
    }
    let refusal: string | undefined
    if (principal.plan !== 'api') refusal = 'forbidden: runtime credentials cannot use the admin API'
    else if (access === 'write' && !principal.roles.has(builtInRoles.admin)) {
      refusal = `forbidden: changes need the ${builtInRoles.admin} role`
    } else if (!principal.roles.has(builtInRoles.admin) && !principal.roles.has(builtInRoles.viewer)) {
      refusal = `forbidden: the admin API needs the ${builtInRoles.admin} or ${builtInRoles.viewer} role`
    }
    if (refusal !== undefined) {
      failures.record({ actor: principal.clientId, sourceAddress, code: 'ERR_FORBIDDEN' })
      throw new FlowgateError('ERR_FORBIDDEN', {
        description: refusal,
        detail: `client ${principal.clientId}`,
        headers: {
          'www-authenticate': bearerChallenge(adminRealm, {
            oauth: 'insufficient_scope',
            description: refusal,
          }),
        },
      })
    }
    return { principal, actor: { actor: principal.clientId, sourceAddress } }
  }
}

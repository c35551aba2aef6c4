import type { IncomingHttpHeaders } from 'node:http'
import type { Actor } from '../identity/actor.ts'
import { builtInRoles } from '../identity/names.ts'
import type { Principal, TokenAuthenticator } from '../identity/principal.ts'
import { FlowgateError, isFlowgateError } from '../lib/errors.ts'
import type { AdminAuthFailureLog } from './auth-failures.ts'

export const adminRealm = 'flowgate-admin'

/** What an operation needs: reading, or changing state (only Flowgate.Admin). */
export type AdminAccess = 'read' | 'write'

export interface AdminCaller {
  readonly principal: Principal
  /** Who the audit trail names for changes made by this request. */
  readonly actor: Actor
}

/** A refusal with the RFC 6750 challenge that belongs to it. */
export class AdminAuthError extends Error {
  readonly failure: FlowgateError
  readonly wwwAuthenticate: string
  constructor(failure: FlowgateError, wwwAuthenticate: string) {
    super(failure.description)
    this.name = 'AdminAuthError'
    this.failure = failure
    this.wwwAuthenticate = wwwAuthenticate
  }
}

const challenge = (error?: string, description?: string): string =>
  error === undefined
    ? `Bearer realm="${adminRealm}"`
    : `Bearer realm="${adminRealm}", error="${error}", error_description="${description}"`

function bearerToken(headers: IncomingHttpHeaders): string | undefined {
  const header = headers.authorization
  if (header === undefined) return undefined
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header)
  return match?.[1]
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
  return async (
    headers: IncomingHttpHeaders,
    sourceAddress: string,
    access: AdminAccess,
  ): Promise<AdminCaller> => {
    const token = bearerToken(headers)
    if (token === undefined) {
      failures.record({ actor: 'anonymous', sourceAddress, code: 'ERR_TOKEN_MISSING' })
      throw new AdminAuthError(
        new FlowgateError('ERR_TOKEN_MISSING', {
          detail: headers.authorization === undefined ? 'no Authorization header' : 'not a Bearer token',
        }),
        challenge(),
      )
    }
    let principal: Principal
    try {
      principal = await authenticator.authenticate(token)
    } catch (error) {
      const failure = isFlowgateError(error)
        ? error
        : new FlowgateError('ERR_TOKEN_INVALID', { cause: error })
      if (failure.status >= 500) throw failure
      failures.record({ actor: 'anonymous', sourceAddress, code: failure.code })
      throw new AdminAuthError(failure, challenge(failure.oauth ?? 'invalid_token', failure.description))
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
      throw new AdminAuthError(
        new FlowgateError('ERR_FORBIDDEN', { description: refusal, detail: `client ${principal.clientId}` }),
        challenge('insufficient_scope', refusal),
      )
    }
    return { principal, actor: { actor: principal.clientId, sourceAddress } }
  }
}

export type AdminAuthenticate = ReturnType<typeof createAdminAuthenticator>

import type { Principal, TokenAuthenticator } from '../../src/identity/principal.ts'
import { FlowgateError } from '../../src/lib/errors.ts'

/**
 * A TokenAuthenticator answering from a table: the runtime's interface boundary with the token
 * service, used where a test is about the proxy rather than about token validation. Tokens listed
 * in `slow` answer a macrotask later, as a token whose key set is being reloaded does.
 */
export class TableAuthenticator implements TokenAuthenticator {
  readonly entries = new Map<string, Principal | FlowgateError>()
  readonly slow = new Set<string>()
  /** Every token presented, in order. */
  readonly seen: string[] = []

  allow(token: string, principal: Principal): this {
    this.entries.set(token, principal)
    return this
  }

  refuse(token: string, code: 'ERR_TOKEN_INVALID' | 'ERR_TOKEN_EXPIRED' | 'ERR_TOKEN_REVOKED'): this {
    this.entries.set(token, new FlowgateError(code, { detail: `table says ${code}` }))
    return this
  }

  async authenticate(token: string): Promise<Principal> {
    this.seen.push(token)
    const entry =
      this.entries.get(token) ?? new FlowgateError('ERR_TOKEN_INVALID', { detail: 'unknown token' })
    if (this.slow.has(token)) {
      return new Promise((resolve, reject) =>
        setImmediate(() => (entry instanceof FlowgateError ? reject(entry) : resolve(entry))),
      )
    }
    if (entry instanceof FlowgateError) throw entry
    return entry
  }
}

export function principal(clientId: string, roles: readonly string[], instanceName = 'partner-a'): Principal {
  return {
    clientId,
    instanceId: `id-${instanceName}`,
    instanceName,
    plan: 'integration-flow',
    roles: new Set(roles),
    jti: `jti-${clientId}`,
    exp: 4_102_444_800,
  }
}

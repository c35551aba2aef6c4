import type { Principal, TokenAuthenticator } from '../identity/principal.ts'
import type { Logger } from '../lib/logger.ts'
import type { AccessLog } from './access-log.ts'
import type { Csrf } from './csrf.ts'
import type { Route } from './flow-routes.ts'
import type { CallerIdentity } from './headers.ts'
import type { RouteTable } from './route-table.ts'

/** Shared state of one proxy: the current route table and everything built once. */
export interface ProxyState {
  table: RouteTable<Route> | null
  readonly authenticator: TokenAuthenticator
  readonly csrf: Csrf
  readonly accessLog: AccessLog
  readonly logger: Logger
  readonly forwardedHost: string
  /** Strict-Transport-Security value, '' when disabled; put into every answer's header list. */
  readonly hsts: string
  /** The same as extra headers for sendError, or undefined when disabled. */
  readonly hstsHeaders: Readonly<Record<string, string>> | undefined
  readonly callers: WeakMap<Principal, CallerIdentity>
}

/** The caller headers of a principal, built once per principal. */
export function callerOf(state: ProxyState, principal: Principal): CallerIdentity {
  let caller = state.callers.get(principal)
  if (caller === undefined) {
    caller = {
      clientId: principal.clientId,
      instance: principal.instanceName,
      roles: [...principal.roles].join(','),
    }
    state.callers.set(principal, caller)
  }
  return caller
}

import type { FlowgateConfig } from '../config/schema.ts'
import { FlowgateError } from '../lib/errors.ts'
import { isRoleName, roleNameRule } from '../model/names.ts'

/**
 * The names SAP tooling expects, derived from configuration and never from a request: the
 * xsappname that prefixes scopes and ends client ids, the client id of each service key, and the
 * token scopes.
 */

/** `it-rt-<gatewayName>!b1`, as the Process Integration Runtime names its application. */
export function xsappnameOf(config: Pick<FlowgateConfig, 'gatewayName'>): string {
  return `it-rt-${config.gatewayName}!b1`
}

/** `sb-<instance-uuid>!b<N>|<xsappname>`: N is unique per key so each key can be revoked alone. */
export function clientIdFor(instanceId: string, keyNumber: number, xsappname: string): string {
  return `sb-${instanceId}!b${keyNumber}|${xsappname}`
}

/** `<xsappname>.<Role>` */
export function scopeOf(xsappname: string, role: string): string {
  return `${xsappname}.${role}`
}

/** The role named by a scope of this gateway, or undefined when the scope belongs to someone else. */
export function roleOfScope(xsappname: string, scope: string): string | undefined {
  const prefix = `${xsappname}.`
  if (!scope.startsWith(prefix) || scope.length === prefix.length) return undefined
  return scope.slice(prefix.length)
}

/** Roles of plan `api` (Flowgate's own admin API); no other plan may hold them. */
export const adminRolePrefix = 'Flowgate.'

/** The rule for a role an administrator creates (admin API, CLI, declarative apply). */
export function checkNewRoleName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !isRoleName(name)) {
    throw new FlowgateError('ERR_INVALID_ROLE_NAME', { description: `invalid role name: ${roleNameRule}` })
  }
  if (name.startsWith(adminRolePrefix)) {
    throw new FlowgateError('ERR_INVALID_ROLE_NAME', {
      description: `role names starting with "${adminRolePrefix}" are reserved for Flowgate's admin API`,
    })
  }
}

export const builtInRoles = {
  send: 'ESBMessaging.send',
  admin: 'Flowgate.Admin',
  viewer: 'Flowgate.Viewer',
} as const

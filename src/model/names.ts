import { Type } from 'typebox'

/**
 * The name rules of every entity, in one place: the schemas below are what the admin API and the
 * declarative document validate, and the same patterns serve the checks of the services, the CLI
 * and the store's callers.
 */

/** `[A-Za-z0-9_.]`, 1 to 100 characters: a role a flow requires, an instance holds or an admin creates. */
export const roleNamePattern = /^[A-Za-z0-9_.]{1,100}$/
export const roleNameRule = '1 to 100 letters, digits, "_" and "."'
export const roleName = Type.String({ pattern: '^[A-Za-z0-9_.]+$', minLength: 1, maxLength: 100 })

/** Instances and service keys. */
export const objectNamePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/
export const objectName = Type.String({
  pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$',
  minLength: 1,
  maxLength: 100,
})

export const connectionNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/
export const connectionName = Type.String({
  pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$',
  minLength: 1,
  maxLength: 64,
})

export const isRoleName = (name: unknown): boolean => typeof name === 'string' && roleNamePattern.test(name)

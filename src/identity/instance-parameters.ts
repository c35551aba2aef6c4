import { FlowgateError } from '../lib/errors.ts'
import { type InstanceView, sapInstanceParametersSchema } from '../model/instance.ts'
import { isRoleName } from '../model/names.ts'
import type { InstanceParameters, Plan } from '../store/types.ts'
import { adminRolePrefix, builtInRoles } from './names.ts'
import { invalidParameters, sapParametersObject } from './sap-parameters.ts'

/** SAP's instance parameters exactly as users write them (`cf create-service … -c '{…}'`), complete. */
export type SapInstanceParameters = InstanceView['parameters']

const defaultTokenValiditySeconds = 3600
const minTokenValiditySeconds = 60

const invalid = invalidParameters

function parseRoles(value: unknown, plan: Plan): string[] {
  if (!Array.isArray(value) || value.some((role) => typeof role !== 'string')) {
    throw invalid('"roles" must be an array of role names')
  }
  const roles = [...new Set(value as string[])]
  for (const role of roles) {
    if (!isRoleName(role)) {
      throw new FlowgateError('ERR_INVALID_ROLE_NAME', {
        description: `invalid role name "${role.slice(0, 64)}": use letters, digits, "_" and "."`,
      })
    }
    const adminRole = role.startsWith(adminRolePrefix)
    if (plan === 'integration-flow' && adminRole) {
      throw new FlowgateError('ERR_ROLE_NOT_ALLOWED_FOR_PLAN', {
        description: `role "${role}" is reserved for plan "api" and cannot be held by plan "integration-flow"`,
      })
    }
    if (plan === 'api' && !adminRole) {
      throw new FlowgateError('ERR_ROLE_NOT_ALLOWED_FOR_PLAN', {
        description: `plan "api" holds only ${adminRolePrefix}* roles; "${role}" is not one`,
      })
    }
  }
  return roles
}

function parseGrantTypes(value: unknown): 'client_credentials'[] {
  if (!Array.isArray(value) || value.some((grant) => typeof grant !== 'string')) {
    throw invalid('"grant-types" must be an array of grant type names')
  }
  for (const grant of value as string[]) {
    if (grant !== 'client_credentials') {
      throw new FlowgateError('ERR_UNSUPPORTED_GRANT_TYPE_PARAMETER', {
        description: `unsupported grant type "${grant.slice(0, 64)}": only "client_credentials" is supported`,
      })
    }
  }
  return value.length === 0 ? [] : ['client_credentials']
}

function parseTokenValidity(value: unknown, maxValiditySeconds: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new FlowgateError('ERR_INVALID_TOKEN_VALIDITY', {
      description: '"token-validity" must be a whole number of seconds',
    })
  }
  if (value < minTokenValiditySeconds || value > maxValiditySeconds) {
    throw new FlowgateError('ERR_INVALID_TOKEN_VALIDITY', {
      description: `"token-validity" must be between ${minTokenValiditySeconds} and ${maxValiditySeconds} seconds`,
    })
  }
  return value
}

/**
 * Validates SAP's instance parameters and normalises them. With `current` (an update), keys that
 * are absent keep their current value; without it they get SAP's defaults. Role existence is the
 * caller's check (it needs the store); the plan rules are checked here.
 */
export function parseInstanceParameters(
  raw: unknown,
  plan: Plan,
  maxValiditySeconds: number,
  current?: InstanceParameters,
): InstanceParameters {
  const record = sapParametersObject(raw, sapInstanceParametersSchema)
  let roles: readonly string[]
  if (record.roles !== undefined) roles = parseRoles(record.roles, plan)
  else if (current !== undefined) roles = current.roles
  else if (plan === 'integration-flow') roles = [builtInRoles.send]
  else throw invalid('plan "api" needs "roles" (for example ["Flowgate.Viewer"])')

  const grantTypes =
    record['grant-types'] !== undefined
      ? parseGrantTypes(record['grant-types'])
      : (current?.grantTypes ?? ['client_credentials'])
  const tokenValidity =
    record['token-validity'] !== undefined
      ? parseTokenValidity(record['token-validity'], maxValiditySeconds)
      : (current?.tokenValidity ?? Math.min(defaultTokenValiditySeconds, maxValiditySeconds))
  return { roles, grantTypes, tokenValidity }
}

export function toSapInstanceParameters(parameters: InstanceParameters): SapInstanceParameters {
  return {
    roles: [...parameters.roles],
    'grant-types': [...parameters.grantTypes],
    'token-validity': parameters.tokenValidity,
  }
}

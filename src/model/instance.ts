import { type Static, Type } from 'typebox'
import { objectName, roleName } from './names.ts'
import { closed, type Frozen, stringEnum, time } from './schema.ts'

export const plans = ['integration-flow', 'api'] as const
export type Plan = (typeof plans)[number]

const sapInstanceParameters = {
  roles: Type.Array(roleName, { maxItems: 100 }),
  'grant-types': Type.Array(Type.String(), { maxItems: 10 }),
  'token-validity': Type.Integer(),
}

/**
 * SAP's instance parameters as users write them (`cf create-service … -c '{…}'`); the rules a
 * schema cannot say (plan and role, the validity bounds of the configuration) are in
 * src/identity/instance-parameters.ts.
 */
export const sapInstanceParametersSchema = closed(
  {
    roles: Type.Optional(sapInstanceParameters.roles),
    'grant-types': Type.Optional(sapInstanceParameters['grant-types']),
    'token-validity': Type.Optional(sapInstanceParameters['token-validity']),
  },
  { description: "SAP's instance parameters, verbatim." },
)
export type SapInstanceParametersInput = Frozen<Static<typeof sapInstanceParametersSchema>>

/** An instance as an administrator creates it: the admin API's body and a declarative entry. */
export const instanceInputSchema = closed({
  name: objectName,
  plan: Type.Optional(stringEnum(plans, { default: 'integration-flow' })),
  parameters: Type.Optional(sapInstanceParametersSchema),
})
export type InstanceInput = Frozen<Static<typeof instanceInputSchema>>

/** An instance as the admin API shows it: its parameters complete, in SAP's form. */
export const instanceSchema = closed({
  id: Type.String(),
  name: objectName,
  plan: stringEnum(plans),
  parameters: closed(sapInstanceParameters, { description: "SAP's instance parameters, verbatim." }),
  createdAt: time,
  updatedAt: time,
})
export type InstanceView = Static<typeof instanceSchema>

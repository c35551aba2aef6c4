import { type Static, Type } from 'typebox'
import { roleName } from './names.ts'
import { closed, type Frozen, nullable, stringEnum, time } from './schema.ts'

export const knownMethods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const

/** At most this many names in an allow-list: a policy an administrator can still read. */
export const maxAllowedRequestHeaders = 64

/**
 * Which client request headers reach the iFlow (docs/runtime.md, "Header rules"). `deny-list`:
 * every header but the ones Flowgate drops; `allow-list`: only the headers named in `allow`, and
 * never one Flowgate drops or sets itself. One object rather than a union of two, so that a bad
 * value gets an error that names the property at fault; `allow` belongs to the allow-list only
 * (src/flows/flow-input.ts).
 */
export const requestHeaderPolicySchema = closed(
  {
    mode: stringEnum(['deny-list', 'allow-list'] as const),
    allow: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 128 }), {
        maxItems: maxAllowedRequestHeaders,
        description:
          'allow-list mode: header names (case-insensitive, stored lower-case) that reach the iFlow.',
      }),
    ),
  },
  { description: 'Client request headers that reach the iFlow; default `{"mode": "deny-list"}`.' },
)
export type RequestHeaderPolicy = Frozen<Static<typeof requestHeaderPolicySchema>>

/** What may change on a flow; everything but `upstream` has a default (src/flows/flow-input.ts). */
const flowFields = {
  upstream: Type.String({ minLength: 1, maxLength: 2048 }),
  role: roleName,
  methods: Type.Array(
    Type.String({ maxLength: 16, description: `One of ${knownMethods.join(', ')} (any case).` }),
    { minItems: 1, maxItems: 7 },
  ),
  csrf: Type.Boolean(),
  maxBodyBytes: Type.Integer({ minimum: 0 }),
  timeoutMs: Type.Integer({ minimum: 100 }),
  connection: nullable(Type.String({ maxLength: 64 })),
  requestHeaders: requestHeaderPolicySchema,
}

/**
 * A flow as an administrator writes it: the admin API's create body and an entry of the
 * declarative document. The rules a schema cannot say (the address and upstream URL forms, bounds
 * that come from the configuration, defaults) are in src/flows/flow-input.ts.
 */
const optionalFlowFields = Type.Partial(Type.Object(flowFields)).properties

export const flowInputSchema = closed({
  address: Type.String({ minLength: 1, maxLength: 200 }),
  ...optionalFlowFields,
  upstream: flowFields.upstream,
})
export type FlowInput = Frozen<Static<typeof flowInputSchema>>

/** Some properties of a flow (the admin API's PATCH body). */
export const flowPatchSchema = closed(optionalFlowFields, { minProperties: 1 })

const definitionFields = {
  address: Type.String({ description: 'Called at `<runtime url>/http<address>`.' }),
  upstream: Type.String(),
  role: roleName,
  methods: Type.Array(Type.String()),
  csrf: Type.Boolean(),
  maxBodyBytes: Type.Integer(),
  timeoutMs: Type.Integer(),
  connection: nullable(Type.String(), { description: 'Upstream connection name; null: none.' }),
  requestHeaders: requestHeaderPolicySchema,
}

const flowDefinitionSchema = closed(definitionFields)
/**
 * A validated, normalised flow: the address as routed (leading `/`, lower case, a trailing `/*`
 * wildcard), upper-case methods, every default filled in, `connection` null for none.
 */
export type FlowDefinition = Frozen<Static<typeof flowDefinitionSchema>>

/** A flow as the admin API shows it. */
export const flowSchema = closed({
  id: Type.String(),
  ...definitionFields,
  createdAt: time,
  updatedAt: time,
})
export type FlowView = Static<typeof flowSchema>

import { type TProperties, Type } from 'typebox'
import { exportedDocumentSchema, planSchema, resolvedDocumentSchema } from '../declarative/document-schema.ts'
import { connectionInputSchema, connectionReplacementSchema, connectionSchema } from '../model/connection.ts'
import { flowInputSchema, flowPatchSchema, flowSchema } from '../model/flow.ts'
import { instanceInputSchema, instanceSchema, sapInstanceParametersSchema } from '../model/instance.ts'
import { connectionName, objectName, roleName } from '../model/names.ts'
import { roleInputSchema, roleSchema } from '../model/role.ts'
import { closed, time } from '../model/schema.ts'
import { keyParametersSchema, sapServiceKeySchema } from '../model/service-key.ts'
import {
  accessRecordSchema,
  auditEventSchema,
  listOf,
  pageOf,
  pageQueryFields,
  serviceKeySchema,
  signingKeySchema,
} from './schemas.ts'

/**
 * Every operation of the admin API, as data: method, path, who may call it, and the JSON Schemas
 * of its parameters, query, body and responses. The server registers one route per entry and the
 * OpenAPI document is generated from the same table (src/admin/openapi.ts).
 */
export interface AdminOperation {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  /** OpenAPI form: `/admin/v1/roles/{name}`. */
  readonly path: string
  readonly tag: string
  readonly summary: string
  readonly description?: string
  /** `public`: no token (health, the OpenAPI document). */
  readonly access: 'public' | 'read' | 'write'
  readonly params?: object
  readonly query?: object
  readonly body?: object
  /** Status → schema of the body (null: no body). */
  readonly responses: Readonly<
    Record<number, { readonly description: string; readonly schema: object | null }>
  >
}

/** Path parameters: every one required. */
const params = <const Properties extends TProperties>(properties: Properties) => closed(properties)

const nameParam = params({ name: objectName })
const connectionParam = params({ name: connectionName })
const keyParams = params({ name: objectName, key: objectName })
const flowParam = params({
  ref: Type.String({
    minLength: 1,
    maxLength: 202,
    description: 'Flow id, or its address without the leading slash (`orders`; URL-encode inner slashes).',
  }),
})

const ok = (schema: object | null, description = 'OK') => ({ description, schema })
const noContent = { description: 'Done', schema: null }

const emptyBody = closed({})

export const adminOperations = {
  listRoles: {
    method: 'GET',
    path: '/admin/v1/roles',
    tag: 'roles',
    summary: 'List roles',
    access: 'read',
    responses: { 200: ok(listOf(roleSchema)) },
  },
  createRole: {
    method: 'POST',
    path: '/admin/v1/roles',
    tag: 'roles',
    summary: 'Create a role',
    access: 'write',
    body: roleInputSchema,
    responses: { 201: ok(roleSchema, 'Created') },
  },
  getRole: {
    method: 'GET',
    path: '/admin/v1/roles/{name}',
    tag: 'roles',
    summary: 'Show a role',
    access: 'read',
    params: params({ name: roleName }),
    responses: { 200: ok(roleSchema) },
  },
  deleteRole: {
    method: 'DELETE',
    path: '/admin/v1/roles/{name}',
    tag: 'roles',
    summary: 'Delete a role (409 while an instance or flow names it)',
    access: 'write',
    params: params({ name: roleName }),
    responses: { 204: noContent },
  },

  listInstances: {
    method: 'GET',
    path: '/admin/v1/instances',
    tag: 'instances',
    summary: 'List service instances',
    access: 'read',
    responses: { 200: ok(listOf(instanceSchema)) },
  },
  createInstance: {
    method: 'POST',
    path: '/admin/v1/instances',
    tag: 'instances',
    summary: 'Create a service instance',
    access: 'write',
    body: instanceInputSchema,
    responses: { 201: ok(instanceSchema, 'Created') },
  },
  getInstance: {
    method: 'GET',
    path: '/admin/v1/instances/{name}',
    tag: 'instances',
    summary: 'Show a service instance',
    access: 'read',
    params: nameParam,
    responses: { 200: ok(instanceSchema) },
  },
  updateInstance: {
    method: 'PATCH',
    path: '/admin/v1/instances/{name}',
    tag: 'instances',
    summary: "Update an instance's parameters (absent keys keep their value)",
    access: 'write',
    params: nameParam,
    body: closed({ parameters: sapInstanceParametersSchema }),
    responses: { 200: ok(instanceSchema) },
  },
  deleteInstance: {
    method: 'DELETE',
    path: '/admin/v1/instances/{name}',
    tag: 'instances',
    summary: 'Delete an instance and its service keys (their tokens stop working at once)',
    access: 'write',
    params: nameParam,
    responses: { 204: noContent },
  },

  listKeys: {
    method: 'GET',
    path: '/admin/v1/instances/{name}/keys',
    tag: 'service keys',
    summary: "List an instance's service keys (never their secrets)",
    access: 'read',
    params: nameParam,
    responses: { 200: ok(listOf(serviceKeySchema)) },
  },
  createKey: {
    method: 'POST',
    path: '/admin/v1/instances/{name}/keys',
    tag: 'service keys',
    summary: "Create a service key: returns SAP's service key JSON, the only time the secret is shown",
    access: 'write',
    params: nameParam,
    body: closed({ name: objectName, parameters: Type.Optional(keyParametersSchema) }),
    responses: { 201: ok(sapServiceKeySchema, 'Created') },
  },
  getKey: {
    method: 'GET',
    path: '/admin/v1/instances/{name}/keys/{key}',
    tag: 'service keys',
    summary: 'Show a service key (never its secret)',
    access: 'read',
    params: keyParams,
    responses: { 200: ok(serviceKeySchema) },
  },
  rotateKey: {
    method: 'POST',
    path: '/admin/v1/instances/{name}/keys/{key}/rotate',
    tag: 'service keys',
    summary: 'Give a key a new secret; the previous one stays valid for the overlap',
    access: 'write',
    params: keyParams,
    body: closed({
      overlapSeconds: Type.Optional(
        Type.Integer({
          minimum: 0,
          maximum: 2_592_000,
          description: 'How long the previous secret stays valid (default 86400).',
        }),
      ),
    }),
    responses: { 200: ok(sapServiceKeySchema, "The key with its new secret, in SAP's JSON; shown once") },
  },
  expireKey: {
    method: 'POST',
    path: '/admin/v1/instances/{name}/keys/{key}/expire',
    tag: 'service keys',
    summary: 'Set when a key expires (now when `at` is absent); its tokens stop working then',
    access: 'write',
    params: keyParams,
    body: closed({ at: Type.Optional(time) }),
    responses: { 200: ok(serviceKeySchema) },
  },
  deleteKey: {
    method: 'DELETE',
    path: '/admin/v1/instances/{name}/keys/{key}',
    tag: 'service keys',
    summary: 'Delete a service key (its tokens stop working at once)',
    access: 'write',
    params: keyParams,
    responses: { 204: noContent },
  },
  revokeToken: {
    method: 'POST',
    path: '/admin/v1/tokens/revoke',
    tag: 'tokens',
    summary: 'Revoke one access token issued by this gateway (idempotent)',
    access: 'write',
    body: closed({ token: Type.String({ minLength: 1, maxLength: 16384, writeOnly: true }) }),
    responses: { 204: noContent },
  },

  listFlows: {
    method: 'GET',
    path: '/admin/v1/flows',
    tag: 'flows',
    summary: 'List flows',
    access: 'read',
    responses: { 200: ok(listOf(flowSchema)) },
  },
  createFlow: {
    method: 'POST',
    path: '/admin/v1/flows',
    tag: 'flows',
    summary: 'Expose a flow',
    access: 'write',
    body: flowInputSchema,
    responses: { 201: ok(flowSchema, 'Created') },
  },
  getFlow: {
    method: 'GET',
    path: '/admin/v1/flows/{ref}',
    tag: 'flows',
    summary: 'Show a flow',
    access: 'read',
    params: flowParam,
    responses: { 200: ok(flowSchema) },
  },
  updateFlow: {
    method: 'PATCH',
    path: '/admin/v1/flows/{ref}',
    tag: 'flows',
    summary: 'Change some properties of a flow',
    access: 'write',
    params: flowParam,
    body: flowPatchSchema,
    responses: { 200: ok(flowSchema) },
  },
  deleteFlow: {
    method: 'DELETE',
    path: '/admin/v1/flows/{ref}',
    tag: 'flows',
    summary: 'Stop exposing a flow',
    access: 'write',
    params: flowParam,
    responses: { 204: noContent },
  },

  listConnections: {
    method: 'GET',
    path: '/admin/v1/connections',
    tag: 'connections',
    summary: 'List upstream connections (never their secrets)',
    access: 'read',
    responses: { 200: ok(listOf(connectionSchema)) },
  },
  createConnection: {
    method: 'POST',
    path: '/admin/v1/connections',
    tag: 'connections',
    summary: 'Create an upstream connection (secrets are encrypted at rest and never returned)',
    access: 'write',
    body: connectionInputSchema,
    responses: { 201: ok(connectionSchema, 'Created') },
  },
  getConnection: {
    method: 'GET',
    path: '/admin/v1/connections/{name}',
    tag: 'connections',
    summary: 'Show an upstream connection (never its secret)',
    access: 'read',
    params: connectionParam,
    responses: { 200: ok(connectionSchema) },
  },
  replaceConnection: {
    method: 'PUT',
    path: '/admin/v1/connections/{name}',
    tag: 'connections',
    summary: "Replace an upstream connection's definition, secret included",
    access: 'write',
    params: connectionParam,
    body: connectionReplacementSchema,
    responses: { 200: ok(connectionSchema) },
  },
  deleteConnection: {
    method: 'DELETE',
    path: '/admin/v1/connections/{name}',
    tag: 'connections',
    summary: 'Delete an upstream connection (409 while a flow uses it)',
    access: 'write',
    params: connectionParam,
    responses: { 204: noContent },
  },

  listAccessRecords: {
    method: 'GET',
    path: '/admin/v1/access-records',
    tag: 'access records',
    summary: 'Access records, newest first, paged',
    access: 'read',
    query: closed({
      from: Type.Optional(
        Type.String({ format: 'date-time', description: 'Records at or after this time.' }),
      ),
      to: Type.Optional(Type.String({ format: 'date-time', description: 'Records before this time.' })),
      clientId: Type.Optional(Type.String({ maxLength: 512 })),
      flow: Type.Optional(Type.String({ maxLength: 202, description: 'Flow address, e.g. `/orders`.' })),
      status: Type.Optional(Type.Integer({ minimum: 100, maximum: 599 })),
      ...pageQueryFields,
    }),
    responses: { 200: ok(pageOf(accessRecordSchema)) },
  },
  listAuditEvents: {
    method: 'GET',
    path: '/admin/v1/audit-events',
    tag: 'audit',
    summary: 'Audit events in sequence order, paged',
    access: 'read',
    query: closed({
      from: Type.Optional(time),
      to: Type.Optional(time),
      actor: Type.Optional(Type.String({ maxLength: 512 })),
      action: Type.Optional(Type.String({ maxLength: 128 })),
      afterSeq: Type.Optional(
        Type.Integer({ minimum: 0, description: 'Events with a greater sequence number.' }),
      ),
      ...pageQueryFields,
    }),
    responses: { 200: ok(pageOf(auditEventSchema)) },
  },
  verifyAuditChain: {
    method: 'POST',
    path: '/admin/v1/audit-events/verify',
    tag: 'audit',
    summary: 'Recompute the hash chain and report the first broken link',
    access: 'read',
    body: emptyBody,
    responses: { 200: ok(auditVerificationSchema()) },
  },

  listSigningKeys: {
    method: 'GET',
    path: '/admin/v1/signing-keys',
    tag: 'signing keys',
    summary: 'List token signing keys (public information only)',
    access: 'read',
    responses: { 200: ok(listOf(signingKeySchema)) },
  },
  rotateSigningKeys: {
    method: 'POST',
    path: '/admin/v1/signing-keys/rotate',
    tag: 'signing keys',
    summary: 'Rotate now: the next key becomes active, the active one retires (still published)',
    access: 'write',
    body: emptyBody,
    responses: { 200: ok(listOf(signingKeySchema)) },
  },

  exportConfiguration: {
    method: 'GET',
    path: '/admin/v1/configuration',
    tag: 'declarative configuration',
    summary: 'The current roles, connections, flows and instances as a declarative document (no secrets)',
    access: 'read',
    responses: { 200: ok(exportedDocumentSchema) },
  },
  planConfiguration: {
    method: 'POST',
    path: '/admin/v1/configuration/plan',
    tag: 'declarative configuration',
    summary: 'What applying a document would change (writers only: it compares secrets)',
    access: 'write',
    body: applyBody(),
    responses: { 200: ok(planSchema) },
  },
  applyConfiguration: {
    method: 'POST',
    path: '/admin/v1/configuration/apply',
    tag: 'declarative configuration',
    summary: 'Apply a document in one transaction: everything or nothing',
    access: 'write',
    body: applyBody(),
    responses: { 200: ok(planSchema, 'What was changed') },
  },

  livez: {
    method: 'GET',
    path: '/livez',
    tag: 'health',
    summary: 'The process is up',
    access: 'public',
    responses: { 200: ok(healthSchema()) },
  },
  readyz: {
    method: 'GET',
    path: '/readyz',
    tag: 'health',
    summary: 'The store is reachable, migrated and not out of space',
    access: 'public',
    responses: { 200: ok(healthSchema()), 503: ok(healthSchema(), 'Not ready') },
  },
  openapi: {
    method: 'GET',
    path: '/admin/v1/openapi.json',
    tag: 'meta',
    summary: 'This OpenAPI 3.1 document',
    access: 'public',
    responses: { 200: ok(null) },
  },
} as const satisfies Record<string, AdminOperation>

export type OperationId = keyof typeof adminOperations

function healthSchema() {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['status'],
    properties: { status: { type: 'string', enum: ['ok', 'ready', 'unavailable'] } },
  } as const
}

function applyBody() {
  return closed({
    document: resolvedDocumentSchema,
    prune: Type.Optional(
      Type.Boolean({ default: false, description: 'Delete what the document does not name.' }),
    ),
  })
}

function auditVerificationSchema() {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['ok', 'events', 'firstBroken'],
    properties: {
      ok: { type: 'boolean' },
      events: { type: 'integer', description: 'Events verified before the first broken link (all when ok).' },
      firstBroken: {
        type: ['object', 'null'],
        additionalProperties: false,
        required: ['seq', 'reason'],
        properties: {
          seq: { type: 'integer', description: 'Sequence number of the first event that fails.' },
          reason: { type: 'string' },
        },
      },
    },
  } as const
}

import { Type } from 'typebox'
import { objectName } from '../model/names.ts'
import { nullableString, nullableTime, time } from '../model/schema.ts'
import { keyTypes } from '../model/service-key.ts'

/**
 * JSON Schemas of what only the admin API shows (errors, service keys, access records, audit
 * events, signing keys, pages); the entities' schemas are in src/model. Fastify compiles them
 * when the routes are registered, and the OpenAPI document is generated from the same objects, so
 * the served contract and the enforced one cannot drift. Every object is closed.
 */

export const errorSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['error', 'error_description', 'code'],
  properties: {
    error: { type: 'string', description: 'OAuth/RFC 6750 error code, or the Flowgate code in snake case.' },
    error_description: { type: 'string' },
    code: { type: 'string', description: 'Flowgate error code (ERR_…), stable and machine-readable.' },
    correlation_id: { type: 'string' },
  },
} as const

export const serviceKeySchema = {
  type: 'object',
  additionalProperties: false,
  description: 'A service key as listed: never its secret.',
  required: [
    'name',
    'instance',
    'clientId',
    'keyType',
    'secretPrefix',
    'rotation',
    'expiresAt',
    'expired',
    'createdAt',
  ],
  properties: {
    name: objectName,
    instance: objectName,
    clientId: { type: 'string' },
    keyType: { type: 'string', enum: keyTypes },
    secretPrefix: { ...nullableString, description: 'First characters of the secret, to tell keys apart.' },
    rotation: {
      type: ['object', 'null'],
      additionalProperties: false,
      description: 'While a rotation overlaps: the previous secret, still accepted until `validUntil`.',
      required: ['previousSecretPrefix', 'validUntil'],
      properties: { previousSecretPrefix: nullableString, validUntil: time },
    },
    expiresAt: nullableTime,
    expired: { type: 'boolean' },
    createdAt: time,
  },
} as const

export const accessRecordSchema = {
  type: 'object',
  additionalProperties: false,
  required: [
    'time',
    'correlationId',
    'clientId',
    'instanceId',
    'flow',
    'method',
    'path',
    'status',
    'upstreamStatus',
    'bytesIn',
    'bytesOut',
    'durationMs',
    'upstreamDurationMs',
    'reason',
    'sourceAddress',
    'mplId',
  ],
  properties: {
    time,
    correlationId: { type: 'string' },
    clientId: nullableString,
    instanceId: nullableString,
    flow: nullableString,
    method: { type: 'string' },
    path: { type: 'string' },
    status: { type: 'integer' },
    upstreamStatus: { type: ['integer', 'null'] },
    bytesIn: { type: 'integer' },
    bytesOut: { type: 'integer' },
    durationMs: { type: 'number' },
    upstreamDurationMs: { type: ['number', 'null'] },
    reason: { ...nullableString, description: 'Error code of a rejection; null when forwarded.' },
    sourceAddress: nullableString,
    mplId: { ...nullableString, description: "CPI's SAP_MessageProcessingLogID from the upstream's answer." },
  },
} as const

export const auditEventSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['seq', 'time', 'actor', 'sourceAddress', 'action', 'target', 'prevHash', 'hash'],
  properties: {
    seq: { type: 'integer' },
    time,
    actor: { type: 'string' },
    sourceAddress: nullableString,
    action: { type: 'string' },
    target: { type: 'string' },
    before: { description: 'The value before the change, secrets removed.' },
    after: { description: 'The value after the change, secrets removed.' },
    prevHash: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    hash: { type: 'string', pattern: '^[0-9a-f]{64}$' },
  },
} as const

export const signingKeySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['kid', 'alg', 'state', 'createdAt', 'activatedAt', 'retiredAt', 'publishUntil'],
  properties: {
    kid: { type: 'string' },
    alg: { type: 'string', enum: ['RS256', 'ES256', 'EdDSA'] },
    state: { type: 'string', enum: ['next', 'active', 'retired'] },
    createdAt: time,
    activatedAt: nullableTime,
    retiredAt: nullableTime,
    publishUntil: nullableTime,
  },
} as const

export const defaultPageLimit = 100

export const pageQueryFields = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: defaultPageLimit })),
  cursor: Type.Optional(
    Type.String({ maxLength: 512, description: 'The `next` value of the previous page.' }),
  ),
}

export function listOf(item: object) {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['items'],
    properties: { items: { type: 'array', items: item } },
  } as const
}

export function pageOf(item: object) {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['items', 'next'],
    properties: {
      items: { type: 'array', items: item },
      next: { ...nullableString, description: 'Cursor of the next page; null on the last page.' },
    },
  } as const
}

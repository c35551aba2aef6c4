/**
 * JSON Schemas of the admin API's bodies, queries and responses. Fastify compiles them when the
 * routes are registered, and the OpenAPI document is generated from the same objects, so the
 * served contract and the enforced one cannot drift. Every object is closed.
 */

const time = { type: 'string', format: 'date-time' } as const
const nullableTime = { type: ['string', 'null'], format: 'date-time' } as const
const nullableString = { type: ['string', 'null'] } as const

export const roleName = { type: 'string', pattern: '^[A-Za-z0-9_.]+$', minLength: 1, maxLength: 100 } as const
/** Instances and service keys (as the identity service names them). */
export const objectName = {
  type: 'string',
  pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$',
  minLength: 1,
  maxLength: 100,
} as const
export const connectionName = {
  type: 'string',
  pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$',
  minLength: 1,
  maxLength: 64,
} as const

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

export const roleSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'description', 'builtIn', 'createdAt'],
  properties: { name: roleName, description: nullableString, builtIn: { type: 'boolean' }, createdAt: time },
} as const

export const sapInstanceParametersSchema = {
  type: 'object',
  additionalProperties: false,
  description: "SAP's instance parameters, verbatim.",
  properties: {
    roles: { type: 'array', items: roleName, maxItems: 100 },
    'grant-types': { type: 'array', items: { type: 'string' }, maxItems: 10 },
    'token-validity': { type: 'integer' },
  },
} as const

export const instanceSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'name', 'plan', 'parameters', 'createdAt', 'updatedAt'],
  properties: {
    id: { type: 'string' },
    name: objectName,
    plan: { type: 'string', enum: ['integration-flow', 'api'] },
    parameters: {
      ...sapInstanceParametersSchema,
      required: ['roles', 'grant-types', 'token-validity'],
    },
    createdAt: time,
    updatedAt: time,
  },
} as const

export const keyParametersSchema = {
  type: 'object',
  additionalProperties: false,
  description: "SAP's service key parameters, verbatim.",
  properties: {
    'key-type': { type: 'string', enum: ['clientsecret', 'certificate', 'certificate_external'] },
    validity: { type: 'integer', description: 'Days until the key expires.' },
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
    keyType: { type: 'string', enum: ['clientsecret', 'certificate', 'certificate_external'] },
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

export const sapServiceKeySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['oauth'],
  description: "SAP's service key JSON, returned once: it holds the secret, which is never shown again.",
  properties: {
    oauth: {
      type: 'object',
      additionalProperties: true,
      required: ['clientid', 'clientsecret', 'url', 'createdate', 'tokenurl'],
      properties: {
        clientid: { type: 'string' },
        clientsecret: { type: 'string' },
        url: { type: 'string' },
        createdate: { type: 'string' },
        tokenurl: { type: 'string' },
      },
    },
  },
} as const

export const flowSchema = {
  type: 'object',
  additionalProperties: false,
  required: [
    'id',
    'address',
    'upstream',
    'role',
    'methods',
    'csrf',
    'maxBodyBytes',
    'timeoutMs',
    'connection',
    'createdAt',
    'updatedAt',
  ],
  properties: {
    id: { type: 'string' },
    address: { type: 'string', description: 'Called at `<runtime url>/http<address>`.' },
    upstream: { type: 'string' },
    role: roleName,
    methods: { type: 'array', items: { type: 'string' } },
    csrf: { type: 'boolean' },
    maxBodyBytes: { type: 'integer' },
    timeoutMs: { type: 'integer' },
    connection: { ...nullableString, description: 'Upstream connection name; null: none.' },
    createdAt: time,
    updatedAt: time,
  },
} as const

const flowFields = {
  upstream: { type: 'string', minLength: 1, maxLength: 2048 },
  role: roleName,
  methods: {
    type: 'array',
    minItems: 1,
    maxItems: 7,
    items: { type: 'string', enum: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] },
  },
  csrf: { type: 'boolean' },
  maxBodyBytes: { type: 'integer', minimum: 0 },
  timeoutMs: { type: 'integer', minimum: 100 },
  connection: { type: ['string', 'null'], maxLength: 64 },
} as const

export const createFlowBody = {
  type: 'object',
  additionalProperties: false,
  required: ['address', 'upstream'],
  properties: { address: { type: 'string', minLength: 1, maxLength: 200 }, ...flowFields },
} as const

export const updateFlowBody = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: flowFields,
} as const

export const connectionSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'type', 'settings', 'hasSecret', 'createdAt', 'updatedAt'],
  properties: {
    name: connectionName,
    type: { type: 'string', enum: ['none', 'basic', 'oauth2-client-credentials', 'client-certificate'] },
    settings: {
      type: 'object',
      additionalProperties: true,
      description: 'Non-secret settings (user name, token URL, client id, certificate).',
    },
    hasSecret: { type: 'boolean', description: 'A secret is stored (encrypted); it is never returned.' },
    createdAt: time,
    updatedAt: time,
  },
} as const

const connectionFields = {
  type: { type: 'string', enum: ['none', 'basic', 'oauth2-client-credentials', 'client-certificate'] },
  username: { type: 'string', minLength: 1, maxLength: 256 },
  password: { type: 'string', minLength: 1, maxLength: 1024, writeOnly: true },
  serviceKey: {
    description: 'An SAP service key, verbatim: the JSON object or its text.',
    writeOnly: true,
    anyOf: [{ type: 'string', maxLength: 65536 }, { type: 'object' }],
  },
  certificate: { type: 'string', maxLength: 65536, description: 'PEM chain of the client certificate.' },
  key: { type: 'string', maxLength: 65536, writeOnly: true, description: 'PEM private key.' },
  ca: { type: 'string', maxLength: 262144, description: 'PEM CA bundle trusted for this upstream.' },
} as const

export const createConnectionBody = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'type'],
  properties: { name: connectionName, ...connectionFields },
} as const

export const replaceConnectionBody = {
  type: 'object',
  additionalProperties: false,
  required: ['type'],
  properties: connectionFields,
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

export const pageQueryFields = {
  limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
  cursor: { type: 'string', maxLength: 512, description: 'The `next` value of the previous page.' },
} as const

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

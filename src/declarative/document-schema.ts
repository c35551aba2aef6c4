/**
 * The declarative configuration format (flowgate.yaml) in its three forms:
 * - the file an administrator writes: connection secrets only as references (`passwordFrom`,
 *   `serviceKeyFrom`, `keyFrom`, … naming an environment variable or a file), never inline;
 * - the resolved document the CLI sends to the admin API after reading those references;
 * - the exported document: the file form without any secret reference (an existing connection
 *   without one keeps its stored secret), so `export | apply` changes nothing.
 * Every object is closed: a misspelt key is an error, never silently ignored.
 */

const roleName = { type: 'string', pattern: '^[A-Za-z0-9_.]+$', minLength: 1, maxLength: 100 } as const
const objectName = {
  type: 'string',
  pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$',
  minLength: 1,
  maxLength: 100,
} as const
const connectionName = {
  type: 'string',
  pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$',
  minLength: 1,
  maxLength: 64,
} as const

export const secretSourceSchema = {
  type: 'object',
  additionalProperties: false,
  description: 'Where a secret comes from: an environment variable, or a file (relative to the YAML file).',
  minProperties: 1,
  maxProperties: 1,
  properties: {
    env: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
    file: { type: 'string', minLength: 1, maxLength: 4096 },
  },
} as const

const roleEntry = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: roleName,
    description: { type: 'string', maxLength: 512, description: 'Set when the role is created.' },
  },
} as const

const flowEntry = {
  type: 'object',
  additionalProperties: false,
  required: ['address', 'upstream'],
  properties: {
    address: { type: 'string', minLength: 1, maxLength: 200 },
    upstream: { type: 'string', minLength: 1, maxLength: 2048 },
    role: roleName,
    methods: { type: 'array', minItems: 1, maxItems: 7, items: { type: 'string' } },
    csrf: { type: 'boolean' },
    maxBodyBytes: { type: 'integer', minimum: 0 },
    timeoutMs: { type: 'integer', minimum: 100 },
    connection: { type: ['string', 'null'], maxLength: 64 },
  },
} as const

const instanceEntry = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: objectName,
    plan: { type: 'string', enum: ['integration-flow', 'api'], default: 'integration-flow' },
    parameters: {
      type: 'object',
      additionalProperties: false,
      description: "SAP's instance parameters, verbatim.",
      properties: {
        roles: { type: 'array', items: roleName, maxItems: 100 },
        'grant-types': { type: 'array', items: { type: 'string' }, maxItems: 10 },
        'token-validity': { type: 'integer' },
      },
    },
  },
} as const

const connectionTypes = ['none', 'basic', 'oauth2-client-credentials', 'client-certificate'] as const

const fileConnectionEntry = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'type'],
  properties: {
    name: connectionName,
    type: { type: 'string', enum: connectionTypes },
    username: { type: 'string', minLength: 1, maxLength: 256 },
    passwordFrom: secretSourceSchema,
    serviceKeyFrom: secretSourceSchema,
    certificateFrom: secretSourceSchema,
    keyFrom: secretSourceSchema,
    caFrom: secretSourceSchema,
  },
} as const

const resolvedConnectionEntry = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'type'],
  properties: {
    name: connectionName,
    type: { type: 'string', enum: connectionTypes },
    username: { type: 'string', minLength: 1, maxLength: 256 },
    password: { type: 'string', minLength: 1, maxLength: 1024, writeOnly: true },
    serviceKey: { type: 'string', minLength: 1, maxLength: 65536, writeOnly: true },
    certificate: { type: 'string', minLength: 1, maxLength: 65536 },
    key: { type: 'string', minLength: 1, maxLength: 65536, writeOnly: true },
    ca: { type: 'string', minLength: 1, maxLength: 262144 },
  },
} as const

const exportedConnectionEntry = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'type'],
  properties: {
    name: connectionName,
    type: { type: 'string', enum: connectionTypes },
    username: { type: 'string' },
  },
} as const

function documentOf(connection: object, description: string) {
  return {
    type: 'object',
    additionalProperties: false,
    description,
    properties: {
      roles: { type: 'array', items: roleEntry, maxItems: 10000 },
      connections: { type: 'array', items: connection, maxItems: 10000 },
      flows: { type: 'array', items: flowEntry, maxItems: 10000 },
      instances: { type: 'array', items: instanceEntry, maxItems: 10000 },
    },
  } as const
}

export const fileDocumentSchema = documentOf(
  fileConnectionEntry,
  'flowgate.yaml: connection secrets are referenced (`…From: {env: NAME}` or `{file: PATH}`), never inline.',
)
export const resolvedDocumentSchema = documentOf(
  resolvedConnectionEntry,
  'A declarative document whose secret references the client has resolved.',
)
export const exportedDocumentSchema = documentOf(
  exportedConnectionEntry,
  'The current state; connections carry no secret (applying it keeps the stored ones).',
)

export const planSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['changes', 'unchanged', 'applied'],
  properties: {
    changes: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['action', 'kind', 'name', 'fields'],
        properties: {
          action: { type: 'string', enum: ['create', 'update', 'delete'] },
          kind: { type: 'string', enum: ['role', 'connection', 'flow', 'instance'] },
          name: { type: 'string' },
          fields: {
            type: 'array',
            items: { type: 'string' },
            description: 'Names (never values) of the fields an update changes.',
          },
        },
      },
    },
    unchanged: { type: 'integer', description: 'Objects the document names that already match.' },
    applied: { type: 'boolean', description: 'False for a plan or a dry run.' },
  },
} as const

/**
 * The declarative configuration format (flowgate.yaml) in its three forms:
 * - the file an administrator writes: connection secrets only as references (`passwordFrom`,
 *   `serviceKeyFrom`, `keyFrom`, … naming an environment variable or a file), never inline;
 * - the resolved document the CLI sends to the admin API after reading those references;
 * - the exported document: the file form without any secret reference (an existing connection
 *   without one keeps its stored secret), so `export | apply` changes nothing.
 * Every object is closed: a misspelt key is an error, never silently ignored.
 */

import { type Static, type TSchema, Type } from 'typebox'
import { connectionInputSchema, connectionType, connectionUsername } from '../model/connection.ts'
import { flowInputSchema } from '../model/flow.ts'
import { instanceInputSchema } from '../model/instance.ts'
import { connectionName } from '../model/names.ts'
import { roleInputSchema } from '../model/role.ts'
import { closed } from '../model/schema.ts'

const secretSourceSchema = closed(
  {
    env: Type.Optional(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$' })),
    file: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
  },
  {
    description: 'Where a secret comes from: an environment variable, or a file (relative to the YAML file).',
    minProperties: 1,
    maxProperties: 1,
  },
)
export type SecretSource = Static<typeof secretSourceSchema>

const fileConnectionEntry = closed({
  name: connectionName,
  type: connectionType,
  username: Type.Optional(connectionUsername),
  passwordFrom: Type.Optional(secretSourceSchema),
  serviceKeyFrom: Type.Optional(secretSourceSchema),
  certificateFrom: Type.Optional(secretSourceSchema),
  keyFrom: Type.Optional(secretSourceSchema),
  caFrom: Type.Optional(secretSourceSchema),
})
export type FileConnectionEntry = Static<typeof fileConnectionEntry>

const exportedConnectionEntry = closed({
  name: connectionName,
  type: connectionType,
  username: Type.Optional(Type.String()),
})

/** The document around a form of connection entry; roles, flows and instances are the entities' inputs. */
function documentOf<const Connection extends TSchema>(connection: Connection, description: string) {
  const many = <Item extends TSchema>(item: Item) => Type.Optional(Type.Array(item, { maxItems: 10000 }))
  return closed(
    {
      roles: many(roleInputSchema),
      connections: many(connection),
      flows: many(flowInputSchema),
      instances: many(instanceInputSchema),
    },
    { description },
  )
}

export const fileDocumentSchema = documentOf(
  fileConnectionEntry,
  'flowgate.yaml: connection secrets are referenced (`…From: {env: NAME}` or `{file: PATH}`), never inline.',
)
/** The resolved document's connections are the connection input of the admin API. */
export const resolvedDocumentSchema = documentOf(
  connectionInputSchema,
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

import { type Static, Type } from 'typebox'
import { connectionName } from './names.ts'
import { anyObject, closed, type Frozen, stringEnum, time } from './schema.ts'

export const connectionTypes = ['none', 'basic', 'oauth2-client-credentials', 'client-certificate'] as const
export type ConnectionType = (typeof connectionTypes)[number]

export const connectionType = stringEnum(connectionTypes)
export const connectionUsername = Type.String({ minLength: 1, maxLength: 256 })

/**
 * What defines a connection, secrets included (sent once, stored encrypted, never returned), by type:
 * - `none`: nothing;
 * - `basic`: `username`, `password`;
 * - `oauth2-client-credentials`: `serviceKey`, an SAP service key pasted verbatim, as JSON text or
 *   parsed: `{"oauth": {"clientid", "clientsecret", "tokenurl", "url", ...}}` or the flat form;
 * - `client-certificate`: `certificate` (PEM chain), `key` (PEM private key), optional `ca` (PEM).
 * Which fields a type needs, and what a service key or a certificate must hold, is checked by
 * src/flows/connection-input.ts.
 */
const definitionFields = {
  type: connectionType,
  username: Type.Optional(connectionUsername),
  password: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, writeOnly: true })),
  serviceKey: Type.Optional(
    Type.Union([Type.String({ maxLength: 65536 }), anyObject()], {
      description: 'An SAP service key, verbatim: the JSON object or its text.',
      writeOnly: true,
    }),
  ),
  certificate: Type.Optional(
    Type.String({ maxLength: 65536, description: 'PEM chain of the client certificate.' }),
  ),
  key: Type.Optional(Type.String({ maxLength: 65536, writeOnly: true, description: 'PEM private key.' })),
  ca: Type.Optional(
    Type.String({ maxLength: 262144, description: 'PEM CA bundle trusted for this upstream.' }),
  ),
}

/** A connection as an administrator creates it: the admin API's body and a resolved declarative entry. */
export const connectionInputSchema = closed({ name: connectionName, ...definitionFields })
export type ConnectionInput = Frozen<Static<typeof connectionInputSchema>>

/** A connection's new definition under its name (the admin API's PUT body). */
export const connectionReplacementSchema = closed(definitionFields)

/** A connection as the admin API shows it: settings only, never the secret. */
export const connectionSchema = closed({
  name: connectionName,
  type: connectionType,
  settings: anyObject({
    additionalProperties: true,
    description: 'Non-secret settings (user name, token URL, client id, certificate).',
  }),
  hasSecret: Type.Boolean({ description: 'A secret is stored (encrypted); it is never returned.' }),
  createdAt: time,
  updatedAt: time,
})
export type ConnectionView = Static<typeof connectionSchema>

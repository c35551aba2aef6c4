import { type Static, Type } from 'typebox'
import { closed, type Frozen, stringEnum } from './schema.ts'

export const keyTypes = ['clientsecret', 'certificate', 'certificate_external'] as const
export type KeyType = (typeof keyTypes)[number]

/** Service-key parameters as SAP users write them: `{"key-type": "clientsecret", "validity": 365}`. */
export const keyParametersSchema = closed(
  {
    'key-type': Type.Optional(stringEnum(keyTypes)),
    validity: Type.Optional(Type.Integer({ description: 'Days until the key expires.' })),
  },
  { description: "SAP's service key parameters, verbatim." },
)
export type KeyParametersInput = Static<typeof keyParametersSchema>

/** A service key exactly as SAP prints it, returned once: it holds the secret, never shown again. */
export const sapServiceKeySchema = closed(
  {
    oauth: Type.Object(
      {
        clientid: Type.String(),
        clientsecret: Type.String(),
        url: Type.String(),
        createdate: Type.String(),
        tokenurl: Type.String(),
      },
      { additionalProperties: true },
    ),
  },
  { description: "SAP's service key JSON, returned once: it holds the secret, which is never shown again." },
)
export type SapServiceKey = Frozen<Static<typeof sapServiceKeySchema>>

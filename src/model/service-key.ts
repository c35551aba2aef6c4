import { type Static, Type } from 'typebox'
import { closed, stringEnum } from './schema.ts'

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

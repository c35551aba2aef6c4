import { FlowgateError } from '../lib/errors.ts'
import { keyParametersSchema } from '../model/service-key.ts'
import { invalidParameters, sapParametersObject } from './sap-parameters.ts'

/** Service-key parameters as SAP users write them: `{"key-type": "clientsecret", "validity": 365}`. */
export interface KeyParameters {
  readonly keyType: 'clientsecret'
  /** Days until the key expires; null: never. */
  readonly validityDays: number | null
}

const maxKeyValidityDays = 3650
const invalid = invalidParameters

export function parseKeyParameters(raw: unknown): KeyParameters {
  const record = sapParametersObject(raw, keyParametersSchema)
  const keyType = record['key-type'] ?? 'clientsecret'
  if (keyType === 'certificate' || keyType === 'certificate_external') {
    throw new FlowgateError('ERR_KEY_TYPE_NOT_SUPPORTED', {
      description: `key type "${keyType}" is not supported yet; use "clientsecret"`,
    })
  }
  if (keyType !== 'clientsecret') {
    throw invalid('"key-type" must be "clientsecret", "certificate" or "certificate_external"')
  }
  const validity = record.validity
  if (validity === undefined) return { keyType, validityDays: null }
  if (
    typeof validity !== 'number' ||
    !Number.isInteger(validity) ||
    validity < 1 ||
    validity > maxKeyValidityDays
  ) {
    throw invalid(`"validity" must be a whole number of days between 1 and ${maxKeyValidityDays}`)
  }
  return { keyType, validityDays: validity }
}

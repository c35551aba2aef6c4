import { FlowgateError } from '../lib/errors.ts'

/** SAP parameters (of an instance or a service key) that break a rule: ERR_INVALID_PARAMETERS. */
export function invalidParameters(description: string, detail?: string): FlowgateError {
  return new FlowgateError('ERR_INVALID_PARAMETERS', {
    description: `invalid parameters: ${description}`,
    ...(detail === undefined ? {} : { detail }),
  })
}

/**
 * The object SAP's `-c` parameters must be (absent: empty), holding only the keys its schema
 * names. The admin API's schema refuses the same; this also holds callers that do not pass
 * through it (the demo, the services' own tests).
 */
export function sapParametersObject(
  raw: unknown,
  schema: { readonly properties: object },
): Readonly<Record<string, unknown>> {
  const input = raw === undefined || raw === null ? {} : raw
  if (typeof input !== 'object' || Array.isArray(input)) {
    throw invalidParameters('parameters must be a JSON object')
  }
  const known = Object.keys(schema.properties)
  for (const key of Object.keys(input)) {
    if (!known.includes(key)) {
      const allowed = known.map((name) => `"${name}"`).join(', ')
      throw invalidParameters(`unknown key "${key.slice(0, 64)}" (allowed: ${allowed})`)
    }
  }
  return input as Readonly<Record<string, unknown>>
}

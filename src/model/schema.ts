import { type Static, type TProperties, type TSchema, Type } from 'typebox'

/** Building blocks of the entity schemas: JSON Schema as the admin API has always served it. */

/** An object that refuses unknown properties: a misspelt key is an error, never ignored. */
export function closed<const Properties extends TProperties>(
  properties: Properties,
  options: Record<string, unknown> = {},
) {
  return Type.Object(properties, { additionalProperties: false, ...options })
}

/** A string of a fixed set, typed as that set (`{type: 'string', enum: [...]}`). */
export function stringEnum<const Values extends readonly string[]>(
  values: Values,
  options: Record<string, unknown> = {},
) {
  return Type.Unsafe<Values[number]>({ type: 'string', enum: values, ...options })
}

/** The schema's type or null (`type: [type, 'null']`, keeping the other keywords). */
export function nullable<Schema extends TSchema & { readonly type: string }>(
  schema: Schema,
  options: Record<string, unknown> = {},
) {
  return Type.Unsafe<Static<Schema> | null>({ ...schema, type: [schema.type, 'null'], ...options })
}

export const time = Type.String({ format: 'date-time' })
export const nullableTime = nullable(time)
export const nullableString = nullable(Type.String())

/** A schema's type with every property and array read-only, as Flowgate's records are. */
export type Frozen<T> = T extends readonly (infer Item)[]
  ? readonly Frozen<Item>[]
  : T extends object
    ? { readonly [K in keyof T]: Frozen<T[K]> }
    : T

/** Any JSON object (`{type: 'object'}`, more keywords in `options`). */
export function anyObject(options: Record<string, unknown> = {}) {
  return Type.Unsafe<Record<string, unknown>>({ type: 'object', ...options })
}

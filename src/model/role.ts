import { type Static, Type } from 'typebox'
import { roleName } from './names.ts'
import { closed, type Frozen, nullableString, time } from './schema.ts'

/** A role as an administrator creates it: the admin API's body and an entry of the declarative document. */
export const roleInputSchema = closed({
  name: roleName,
  description: Type.Optional(Type.String({ maxLength: 512, description: 'Set when the role is created.' })),
})
export type RoleInput = Frozen<Static<typeof roleInputSchema>>

/** A role as the admin API shows it. */
export const roleSchema = closed({
  name: roleName,
  description: nullableString,
  builtIn: Type.Boolean(),
  createdAt: time,
})
export type RoleView = Static<typeof roleSchema>

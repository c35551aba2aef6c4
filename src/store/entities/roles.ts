import { FlowgateError } from '../../lib/errors.ts'
import { instanceFromRow, roleFromRow } from '../rows.ts'
import type { Role } from '../types.ts'
import { conflict, type OperationContext } from './operation-context.ts'
import { allOf, firstOf, refuseDuplicate } from './row-steps.ts'

export interface RoleOperations {
  listRoles(): Promise<Role[]>
  getRole(name: string): Promise<Role | undefined>
  createRole(role: Role): Promise<void>
  /**
   * Throws ERR_ROLE_IN_USE when an instance or flow still names it, ERR_ROLE_BUILT_IN for a built-in
   * role. Returns false when absent.
   */
  deleteRole(name: string): Promise<boolean>
}

export function roleOperations({ reader, write, dialect, recordChange }: OperationContext): RoleOperations {
  return {
    listRoles: () => allOf(reader.selectFrom('roles').selectAll().orderBy('name'), roleFromRow),
    getRole: (name) => firstOf(reader.selectFrom('roles').selectAll().where('name', '=', name), roleFromRow),
    createRole: (role) =>
      write(async (tx) => {
        await refuseDuplicate(
          tx.selectFrom('roles').select('name').where('name', '=', role.name),
          `role ${role.name} already exists`,
        )
        await tx
          .insertInto('roles')
          .values({
            name: role.name,
            description: role.description,
            built_in: dialect.boolean(role.builtIn),
            created_at: role.createdAt,
          })
          .execute()
        await recordChange(tx, 'role', role.name)
      }),
    deleteRole: (name) =>
      write(async (tx) => {
        const role = await tx.selectFrom('roles').selectAll().where('name', '=', name).executeTakeFirst()
        if (role === undefined) return false
        if (role.built_in) {
          throw new FlowgateError('ERR_ROLE_BUILT_IN', {
            description: `built-in role ${name} cannot be deleted`,
          })
        }
        const flow = await tx
          .selectFrom('flows')
          .select('address')
          .where('role', '=', name)
          .executeTakeFirst()
        if (flow !== undefined)
          throw conflict('ERR_ROLE_IN_USE', `role ${name} is required by flow ${flow.address}`)
        // The LIKE narrows the scan (role names may hold `_`, which LIKE treats as a wildcard, so it
        // only over-selects); the parsed parameters decide.
        const candidates = await tx
          .selectFrom('instances')
          .selectAll()
          .where('parameters', 'like', `%"${name}"%`)
          .orderBy('name')
          .execute()
        const holder = candidates
          .map(instanceFromRow)
          .find((instance) => instance.parameters.roles.includes(name))
        if (holder !== undefined) {
          throw conflict('ERR_ROLE_IN_USE', `role ${name} is assigned to instance ${holder.name}`)
        }
        await tx.deleteFrom('roles').where('name', '=', name).execute()
        await recordChange(tx, 'role', name)
        return true
      }),
  }
}

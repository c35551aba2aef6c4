import type { RoleView } from '../../model/role.ts'
import type { CommandSpec } from '../command.ts'
import { cell } from '../output.ts'
import { adminCommand, arg, deleteCommand, listCommand, printDone, segment } from './shared.ts'

export const roleCommands: readonly CommandSpec[] = [
  adminCommand({
    name: 'role create',
    summary: 'Create a role that flows can require and instances can hold',
    synopsis: '<name>',
    options: { description: { type: 'string', value: 'TEXT', help: 'What the role grants' } },
    async run(context) {
      const admin = await context.admin()
      const description = context.string('description')
      const role = await admin.post<RoleView>('/admin/v1/roles', {
        name: arg(context, 0),
        ...(description === undefined ? {} : { description }),
      })
      printDone(context, `Created role ${role.name}.`, role)
      return 0
    },
  }),
  listCommand<RoleView>({
    name: 'role list',
    summary: 'List roles',
    path: () => '/admin/v1/roles',
    headers: ['name', 'built-in', 'description', 'created'],
    row: (role) => [role.name, role.builtIn ? 'yes' : 'no', cell(role.description), role.createdAt],
  }),
  deleteCommand({
    name: 'role delete',
    summary: 'Delete a role (refused while a flow or instance names it)',
    path: (context) => `/admin/v1/roles/${segment(arg(context, 0))}`,
    done: (context) => `Deleted role ${arg(context, 0)}.`,
  }),
]

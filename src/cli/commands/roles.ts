import type { CommandSpec } from '../command.ts'
import { cell } from '../output.ts'
import { arg, type Listing, printDone, printList, segment } from './shared.ts'

interface RoleView {
  readonly name: string
  readonly description: string | null
  readonly builtIn: boolean
  readonly createdAt: string
}

export const roleCommands: readonly CommandSpec[] = [
  {
    name: 'role create',
    summary: 'Create a role that flows can require and instances can hold',
    synopsis: '<name>',
    args: { min: 1, max: 1 },
    kind: 'admin',
    json: true,
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
  },
  {
    name: 'role list',
    summary: 'List roles',
    kind: 'admin',
    json: true,
    async run(context) {
      const { items } = await (await context.admin()).get<Listing<RoleView>>('/admin/v1/roles')
      printList(context, items, ['name', 'built-in', 'description', 'created'], (role) => [
        role.name,
        role.builtIn ? 'yes' : 'no',
        cell(role.description),
        role.createdAt,
      ])
      return 0
    },
  },
  {
    name: 'role delete',
    summary: 'Delete a role (refused while a flow or instance names it)',
    synopsis: '<name>',
    args: { min: 1, max: 1 },
    kind: 'admin',
    async run(context) {
      await (await context.admin()).delete(`/admin/v1/roles/${segment(arg(context, 0))}`)
      printDone(context, `Deleted role ${arg(context, 0)}.`)
      return 0
    },
  },
]

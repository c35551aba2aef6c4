import { usageError } from '../cli-error.ts'
import type { CommandSpec } from '../command.ts'
import { readJsonParameter } from '../params.ts'
import { arg, type Listing, printDone, printList, printObject, segment } from './shared.ts'

interface InstanceView {
  readonly id: string
  readonly name: string
  readonly plan: string
  readonly parameters: { readonly roles: readonly string[]; readonly 'token-validity': number }
  readonly createdAt: string
  readonly updatedAt: string
}

const parametersOption = {
  type: 'string',
  short: 'c',
  value: 'JSON|@FILE',
  help: 'SAP instance parameters, e.g. \'{"roles":["ESBMessaging.send"],"token-validity":3600}\'',
} as const

export const instanceCommands: readonly CommandSpec[] = [
  {
    name: 'instance create',
    summary: 'Create a service instance (plan integration-flow: runtime access; api: the admin API)',
    synopsis: '<name>',
    args: { min: 1, max: 1 },
    kind: 'admin',
    json: true,
    options: {
      plan: { type: 'string', value: 'PLAN', help: 'integration-flow (default) or api' },
      parameters: parametersOption,
    },
    async run(context) {
      const { io } = context
      const plan = context.string('plan') ?? 'integration-flow'
      const parameters = readJsonParameter(context.string('parameters'), io.cwd)
      const instance = await (await context.admin()).post<InstanceView>('/admin/v1/instances', {
        name: arg(context, 0),
        plan,
        ...(parameters === undefined ? {} : { parameters }),
      })
      printDone(
        context,
        `Created instance ${instance.name} (plan ${instance.plan}, roles ${instance.parameters.roles.join(',')}).`,
        instance,
      )
      return 0
    },
  },
  {
    name: 'instance list',
    summary: 'List service instances',
    kind: 'admin',
    json: true,
    async run(context) {
      const { items } = await (await context.admin()).get<Listing<InstanceView>>('/admin/v1/instances')
      printList(context, items, ['name', 'plan', 'roles', 'token-validity', 'created'], (instance) => [
        instance.name,
        instance.plan,
        instance.parameters.roles.join(','),
        String(instance.parameters['token-validity']),
        instance.createdAt,
      ])
      return 0
    },
  },
  {
    name: 'instance show',
    summary: 'Show a service instance',
    synopsis: '<name>',
    args: { min: 1, max: 1 },
    kind: 'admin',
    json: true,
    async run(context) {
      const instance = await (await context.admin()).get<InstanceView>(
        `/admin/v1/instances/${segment(arg(context, 0))}`,
      )
      printObject(context, { ...instance })
      return 0
    },
  },
  {
    name: 'instance update',
    summary: "Update an instance's parameters (keys not given keep their value)",
    synopsis: '<name> -c <json>',
    args: { min: 1, max: 1 },
    kind: 'admin',
    json: true,
    options: { parameters: parametersOption },
    async run(context) {
      const parameters = readJsonParameter(context.string('parameters'), context.io.cwd)
      if (parameters === undefined) throw usageError('instance update needs -c JSON')
      const instance = await (await context.admin()).patch<InstanceView>(
        `/admin/v1/instances/${segment(arg(context, 0))}`,
        { parameters },
      )
      printDone(context, `Updated instance ${instance.name}.`, instance)
      return 0
    },
  },
  {
    name: 'instance delete',
    summary: 'Delete an instance and its keys (their tokens stop working at once)',
    synopsis: '<name>',
    args: { min: 1, max: 1 },
    kind: 'admin',
    async run(context) {
      await (await context.admin()).delete(`/admin/v1/instances/${segment(arg(context, 0))}`)
      printDone(context, `Deleted instance ${arg(context, 0)} and its service keys.`)
      return 0
    },
  },
]

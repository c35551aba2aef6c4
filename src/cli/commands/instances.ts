import type { InstanceView } from '../../model/instance.ts'
import { usageError } from '../cli-error.ts'
import type { CommandContext, CommandSpec } from '../command.ts'
import { readJsonParameter } from '../params.ts'
import { adminCommand, arg, deleteCommand, listCommand, printDone, segment, showCommand } from './shared.ts'

const instancePath = (context: CommandContext) => `/admin/v1/instances/${segment(arg(context, 0))}`

const parametersOption = {
  type: 'string',
  short: 'c',
  value: 'JSON|@FILE',
  help: 'SAP instance parameters, e.g. \'{"roles":["ESBMessaging.send"],"token-validity":3600}\'',
} as const

export const instanceCommands: readonly CommandSpec[] = [
  adminCommand({
    name: 'instance create',
    summary: 'Create a service instance (plan integration-flow: runtime access; api: the admin API)',
    synopsis: '<name>',
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
  }),
  listCommand<InstanceView>({
    name: 'instance list',
    summary: 'List service instances',
    path: () => '/admin/v1/instances',
    headers: ['name', 'plan', 'roles', 'token-validity', 'created'],
    row: (instance) => [
      instance.name,
      instance.plan,
      instance.parameters.roles.join(','),
      String(instance.parameters['token-validity']),
      instance.createdAt,
    ],
  }),
  showCommand({ name: 'instance show', summary: 'Show a service instance', path: instancePath }),
  adminCommand({
    name: 'instance update',
    summary: "Update an instance's parameters (keys not given keep their value)",
    synopsis: '<name> -c <json>',
    options: { parameters: parametersOption },
    async run(context) {
      const parameters = readJsonParameter(context.string('parameters'), context.io.cwd)
      if (parameters === undefined) throw usageError('instance update needs -c JSON')
      const instance = await (await context.admin()).patch<InstanceView>(instancePath(context), {
        parameters,
      })
      printDone(context, `Updated instance ${instance.name}.`, instance)
      return 0
    },
  }),
  deleteCommand({
    name: 'instance delete',
    summary: 'Delete an instance and its keys (their tokens stop working at once)',
    path: instancePath,
    done: (context) => `Deleted instance ${arg(context, 0)} and its service keys.`,
  }),
]

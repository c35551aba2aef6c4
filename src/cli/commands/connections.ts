import { type ConnectionView, connectionTypes } from '../../model/connection.ts'
import { usageError } from '../cli-error.ts'
import type { CommandContext, CommandSpec, OptionSpec } from '../command.ts'
import { readUserFile } from '../params.ts'
import { adminCommand, arg, deleteCommand, listCommand, printDone, segment, showCommand } from './shared.ts'

const types: readonly string[] = connectionTypes
const connectionPath = (context: CommandContext) => `/admin/v1/connections/${segment(arg(context, 0))}`

const definitionOptions: Readonly<Record<string, OptionSpec>> = {
  type: { type: 'string', value: 'TYPE', help: `${types.join(' | ')} (inferred from the other options)` },
  username: { type: 'string', value: 'USER', help: 'basic: user name' },
  'password-env': {
    type: 'string',
    value: 'VAR',
    help: 'basic: read the password from this environment variable',
  },
  'password-file': { type: 'string', value: 'FILE', help: 'basic: read the password from this file' },
  'service-key': {
    type: 'string',
    value: 'FILE',
    help: 'oauth2-client-credentials: an SAP service key (JSON) of the CPI runtime',
  },
  certificate: { type: 'string', value: 'FILE', help: 'client-certificate: PEM certificate chain' },
  'private-key': { type: 'string', value: 'FILE', help: 'client-certificate: PEM private key' },
  'upstream-ca': {
    type: 'string',
    value: 'FILE',
    help: 'client-certificate: PEM CA trusted for the upstream',
  },
}

/** Secrets come from files or the environment, never from the command line (where `ps` shows them). */
function definitionOf(context: CommandContext): Record<string, string> {
  const { io } = context
  const read = (option: string) => {
    const path = context.string(option)
    return path === undefined ? undefined : readUserFile(path, io.cwd, `--${option}`).replace(/\r?\n$/, '')
  }
  let type = context.string('type')
  if (type === undefined) {
    if (context.string('service-key') !== undefined) type = 'oauth2-client-credentials'
    else if (context.string('certificate') !== undefined) type = 'client-certificate'
    else if (context.string('username') !== undefined) type = 'basic'
    else type = 'none'
  }
  if (!types.includes(type)) throw usageError(`--type must be one of ${types.join(', ')}`)
  const definition: Record<string, string> = { type }
  if (type === 'basic') {
    const username = context.string('username')
    if (username === undefined) throw usageError('a basic connection needs --username')
    const variable = context.string('password-env')
    let password: string | undefined
    if (variable !== undefined) {
      password = io.env[variable]
      if (password === undefined || password === '')
        throw usageError(`environment variable ${variable} is not set`)
    } else password = read('password-file')
    if (password === undefined)
      throw usageError('a basic connection needs --password-env VAR or --password-file FILE')
    definition.username = username
    definition.password = password
  } else if (type === 'oauth2-client-credentials') {
    const serviceKey = read('service-key')
    if (serviceKey === undefined)
      throw usageError('an oauth2-client-credentials connection needs --service-key FILE')
    definition.serviceKey = serviceKey
  } else if (type === 'client-certificate') {
    const certificate = read('certificate')
    const key = read('private-key')
    if (certificate === undefined || key === undefined) {
      throw usageError('a client-certificate connection needs --certificate FILE and --private-key FILE')
    }
    definition.certificate = certificate
    definition.key = key
    const ca = read('upstream-ca')
    if (ca !== undefined) definition.ca = ca
  }
  return definition
}

function summary(connection: ConnectionView): string {
  const { settings } = connection
  switch (connection.type) {
    case 'basic':
      return `user ${String(settings.username)}`
    case 'oauth2-client-credentials':
      return `client ${String(settings.clientId)} at ${String(settings.tokenUrl)}`
    case 'client-certificate':
      return `${String(settings.subject)} (valid to ${String(settings.validTo)})`
    default:
      return '-'
  }
}

export const connectionCommands: readonly CommandSpec[] = [
  adminCommand({
    name: 'connection create',
    summary: 'Create an upstream connection (how Flowgate authenticates to CPI)',
    synopsis: '<name>',
    options: definitionOptions,
    description:
      'Secrets are read from files or environment variables, sent once over TLS, stored encrypted and never shown again.',
    async run(context) {
      const body = { name: arg(context, 0), ...definitionOf(context) }
      const connection = await (await context.admin()).post<ConnectionView>('/admin/v1/connections', body)
      printDone(context, `Created ${connection.type} connection ${connection.name}.`, connection)
      return 0
    },
  }),
  adminCommand({
    name: 'connection update',
    summary: "Replace an upstream connection's definition and secret",
    synopsis: '<name>',
    options: definitionOptions,
    async run(context) {
      const connection = await (await context.admin()).put<ConnectionView>(
        connectionPath(context),
        definitionOf(context),
      )
      printDone(context, `Updated connection ${connection.name}.`, connection)
      return 0
    },
  }),
  listCommand<ConnectionView>({
    name: 'connection list',
    summary: 'List upstream connections (never their secrets)',
    path: () => '/admin/v1/connections',
    headers: ['name', 'type', 'details', 'updated'],
    row: (connection) => [connection.name, connection.type, summary(connection), connection.updatedAt],
  }),
  showCommand({
    name: 'connection show',
    summary: 'Show an upstream connection (never its secret)',
    path: connectionPath,
  }),
  deleteCommand({
    name: 'connection delete',
    summary: 'Delete an upstream connection (refused while a flow uses it)',
    path: connectionPath,
    done: (context) => `Deleted connection ${arg(context, 0)}.`,
  }),
]

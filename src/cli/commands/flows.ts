import type { FlowView } from '../../model/flow.ts'
import { usageError } from '../cli-error.ts'
import type { CommandContext, CommandSpec, OptionSpec } from '../command.ts'
import { cell } from '../output.ts'
import { adminCommand, arg, deleteCommand, listCommand, printDone, showCommand } from './shared.ts'

/** `/orders/*` → `orders%2F*`: the API takes an address without its leading slash as one segment. */
export function flowPath(address: string): string {
  return `/admin/v1/flows/${encodeURIComponent(address.replace(/^\/+/, ''))}`
}

const flowOptions: Readonly<Record<string, OptionSpec>> = {
  upstream: { type: 'string', value: 'URL', help: 'The iFlow endpoint to forward to (https://…)' },
  role: { type: 'string', value: 'ROLE', help: 'Role a caller must hold (default ESBMessaging.send)' },
  methods: { type: 'string', value: 'LIST', help: 'Allowed methods, comma-separated (default POST)' },
  csrf: {
    type: 'boolean',
    help: 'Require an X-CSRF-Token on modifying calls (default; --no-csrf turns it off)',
  },
  connection: {
    type: 'string',
    value: 'NAME',
    help: 'Upstream connection that authenticates to CPI',
  },
  'no-connection': { type: 'boolean', help: 'update: forward without an upstream connection' },
  'max-body-bytes': { type: 'string', value: 'N', help: 'Largest request body accepted' },
  'timeout-ms': { type: 'string', value: 'N', help: 'How long to wait for the upstream' },
  'header-mode': {
    type: 'string',
    value: 'MODE',
    help: 'Client request headers that reach the iFlow: deny-list (default) or allow-list',
  },
  'allow-header': {
    type: 'string',
    multiple: true,
    value: 'NAME',
    help: 'allow-list mode: a header that reaches the iFlow (repeatable; replaces the list)',
  },
}

/** `--header-mode` and `--allow-header` as the flow's `requestHeaders`, or undefined when neither is given. */
function requestHeadersOf(context: CommandContext): Record<string, unknown> | undefined {
  const mode = context.string('header-mode')
  const given = context.options['allow-header']
  const allow = Array.isArray(given) ? given.map(String) : typeof given === 'string' ? [given] : []
  if (mode === undefined && allow.length === 0) return undefined
  if (mode === 'deny-list') {
    if (allow.length > 0) throw usageError('--allow-header needs --header-mode allow-list')
    return { mode }
  }
  if (mode !== undefined && mode !== 'allow-list')
    throw usageError('--header-mode must be deny-list or allow-list')
  return { mode: 'allow-list', allow }
}

function integer(context: CommandContext, option: string): number | undefined {
  const value = context.string(option)
  if (value === undefined) return undefined
  if (!/^\d+$/.test(value)) throw usageError(`--${option} must be a whole number`)
  return Number(value)
}

function flowBody(context: CommandContext): Record<string, unknown> {
  const body: Record<string, unknown> = {}
  const upstream = context.string('upstream')
  if (upstream !== undefined) body.upstream = upstream
  const role = context.string('role')
  if (role !== undefined) body.role = role
  const methods = context.string('methods')
  if (methods !== undefined) {
    body.methods = methods
      .split(',')
      .map((method) => method.trim().toUpperCase())
      .filter((method) => method !== '')
  }
  if (context.options.csrf !== undefined) body.csrf = context.options.csrf === true
  // With negation allowed, parseArgs reports --no-connection as `connection: false`.
  const connection = context.options.connection
  if (typeof connection === 'string') body.connection = connection
  else if (connection === false || context.flag('no-connection')) body.connection = null
  const maxBodyBytes = integer(context, 'max-body-bytes')
  if (maxBodyBytes !== undefined) body.maxBodyBytes = maxBodyBytes
  const timeoutMs = integer(context, 'timeout-ms')
  if (timeoutMs !== undefined) body.timeoutMs = timeoutMs
  const requestHeaders = requestHeadersOf(context)
  if (requestHeaders !== undefined) body.requestHeaders = requestHeaders
  return body
}

export const flowCommands: readonly CommandSpec[] = [
  adminCommand({
    name: 'flow create',
    summary: 'Expose a flow: <runtime url>/http<address> forwards to --upstream',
    synopsis: '<address> --upstream <url>',
    options: flowOptions,
    async run(context) {
      const body = flowBody(context)
      if (body.upstream === undefined) throw usageError('flow create needs --upstream URL')
      if (body.connection === null) delete body.connection
      const flow = await (await context.admin()).post<FlowView>('/admin/v1/flows', {
        address: arg(context, 0),
        ...body,
      })
      printDone(context, `Created flow ${flow.address} -> ${flow.upstream} (role ${flow.role}).`, flow)
      return 0
    },
  }),
  listCommand<FlowView>({
    name: 'flow list',
    summary: 'List flows',
    path: () => '/admin/v1/flows',
    headers: ['address', 'upstream', 'role', 'methods', 'csrf', 'connection'],
    row: (flow) => [
      flow.address,
      flow.upstream,
      flow.role,
      flow.methods.join(','),
      flow.csrf ? 'on' : 'off',
      cell(flow.connection),
    ],
  }),
  showCommand({
    name: 'flow show',
    summary: 'Show a flow',
    synopsis: '<address>',
    path: (context) => flowPath(arg(context, 0)),
  }),
  adminCommand({
    name: 'flow update',
    summary: 'Change some properties of a flow',
    synopsis: '<address>',
    options: flowOptions,
    async run(context) {
      const body = flowBody(context)
      if (Object.keys(body).length === 0)
        throw usageError('nothing to change; see flowgate flow update --help')
      const flow = await (await context.admin()).patch<FlowView>(flowPath(arg(context, 0)), body)
      printDone(context, `Updated flow ${flow.address}.`, flow)
      return 0
    },
  }),
  deleteCommand({
    name: 'flow delete',
    summary: 'Stop exposing a flow',
    synopsis: '<address>',
    path: (context) => flowPath(arg(context, 0)),
    done: (context) => `Deleted flow ${arg(context, 0)}.`,
  }),
]

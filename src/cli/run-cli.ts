import { parseArgs } from 'node:util'
import { isFlowgateError } from '../lib/errors.ts'
import type { AdminClient } from './admin-client.ts'
import { CliError, usageError } from './cli-error.ts'
import type { CliIo } from './cli-io.ts'
import {
  allOptions,
  type CommandContext,
  type CommandSpec,
  commandHelp,
  createAdminConnector,
} from './command.ts'
import { commands } from './commands/index.ts'

const byName = new Map(commands.map((command) => [command.name, command]))

function groups(): Map<string, CommandSpec[]> {
  const result = new Map<string, CommandSpec[]>()
  for (const command of commands) {
    const group = command.name.split(' ')[0] as string
    result.set(group, [...(result.get(group) ?? []), command])
  }
  return result
}

function overview(): string {
  const lines = ['Usage: flowgate <command> [options]', '', 'Commands:']
  for (const command of commands) lines.push(`  ${command.name.padEnd(22)} ${command.summary}`)
  lines.push(
    '',
    'Administrative commands talk to a running gateway (flowgate start) over HTTPS with an admin',
    'service key; `init` and `audit … --offline` work on the store directly.',
    'Run `flowgate <command> --help` for the options of a command.',
  )
  return `${lines.join('\n')}\n`
}

function groupHelp(group: string, members: readonly CommandSpec[]): string {
  const lines = [
    `Usage: flowgate ${group} <${members.map((m) => m.name.split(' ')[1]).join('|')}> [options]`,
    '',
  ]
  for (const command of members) lines.push(`  ${command.name.padEnd(22)} ${command.summary}`)
  lines.push('', `Run \`flowgate ${group} <command> --help\` for its options.`)
  return `${lines.join('\n')}\n`
}

function findCommand(argv: readonly string[]): { command: CommandSpec; rest: string[] } | string {
  const [first, second] = argv
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') return overview()
  const two = second === undefined ? undefined : byName.get(`${first} ${second}`)
  if (two !== undefined) return { command: two, rest: argv.slice(2) }
  const one = byName.get(first)
  if (one !== undefined) return { command: one, rest: argv.slice(1) }
  const members = groups().get(first)
  if (members !== undefined) {
    if (second === undefined || second === '--help' || second === '-h') return groupHelp(first, members)
    throw usageError(`unknown command "${first} ${second}"; try \`flowgate ${first} --help\``)
  }
  throw usageError(`unknown command "${first}"; try \`flowgate --help\``)
}

function parse(command: CommandSpec, rest: string[]) {
  const options = Object.fromEntries(
    Object.entries(allOptions(command)).map(([name, spec]) => [
      name,
      {
        type: spec.type,
        ...(spec.short === undefined ? {} : { short: spec.short }),
        ...(spec.multiple === true ? { multiple: true } : {}),
      },
    ]),
  )
  try {
    return parseArgs({ args: rest, options, allowPositionals: true, allowNegative: true, strict: true })
  } catch (error) {
    throw usageError(`${(error as Error).message.split('\n')[0]}; try \`flowgate ${command.name} --help\``)
  }
}

/** Runs one `flowgate` invocation; resolves to the exit code. Never throws. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let admin: AdminClient | undefined
  try {
    const found = findCommand(argv)
    if (typeof found === 'string') {
      io.stdout.write(found)
      return 0
    }
    const { command, rest } = found
    if (command.passthrough === true) {
      return (await command.run(passthroughContext(io, rest))) ?? 0
    }
    const { values, positionals } = parse(command, rest)
    if (values.help === true) {
      io.stdout.write(commandHelp(command))
      return 0
    }
    const args = command.args ?? { min: 0, max: 0 }
    if (positionals.length < args.min || positionals.length > args.max) {
      throw usageError(
        `usage: flowgate ${command.name}${command.synopsis === undefined ? '' : ` ${command.synopsis}`}; try --help`,
      )
    }
    const connect = createAdminConnector(io, values)
    const context: CommandContext = {
      io,
      args: positionals,
      options: values,
      async admin() {
        admin = await connect()
        return admin
      },
      string: (name) => values[name] as string | undefined,
      flag: (name) => values[name] === true,
    }
    return (await command.run(context)) ?? 0
  } catch (error) {
    if (error instanceof CliError) {
      io.stderr.write(`flowgate: ${error.message}\n`)
      return error.exitCode
    }
    if (isFlowgateError(error)) {
      io.stderr.write(`flowgate: ${error.description} (${error.code})\n`)
      return 1
    }
    io.stderr.write(`flowgate: unexpected failure: ${(error as Error)?.message ?? String(error)}\n`)
    return 1
  } finally {
    await admin?.close()
  }
}

function passthroughContext(io: CliIo, rest: string[]): CommandContext {
  return {
    io,
    args: rest,
    options: {},
    admin: () => Promise.reject(new Error('not an admin command')),
    string: () => undefined,
    flag: () => false,
  }
}

import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { loadConfig } from '../config/load.ts'
import { type AdminClient, createAdminClient, readAdminKey } from './admin-client.ts'
import { adminUrlOf } from './admin-url.ts'
import { usageError } from './cli-error.ts'
import type { CliIo } from './cli-io.ts'

export interface OptionSpec {
  readonly type: 'string' | 'boolean'
  readonly short?: string
  readonly multiple?: boolean
  /** Shown as `--name VALUE` in help; absent for booleans. */
  readonly value?: string
  readonly help: string
}

export type OptionValues = Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>

export interface CommandContext {
  readonly io: CliIo
  readonly args: readonly string[]
  readonly options: OptionValues
  /** The admin API client (admin commands only); created on first use, closed after the run. */
  admin(): Promise<AdminClient>
  string(name: string): string | undefined
  flag(name: string): boolean
}

export interface CommandSpec {
  /** Words after `flowgate`, e.g. `role create`. */
  readonly name: string
  readonly summary: string
  /** Positional arguments, e.g. `<instance> <key>`; `[name]` marks optional ones. */
  readonly synopsis?: string
  readonly args?: { readonly min: number; readonly max: number }
  readonly description?: string
  readonly options?: Readonly<Record<string, OptionSpec>>
  /** `admin`: talks to a running gateway's admin API; `local`: works on the store or files. */
  readonly kind: 'admin' | 'local'
  /** `--json` is offered (every listing and show). */
  readonly json?: boolean
  /** Takes its arguments raw (start, demo). */
  readonly passthrough?: boolean
  run(context: CommandContext): Promise<number | undefined>
}

const adminOptions: Readonly<Record<string, OptionSpec>> = {
  'admin-url': {
    type: 'string',
    value: 'URL',
    help: 'Admin API base URL (default $FLOWGATE_ADMIN_URL, else admin.host:admin.port of the configuration)',
  },
  'key-file': {
    type: 'string',
    value: 'FILE',
    help: 'Admin service key (default $FLOWGATE_ADMIN_KEY, else <dataDir>/admin-key.json)',
  },
  ca: {
    type: 'string',
    value: 'FILE',
    help: 'PEM CA to trust for the gateway (default <dataDir>/tls/localhost.crt when present)',
  },
  config: {
    type: 'string',
    value: 'FILE',
    help: 'Configuration file, to find the data directory (default $FLOWGATE_CONFIG)',
  },
}

const jsonOption: OptionSpec = { type: 'boolean', help: 'Print JSON instead of a table' }
const helpOption: OptionSpec = { type: 'boolean', short: 'h', help: 'Show this help' }

/** The data directory as `flowgate start` would use it; './data' when the configuration cannot be read. */
function dataDirOf(io: CliIo, configFile: string | undefined): string {
  try {
    const config = loadConfig({
      env: io.env,
      ...(configFile === undefined ? {} : { file: resolve(io.cwd, configFile) }),
    })
    return resolve(io.cwd, config.dataDir)
  } catch {
    return resolve(io.cwd, 'data')
  }
}

export function createAdminConnector(io: CliIo, options: OptionValues): () => Promise<AdminClient> {
  let client: AdminClient | undefined
  return async () => {
    if (client !== undefined) return client
    const configFile = options.config as string | undefined
    const dataDir = dataDirOf(io, configFile)
    const keyFile = (options['key-file'] as string | undefined) ?? io.env.FLOWGATE_ADMIN_KEY
    const defaultKeyFile = join(dataDir, 'admin-key.json')
    let keyPath: string
    if (keyFile !== undefined && keyFile !== '') keyPath = resolve(io.cwd, keyFile)
    else if (existsSync(defaultKeyFile)) keyPath = defaultKeyFile
    else {
      throw usageError(
        'no admin service key: pass --key-file FILE or set FLOWGATE_ADMIN_KEY (flowgate init writes one)',
      )
    }
    const caOption = options.ca as string | undefined
    const defaultCa = join(dataDir, 'tls', 'localhost.crt')
    let ca: string | undefined
    if (caOption !== undefined) {
      try {
        ca = readFileSync(resolve(io.cwd, caOption), 'utf8')
      } catch (cause) {
        throw usageError(`--ca: cannot read ${caOption} (${(cause as NodeJS.ErrnoException).code})`)
      }
    } else if (existsSync(defaultCa)) ca = readFileSync(defaultCa, 'utf8')
    const adminUrl = adminUrlOf(io, options['admin-url'] as string | undefined, configFile)
    let url: URL
    try {
      url = new URL(adminUrl)
    } catch {
      throw usageError(`--admin-url: not a URL: ${adminUrl}`)
    }
    client = createAdminClient({
      adminUrl: url.href,
      key: readAdminKey(keyPath),
      ...(ca === undefined ? {} : { ca }),
    })
    return client
  }
}

function optionLine(name: string, spec: OptionSpec): string {
  const flag = `${spec.short === undefined ? '    ' : `-${spec.short}, `}--${name}${spec.value === undefined ? '' : ` ${spec.value}`}`
  return `  ${flag.padEnd(30)} ${spec.help}`
}

export function allOptions(spec: CommandSpec): Record<string, OptionSpec> {
  return {
    ...spec.options,
    ...(spec.json === true ? { json: jsonOption } : {}),
    ...(spec.kind === 'admin' ? adminOptions : {}),
    help: helpOption,
  }
}

export function commandHelp(spec: CommandSpec): string {
  const lines = [
    `Usage: flowgate ${spec.name}${spec.synopsis === undefined ? '' : ` ${spec.synopsis}`} [options]`,
    '',
  ]
  lines.push(spec.summary)
  if (spec.description !== undefined) lines.push('', spec.description)
  if (!spec.passthrough) {
    lines.push('', 'Options:')
    for (const [name, option] of Object.entries(allOptions(spec))) lines.push(optionLine(name, option))
  }
  return `${lines.join('\n')}\n`
}

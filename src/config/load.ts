import { readFileSync } from 'node:fs'
import { Ajv, type ErrorObject } from 'ajv'
import { parse as parseYaml } from 'yaml'
import { FlowgateError } from '../lib/errors.ts'
import { configSchema, type FlowgateConfig } from './schema.ts'

/** Environment variables that are not configuration keys but are read by Flowgate's tools. */
const nonConfigEnvironment = new Set([
  'FLOWGATE_CONFIG',
  'FLOWGATE_ADMIN_KEY',
  'FLOWGATE_ADMIN_URL',
  'FLOWGATE_FORCE_TOOLS_NODE',
  'FLOWGATE_INSTALL',
])

interface LeafKey {
  readonly path: readonly string[]
  readonly env: string
  readonly type: 'string' | 'integer' | 'boolean' | 'array'
}

type SchemaNode = {
  readonly type?: string
  readonly enum?: readonly unknown[]
  readonly properties?: Readonly<Record<string, SchemaNode>>
}

function envName(path: readonly string[]): string {
  return `FLOWGATE_${path.map((segment) => segment.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_')}`
}

function collectLeaves(node: SchemaNode, path: string[], out: LeafKey[]): LeafKey[] {
  if (node.type === 'object' && node.properties) {
    for (const [key, child] of Object.entries(node.properties)) collectLeaves(child, [...path, key], out)
  } else {
    // An enum of names (TypeBox's `Type.Enum`) carries no `type`; it is read as a string.
    const type = node.type ?? (node.enum?.every((value) => typeof value === 'string') ? 'string' : undefined)
    if (type === undefined) throw new Error(`configuration key ${path.join('.')} has no type`)
    out.push({ path, env: envName(path), type: type as LeafKey['type'] })
  }
  return out
}

/** Every configuration key with its environment variable, in schema order. */
export const configKeys: readonly LeafKey[] = collectLeaves(configSchema, [], [])

const ajv = new Ajv({ useDefaults: true, allErrors: true, strict: true })
const validate = ajv.compile(configSchema)

function invalid(detail: string): FlowgateError {
  return new FlowgateError('ERR_CONFIG_INVALID', { description: `invalid configuration: ${detail}` })
}

function coerce(leaf: LeafKey, raw: string): unknown {
  switch (leaf.type) {
    case 'integer': {
      if (!/^-?\d+$/.test(raw.trim())) throw invalid(`${leaf.env} must be an integer`)
      return Number(raw.trim())
    }
    case 'boolean': {
      const value = raw.trim().toLowerCase()
      if (value === 'true' || value === '1') return true
      if (value === 'false' || value === '0') return false
      throw invalid(`${leaf.env} must be true or false`)
    }
    case 'array':
      return raw
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== '')
    default:
      return raw
  }
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target
  for (const segment of path.slice(0, -1)) {
    const child = node[segment]
    if (typeof child !== 'object' || child === null || Array.isArray(child)) {
      node[segment] = {}
    }
    node = node[segment] as Record<string, unknown>
  }
  node[path[path.length - 1] as string] = value
}

function describe(error: ErrorObject): string {
  const where = error.instancePath === '' ? '' : error.instancePath.slice(1).replaceAll('/', '.')
  if (error.keyword === 'additionalProperties') {
    const key = (error.params as { additionalProperty: string }).additionalProperty
    return `unknown key "${where === '' ? key : `${where}.${key}`}"`
  }
  if (error.keyword === 'enum') {
    const allowed = (error.params as { allowedValues: unknown[] }).allowedValues
    return `"${where}" must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`
  }
  return `"${where}" ${error.message ?? 'is invalid'}`
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child)
    Object.freeze(value)
  }
  return value
}

export interface LoadConfigOptions {
  /** YAML file; when absent, FLOWGATE_CONFIG names it; when that is absent too, defaults only. */
  readonly file?: string
  readonly env?: Readonly<Record<string, string | undefined>>
  /** Values that win over the file and the environment (tests, `flowgate demo`). */
  readonly overrides?: Readonly<Record<string, unknown>>
}

/**
 * Reads the YAML file, then FLOWGATE_* environment variables (which win), validates the result
 * against the schema (filling defaults) and returns it frozen. Any problem throws
 * ERR_CONFIG_INVALID naming the key.
 */
export function loadConfig(options: LoadConfigOptions = {}): FlowgateConfig {
  const env = options.env ?? process.env
  const file = options.file ?? env.FLOWGATE_CONFIG
  let document: Record<string, unknown> = {}
  if (file !== undefined && file !== '') {
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch (cause) {
      throw invalid(`cannot read configuration file ${file}: ${(cause as NodeJS.ErrnoException).code}`)
    }
    let parsed: unknown
    try {
      parsed = parseYaml(text)
    } catch (cause) {
      throw invalid(`${file} is not valid YAML: ${(cause as Error).message}`)
    }
    if (parsed !== null && parsed !== undefined) {
      if (typeof parsed !== 'object' || Array.isArray(parsed)) throw invalid(`${file} must hold a mapping`)
      document = parsed as Record<string, unknown>
    }
  }

  const byEnv = new Map(configKeys.map((leaf) => [leaf.env, leaf]))
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('FLOWGATE_') || raw === undefined || nonConfigEnvironment.has(name)) continue
    const leaf = byEnv.get(name)
    if (leaf === undefined) throw invalid(`unknown environment variable ${name}`)
    setPath(document, leaf.path, coerce(leaf, raw))
  }
  for (const [key, value] of Object.entries(options.overrides ?? {})) {
    setPath(document, key.split('.'), value)
  }

  const publicUrlGiven = document.publicUrl !== undefined
  if (!validate(document)) {
    throw invalid((validate.errors ?? []).map(describe).join('; '))
  }
  const config = document as Mutable<FlowgateConfig>
  checkListeners(config)
  if (!publicUrlGiven && config.runtime.port !== 0) config.publicUrl = derivedPublicUrl(config)
  return deepFreeze(config as FlowgateConfig)
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

const wildcardHosts = new Set(['0.0.0.0', '::', ''])

/** Two listeners on one port clash when their addresses are equal or either binds every address. */
function checkListeners(config: FlowgateConfig): void {
  const { runtime, admin } = config
  if (runtime.port === 0 || runtime.port !== admin.port) return
  if (runtime.host === admin.host || wildcardHosts.has(runtime.host) || wildcardHosts.has(admin.host)) {
    throw invalid(
      `runtime.port and admin.port are both ${runtime.port} on ${runtime.host} and ${admin.host}; give the listeners different ports`,
    )
  }
}

/**
 * Without a configured publicUrl, service keys point at the runtime listener itself: localhost for
 * a wildcard or loopback address (the self-signed certificate's name), else the address bound.
 * With port 0 the port is known only once listening, so the schema's default stays.
 */
function derivedPublicUrl(config: FlowgateConfig): string {
  const { host, port } = config.runtime
  const loopback = wildcardHosts.has(host) || host === '127.0.0.1' || host === '::1' || host === 'localhost'
  const name = loopback ? 'localhost' : host.includes(':') ? `[${host}]` : host
  return port === 443 ? `https://${name}` : `https://${name}:${port}`
}

/** Configuration keys named `unsafe…` that are switched on, to be warned about at start-up. */
export function unsafeSwitches(config: FlowgateConfig): string[] {
  const on: string[] = []
  for (const leaf of configKeys) {
    const name = leaf.path[leaf.path.length - 1] as string
    if (!name.startsWith('unsafe')) continue
    let value: unknown = config
    for (const segment of leaf.path) value = (value as Record<string, unknown>)[segment]
    if (value === true) on.push(leaf.path.join('.'))
  }
  return on
}

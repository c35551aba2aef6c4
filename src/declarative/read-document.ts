import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { Ajv, type ErrorObject } from 'ajv'
import { parse as parseYaml } from 'yaml'
import { FlowgateError } from '../lib/errors.ts'
import type { ConnectionInput } from '../model/connection.ts'
import type { FileDocument, ResolvedDocument } from './document.ts'
import { type FileConnectionEntry, fileDocumentSchema, type SecretSource } from './document-schema.ts'

const ajv = new Ajv({ allErrors: false, strict: true })
const validateFile = ajv.compile<FileDocument>(fileDocumentSchema)

function invalid(origin: string, reason: string): FlowgateError {
  return new FlowgateError('ERR_VALIDATION', { description: `${origin}: ${reason}` })
}

function pathOf(instancePath: string): string {
  const path = instancePath
    .split('/')
    .slice(1)
    .map((segment) => (/^\d+$/.test(segment) ? `[${segment}]` : `.${segment}`))
    .join('')
  return path.startsWith('.') ? path.slice(1) : path === '' ? 'document' : path
}

function describe(error: ErrorObject): string {
  const at = pathOf(error.instancePath)
  if (error.keyword === 'additionalProperties') {
    return `unknown key "${(error.params as { additionalProperty: string }).additionalProperty}" in ${at}`
  }
  if (error.keyword === 'enum') {
    const allowed = (error.params as { allowedValues: unknown[] }).allowedValues
    return `${at} must be one of ${allowed.map((value) => JSON.stringify(value)).join(', ')}`
  }
  return `${at} ${error.message ?? 'is invalid'}`
}

/** Parses and validates the text of a flowgate.yaml; secret references are not read yet. */
export function parseDocumentText(text: string, origin: string): FileDocument {
  let parsed: unknown
  try {
    parsed = parseYaml(text)
  } catch (cause) {
    throw invalid(origin, `not valid YAML (${(cause as Error).message.split('\n')[0]})`)
  }
  if (parsed === null || parsed === undefined) return {}
  if (!validateFile(parsed))
    throw invalid(origin, describe((validateFile.errors as ErrorObject[])[0] as ErrorObject))
  return parsed
}

export interface ResolveOptions {
  readonly env: Readonly<Record<string, string | undefined>>
  /** Directory that relative `file:` references start from (the YAML file's). */
  readonly baseDir: string
  readonly origin: string
}

function readSource(source: SecretSource, at: string, options: ResolveOptions): string {
  if (source.env !== undefined) {
    const value = options.env[source.env]
    if (value === undefined || value === '') {
      throw invalid(options.origin, `${at}: environment variable ${source.env} is not set`)
    }
    return value
  }
  const path = resolve(options.baseDir, source.file as string)
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (cause) {
    throw invalid(options.origin, `${at}: cannot read ${path} (${(cause as NodeJS.ErrnoException).code})`)
  }
  // `echo secret > file` leaves a newline that is not part of the secret.
  return text.replace(/\r?\n$/, '')
}

const sourceFields = [
  ['passwordFrom', 'password'],
  ['serviceKeyFrom', 'serviceKey'],
  ['certificateFrom', 'certificate'],
  ['keyFrom', 'key'],
  ['caFrom', 'ca'],
] as const

function resolveConnection(
  entry: FileConnectionEntry,
  index: number,
  options: ResolveOptions,
): ConnectionInput {
  const resolved: Record<string, string> = { name: entry.name, type: entry.type }
  if (entry.username !== undefined) resolved.username = entry.username
  for (const [from, field] of sourceFields) {
    const source = entry[from]
    if (source !== undefined) resolved[field] = readSource(source, `connections[${index}].${from}`, options)
  }
  return resolved as unknown as ConnectionInput
}

/** Reads every secret reference; the result is what the admin API's apply and plan accept. */
export function resolveDocument(document: FileDocument, options: ResolveOptions): ResolvedDocument {
  const { connections, ...rest } = document
  if (connections === undefined) return rest
  return { ...rest, connections: connections.map((entry, index) => resolveConnection(entry, index, options)) }
}

/** Reads, validates and resolves a flowgate.yaml. */
export function readDocumentFile(
  path: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): ResolvedDocument {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (cause) {
    throw invalid(path, `cannot read (${(cause as NodeJS.ErrnoException).code})`)
  }
  const document = parseDocumentText(text, path)
  return resolveDocument(document, { env, baseDir: dirname(resolve(path)), origin: path })
}

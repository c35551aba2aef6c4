import type { FlowgateConfig } from '../config/schema.ts'
import { FlowgateError } from '../lib/errors.ts'
import {
  type FlowDefinition,
  flowInputSchema,
  knownMethods,
  maxAllowedRequestHeaders,
  type RequestHeaderPolicy,
} from '../model/flow.ts'
import { connectionNamePattern, isRoleName, roleNameRule } from '../model/names.ts'
import { normalizeAddress } from './address.ts'
import { isFlowgateRequestHeader } from './request-header-names.ts'
import { parseUpstreamUrl } from './upstream-url.ts'

const defaultFlowRole = 'ESBMessaging.send'
const defaultFlowMethods: readonly string[] = ['POST']
const timeoutBounds = { min: 100, max: 600_000 } as const
/** 16 GiB: large enough for any payload CPI accepts, small enough to be a limit. */
const maxBodyBytesBounds = { min: 0, max: 17_179_869_184 } as const

/** The properties the flow schema knows: a flow given directly to the service is held to the same. */
const flowKeys = new Set(Object.keys(flowInputSchema.properties))

function invalid(reason: string): FlowgateError {
  return new FlowgateError('ERR_VALIDATION', { description: `invalid flow: ${reason}` })
}

function integerIn(value: unknown, name: string, bounds: { min: number; max: number }): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < bounds.min || value > bounds.max) {
    throw invalid(`${name} must be an integer from ${bounds.min} to ${bounds.max}`)
  }
  return value
}

function methodsOf(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0) throw invalid('methods must be a non-empty array')
  const methods: string[] = []
  for (const item of value) {
    if (typeof item !== 'string') throw invalid('methods must be strings')
    const method = item.toUpperCase()
    if (!(knownMethods as readonly string[]).includes(method))
      throw invalid(`unknown method ${JSON.stringify(item)}`)
    if (!methods.includes(method)) methods.push(method)
  }
  return methods
}

/** RFC 9110 §5.1: a field name is a token. */
const headerNamePattern = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/
const maxHeaderNameLength = 128

const denyListPolicy: RequestHeaderPolicy = { mode: 'deny-list' }

/**
 * The request-header policy, allow-list names lower-cased: each a header-name token, named once,
 * at most `maxAllowedRequestHeaders`, and none Flowgate drops or sets itself (an allow-list cannot
 * re-admit a denied header).
 */
function requestHeadersOf(value: unknown): RequestHeaderPolicy {
  if (value === undefined) return denyListPolicy
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw invalid('requestHeaders must be an object with a mode')
  const policy = value as Record<string, unknown>
  const keys = Object.keys(policy)
  if (policy.mode === 'deny-list') {
    if (keys.length !== 1) throw invalid('requestHeaders in deny-list mode takes no other property')
    return denyListPolicy
  }
  if (policy.mode !== 'allow-list') throw invalid('requestHeaders.mode must be deny-list or allow-list')
  if (keys.some((key) => key !== 'mode' && key !== 'allow'))
    throw invalid('requestHeaders in allow-list mode takes only mode and allow')
  const names = policy.allow
  if (!Array.isArray(names)) throw invalid('requestHeaders.allow must be an array of header names')
  if (names.length > maxAllowedRequestHeaders)
    throw invalid(`requestHeaders.allow names at most ${maxAllowedRequestHeaders} headers`)
  const allow: string[] = []
  for (const name of names) {
    const lower = typeof name === 'string' ? name.toLowerCase() : ''
    if (lower.length > maxHeaderNameLength || !headerNamePattern.test(lower))
      throw invalid(`requestHeaders.allow: ${JSON.stringify(name)} is not a header name`)
    if (allow.includes(lower)) throw invalid(`requestHeaders.allow names ${lower} twice`)
    if (isFlowgateRequestHeader(lower)) {
      throw invalid(
        `requestHeaders.allow: ${lower} is always handled by Flowgate and cannot be allowed (docs/runtime.md, "Header rules")`,
      )
    }
    allow.push(lower)
  }
  return { mode: 'allow-list', allow }
}

/**
 * The one place a flow definition is validated, for the admin API, the CLI and declarative
 * configuration alike: unknown keys, address, upstream URL, role name shape, methods, csrf,
 * bounds of timeout and body limit, connection name shape, request-header policy.
 */
export function validateFlowInput(input: unknown, config: FlowgateConfig): FlowDefinition {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw invalid('must be an object')
  const value = input as Record<string, unknown>
  for (const key of Object.keys(value)) {
    if (!flowKeys.has(key)) throw invalid(`unknown property ${JSON.stringify(key)}`)
  }
  const address = normalizeAddress(value.address as string)
  const upstream = parseUpstreamUrl(value.upstream, config.upstream.unsafeAllowHttp).href
  const role = value.role ?? defaultFlowRole
  if (typeof role !== 'string' || !isRoleName(role))
    throw invalid(`role must be a role name: ${roleNameRule}`)
  const methods = value.methods === undefined ? [...defaultFlowMethods] : methodsOf(value.methods)
  const csrf = value.csrf ?? true
  if (typeof csrf !== 'boolean') throw invalid('csrf must be a boolean')
  const maxBodyBytes =
    value.maxBodyBytes === undefined
      ? config.upstream.defaultMaxBodyBytes
      : integerIn(value.maxBodyBytes, 'maxBodyBytes', maxBodyBytesBounds)
  const timeoutMs =
    value.timeoutMs === undefined
      ? config.upstream.defaultTimeoutMs
      : integerIn(value.timeoutMs, 'timeoutMs', timeoutBounds)
  const connection = value.connection ?? null
  if (connection !== null && (typeof connection !== 'string' || !isConnectionName(connection))) {
    throw invalid('connection must be the name of an upstream connection')
  }
  const requestHeaders = requestHeadersOf(value.requestHeaders)
  return { address, upstream, role, methods, csrf, maxBodyBytes, timeoutMs, connection, requestHeaders }
}

export function isConnectionName(name: string): boolean {
  return connectionNamePattern.test(name)
}

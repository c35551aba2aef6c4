import { randomBytes } from 'node:crypto'
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import { hopByHopHeaders, isDroppedRequestHeader } from '../flows/request-header-names.ts'
import type { RequestContext } from '../lib/request-context.ts'
import type { RequestHeaderPolicy } from '../model/flow.ts'

/**
 * Upstream headers that never reach the client: hop-by-hop, cookies (the client's are never sent
 * upstream, so upstream sessions are of no use to it), CPI's own CSRF token (the client's token is
 * Flowgate's), the correlation id (Flowgate returns its own) and transport policy (the listener's).
 */
const droppedResponseHeaders = new Set([
  ...hopByHopHeaders,
  'set-cookie',
  'x-csrf-token',
  'x-correlation-id',
  'strict-transport-security',
])

/** Lower-cased names listed in a `Connection` header, or null when it names nothing beyond keep-alive/close. */
function connectionNamed(value: string | string[] | undefined): Set<string> | null {
  if (value === undefined) return null
  // What nearly every upstream answer and client request says, without splitting it.
  if (value === 'keep-alive' || value === 'close') return null
  const text = Array.isArray(value) ? value.join(',') : value
  let named: Set<string> | null = null
  for (const part of text.split(',')) {
    const name = part.trim().toLowerCase()
    if (name === '' || name === 'close' || name === 'keep-alive') continue
    named ??= new Set()
    named.add(name)
  }
  return named
}

function isLowerHex(value: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const code = value.charCodeAt(i)
    if (!((code >= 48 && code <= 57) || (code >= 97 && code <= 102))) return false
  }
  return true
}

/** W3C Trace Context version 00: `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`, ids not all zero. */
function isValidTraceparent(value: string | string[] | undefined): value is string {
  if (typeof value !== 'string' || value.length !== 55) return false
  if (value.charCodeAt(2) !== 45 || value.charCodeAt(35) !== 45 || value.charCodeAt(52) !== 45) return false
  if (
    !value.startsWith('00') ||
    !isLowerHex(value, 3, 35) ||
    !isLowerHex(value, 36, 52) ||
    !isLowerHex(value, 53, 55)
  ) {
    return false
  }
  return (
    value.slice(3, 35) !== '00000000000000000000000000000000' && value.slice(36, 52) !== '0000000000000000'
  )
}

/**
 * Random hex drawn 4 KiB at a time: one synchronous `randomBytes` call per request (an OpenSSL
 * round-trip for 8 bytes) is a visible share of the proxy's CPU under load, which is why
 * `randomUUID` pools its randomness too. Parent ids are not secrets, only unique (W3C Trace Context §3.2.2.4).
 */
const randomPoolBytes = 4096
let randomHex = ''
let randomHexOffset = 0

function pooledRandomHex(length: number): string {
  if (randomHexOffset + length > randomHex.length) {
    randomHex = randomBytes(randomPoolBytes).toString('hex')
    randomHexOffset = 0
  }
  const value = randomHex.slice(randomHexOffset, randomHexOffset + length)
  randomHexOffset += length
  return value
}

const zeroParentId = '0000000000000000'

/** A new sampled traceparent; the correlation id (a UUID) doubles as the trace id so logs and traces join. */
function newTraceparent(correlationId: string): string {
  // randomUUID's text is lower-case hex with dashes at 8, 13, 18 and 23; slicing it is half
  // the cost of replaceAll + toLowerCase (bench/micro/runtime-hot-path.ts).
  const traceId =
    correlationId.length === 36 &&
    correlationId.charCodeAt(8) === 45 &&
    correlationId.charCodeAt(13) === 45 &&
    correlationId.charCodeAt(18) === 45 &&
    correlationId.charCodeAt(23) === 45
      ? correlationId.slice(0, 8) +
        correlationId.slice(9, 13) +
        correlationId.slice(14, 18) +
        correlationId.slice(19, 23) +
        correlationId.slice(24)
      : pooledRandomHex(32)
  let parentId = pooledRandomHex(16)
  // An all-zero id is invalid; 2^-64 per request, but the spec forbids it outright.
  while (parentId === zeroParentId) parentId = pooledRandomHex(16)
  return `00-${traceId}-${parentId}-01`
}

/** Who is calling, as the iFlow learns it from headers only Flowgate can set. */
export interface CallerIdentity {
  readonly clientId: string
  readonly instance: string
  /** Comma-separated role names. */
  readonly roles: string
}

/**
 * The client headers a flow's policy lets through beyond the default filter, compiled once when the
 * route table is built: null for the deny-list (every header the filter keeps), else the allow-list's
 * names plus `content-length`, which frames the body.
 */
export function allowedRequestHeaders(policy: RequestHeaderPolicy): ReadonlySet<string> | null {
  return policy.mode === 'allow-list' ? new Set([...(policy.allow ?? []), 'content-length']) : null
}

/**
 * The header list sent upstream, as a flat `[name, value, …]` array built in one pass over the
 * client's raw headers. `allowed` is the flow's compiled allow-list (`allowedRequestHeaders`), null
 * under the deny-list; the default filter applies either way. `authorization` is the upstream
 * connection's credential (or null).
 */
export function upstreamRequestHeaders(
  req: IncomingMessage,
  ctx: RequestContext,
  caller: CallerIdentity,
  authorization: string | null,
  forwardedHost: string,
  allowed: ReadonlySet<string> | null,
): string[] {
  const raw = req.rawHeaders
  const named = connectionNamed(req.headers.connection)
  const out: string[] = []
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string
    const lower = name.toLowerCase()
    if (isDroppedRequestHeader(lower) || (allowed !== null && !allowed.has(lower))) continue
    if (named?.has(lower)) continue
    out.push(name, raw[i + 1] as string)
  }

  const incoming = req.headers
  const traceparent = incoming.traceparent
  if (isValidTraceparent(traceparent)) {
    out.push('traceparent', traceparent)
    const tracestate = incoming.tracestate
    if (typeof tracestate === 'string' && tracestate !== '') out.push('tracestate', tracestate)
  } else {
    out.push('traceparent', newTraceparent(ctx.correlationId))
  }

  if (ctx.trustedProxy) {
    const forwardedFor = incoming['x-forwarded-for']
    out.push(
      'x-forwarded-for',
      typeof forwardedFor === 'string' && forwardedFor !== ''
        ? `${forwardedFor}, ${ctx.peerAddress}`
        : ctx.peerAddress,
    )
    const proto = incoming['x-forwarded-proto']
    out.push('x-forwarded-proto', typeof proto === 'string' && proto !== '' ? proto : 'https')
    const host = incoming['x-forwarded-host']
    out.push('x-forwarded-host', typeof host === 'string' && host !== '' ? host : forwardedHost)
    const forwarded = incoming.forwarded
    if (typeof forwarded === 'string' && forwarded !== '') out.push('forwarded', forwarded)
  } else {
    out.push(
      'x-forwarded-for',
      ctx.clientAddress,
      'x-forwarded-proto',
      'https',
      'x-forwarded-host',
      forwardedHost,
    )
  }
  out.push(
    'x-correlation-id',
    ctx.correlationId,
    'x-flowgate-client-id',
    caller.clientId,
    'x-flowgate-instance',
    caller.instance,
    'x-flowgate-roles',
    caller.roles,
  )
  if (authorization !== null) out.push('authorization', authorization)
  return out
}

/**
 * The response headers passed to the client, as a flat array for `res.writeHead`, plus the
 * correlation id and, unless `hsts` is empty, Strict-Transport-Security.
 */
export function clientResponseHeaders(
  headers: IncomingHttpHeaders,
  correlationId: string,
  hsts: string,
): string[] {
  const named = connectionNamed(headers.connection)
  const out: string[] = []
  for (const name in headers) {
    if (droppedResponseHeaders.has(name) || named?.has(name)) continue
    const value = headers[name]
    if (value === undefined) continue
    if (typeof value === 'string') {
      out.push(name, value)
    } else {
      for (const item of value) out.push(name, item)
    }
  }
  out.push('x-correlation-id', correlationId)
  if (hsts !== '') out.push('strict-transport-security', hsts)
  return out
}

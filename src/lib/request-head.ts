import type { IncomingMessage } from 'node:http'
import { FlowgateError } from './errors.ts'

// Refusals carry no per-request data: built once, without a stack per bad request.
const versionNotSupported = new FlowgateError('ERR_HTTP_VERSION_NOT_SUPPORTED', {
  headers: { connection: 'close' },
})
const targetTooLong = new FlowgateError('ERR_URI_TOO_LONG', { headers: { connection: 'close' } })
const badHost = new FlowgateError('ERR_BAD_HOST', { headers: { connection: 'close' } })
const transferEncodingOnHttp10 = new FlowgateError('ERR_BAD_FRAMING', {
  detail: 'Transfer-Encoding on an HTTP/1.0 request',
  headers: { connection: 'close' },
})

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57
}

/** `1*5DIGIT` from `from` to the end, as a port 1–65535. */
function isPort(value: string, from: number): boolean {
  const length = value.length - from
  if (length < 1 || length > 5) return false
  let port = 0
  for (let i = from; i < value.length; i++) {
    const code = value.charCodeAt(i)
    if (!isDigit(code)) return false
    port = port * 10 + code - 48
  }
  return port >= 1 && port <= 65535
}

/** A host name or IPv4 address: letters, digits, `-`, `.`, `_`, `~` (no percent-encoding, no sub-delims). */
function isNameChar(code: number): boolean {
  return (
    (code >= 97 && code <= 122) ||
    (code >= 65 && code <= 90) ||
    isDigit(code) ||
    code === 45 ||
    code === 46 ||
    code === 95 ||
    code === 126
  )
}

function isIpLiteralChar(code: number): boolean {
  return (
    isDigit(code) || (code >= 97 && code <= 102) || (code >= 65 && code <= 70) || code === 58 || code === 46
  )
}

/**
 * `Host` as RFC 9110 §7.2 allows it for an https authority: a name, an IPv4 address or a bracketed
 * IPv6 address, then an optional port 1–65535. Userinfo (`evil@host`), whitespace, commas (two
 * values folded into one), percent-encoding and every other character are refused: Flowgate never
 * routes on `Host`, but an iFlow or a log reader behind it may.
 */
export function isValidHost(value: string): boolean {
  const length = value.length
  if (length === 0 || length > 261) return false
  let i = 0
  if (value.charCodeAt(0) === 91 /* [ */) {
    i = 1
    while (i < length && isIpLiteralChar(value.charCodeAt(i))) i++
    if (i === 1 || i === length || value.charCodeAt(i) !== 93 /* ] */) return false
    i++
  } else {
    while (i < length && isNameChar(value.charCodeAt(i))) i++
    if (i === 0) return false
  }
  if (i === length) return true
  return value.charCodeAt(i) === 58 /* : */ && isPort(value, i + 1)
}

/** `host[:port]` lower-cased, without the scheme's default port, for comparing two authorities. */
function comparableAuthority(authority: string, https: boolean): string {
  const lower = authority.toLowerCase()
  const defaultPort = https ? ':443' : ':80'
  return lower.endsWith(defaultPort) ? lower.slice(0, -defaultPort.length) : lower
}

/** The Host check of an absolute-form target (`https://host/path`): its authority must be `Host`. */
function absoluteFormAgrees(target: string, host: string): boolean {
  const schemeEnd = target.indexOf('://')
  if (schemeEnd === -1) return false
  const scheme = target.slice(0, schemeEnd).toLowerCase()
  const from = schemeEnd + 3
  let to = from
  while (to < target.length) {
    const code = target.charCodeAt(to)
    if (code === 47 /* / */ || code === 63 /* ? */ || code === 35 /* # */) break
    to++
  }
  const authority = target.slice(from, to)
  if (!isValidHost(authority)) return false
  const https = scheme === 'https'
  return comparableAuthority(authority, https) === comparableAuthority(host, https)
}

/**
 * What the listener checks on every request head before any handler sees it, or null when it
 * passes: the HTTP version (only 1.0 and 1.1 are spoken; llhttp lets `HTTP/0.9` and `HTTP/2.0`
 * through), the request target's length, `Host` (exactly one on HTTP/1.1, well-formed, and equal
 * to an absolute-form target's authority) and `Transfer-Encoding` on HTTP/1.0, which RFC 9112 §6.1
 * says to treat as faulty framing. Every refusal closes the connection.
 */
export function requestHeadRefusal(req: IncomingMessage, maxTargetBytes: number): FlowgateError | null {
  if (req.httpVersionMajor !== 1 || req.httpVersionMinor > 1) return versionNotSupported
  const target = req.url ?? ''
  if (target.length > maxTargetBytes) return targetTooLong
  const raw = req.rawHeaders
  let hosts = 0
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string
    // Compared in place: lower-casing allocates a string for every `Host` a client spells so.
    if (
      name.length === 4 &&
      (name.charCodeAt(0) | 32) === 104 &&
      (name.charCodeAt(1) | 32) === 111 &&
      (name.charCodeAt(2) | 32) === 115 &&
      (name.charCodeAt(3) | 32) === 116
    )
      hosts++
  }
  const http11 = req.httpVersionMinor === 1
  if (hosts > 1 || (hosts === 0 && http11)) return badHost
  const host = req.headers.host
  if (host !== undefined) {
    if (!isValidHost(host)) return badHost
    const first = target.charCodeAt(0)
    if (first !== 47 /* / */ && first !== 42 /* * */ && !absoluteFormAgrees(target, host)) return badHost
  }
  if (!http11 && req.headers['transfer-encoding'] !== undefined) return transferEncodingOnHttp10
  return null
}

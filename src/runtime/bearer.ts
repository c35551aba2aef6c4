import type { IncomingMessage } from 'node:http'

/** `missing`: no bearer credentials at all; `multiple`: more than one token offered; `malformed`: not a token68. */
export type BearerProblem = 'missing' | 'multiple' | 'malformed'

export interface BearerResult {
  token: string | null
  problem: BearerProblem | null
}

/** RFC 7235 token68 characters: ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/", then "=" padding. */
function isToken68(value: string): boolean {
  const length = value.length
  let i = 0
  for (; i < length; i++) {
    const code = value.charCodeAt(i)
    const ok =
      (code >= 97 && code <= 122) ||
      (code >= 65 && code <= 90) ||
      (code >= 48 && code <= 57) ||
      code === 45 ||
      code === 46 ||
      code === 95 ||
      code === 126 ||
      code === 43 ||
      code === 47
    if (!ok) break
  }
  if (i === 0) return false
  while (i < length && value.charCodeAt(i) === 61) i++
  return i === length
}

function startsWithBearer(value: string): boolean {
  // Scheme names are case-insensitive (RFC 7235 §2.1).
  return value.length > 7 && value.slice(0, 7).toLowerCase() === 'bearer '
}

/**
 * The bearer token of a request, from the Authorization header only (RFC 6750 §2.1): tokens in the
 * query string, the body or cookies are never looked at. Node keeps only the first of duplicate
 * Authorization headers in `req.headers`, so duplicates are counted in `rawHeaders`. The result
 * object is the caller's, reused per request: no allocation here beyond the token slice.
 *
 * The token is not yet checked to be a token68 (`token68Problem`): a token the verified-token cache
 * holds is a compact JWS, so the caller asks the cache first and scans only a token it does not
 * know — scanning a 1,200-character token cost more than the whole cached authentication.
 */
export function readBearer(req: IncomingMessage, into: BearerResult): BearerResult {
  into.token = null
  into.problem = null
  const raw = req.rawHeaders
  let value: string | undefined
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string
    if (name.length !== 13 || name.toLowerCase() !== 'authorization') continue
    if (value !== undefined) {
      into.problem = 'multiple'
      return into
    }
    value = raw[i + 1] as string
  }
  if (value === undefined || !startsWithBearer(value)) {
    into.problem = 'missing'
    return into
  }
  let start = 7
  while (start < value.length && value.charCodeAt(start) === 32) start++
  let end = value.length
  while (end > start && value.charCodeAt(end - 1) === 32) end--
  if (start === end) {
    into.problem = 'malformed'
    return into
  }
  into.token = value.slice(start, end)
  return into
}

/**
 * Why a bearer token read by `readBearer` is unacceptable before any verification, or null: a list
 * of credentials (a token68 holds neither ',' nor ' ') is `multiple`, anything else not a token68
 * is `malformed`.
 */
export function token68Problem(token: string): 'multiple' | 'malformed' | null {
  if (isToken68(token)) return null
  return token.includes(',') || token.includes(' ') ? 'multiple' : 'malformed'
}

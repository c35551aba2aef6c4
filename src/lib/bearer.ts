import type { IncomingMessage } from 'node:http'

/** `missing`: no bearer credentials at all; `multiple`: more than one token offered; `malformed`: not a token68. */
export type BearerProblem = 'missing' | 'multiple' | 'malformed'

export type Bearer =
  | { readonly token: string; readonly problem: null }
  | { readonly token: null; readonly problem: BearerProblem }

const token68 = /^[A-Za-z0-9\-._~+/]+=*$/

function problem(value: BearerProblem): Bearer {
  return { token: null, problem: value }
}

/**
 * The bearer token of a request, from the Authorization header only (RFC 6750 §2.1): tokens in the
 * query string, the body or cookies are never looked at. Node keeps only the first of duplicate
 * Authorization headers in `req.headers`, so duplicates are counted in `rawHeaders`. The scheme is
 * case-insensitive (RFC 7235 §2.1); the credentials must be one token68. A list of credentials (a
 * token68 holds neither ',' nor ' ') is `multiple`, anything else not a token68 `malformed`.
 * Both listeners read tokens here: the flow proxy and the admin API.
 */
export function readBearer(req: Pick<IncomingMessage, 'rawHeaders'>): Bearer {
  const raw = req.rawHeaders
  let value: string | undefined
  for (let i = 0; i < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() !== 'authorization') continue
    if (value !== undefined) return problem('multiple')
    value = raw[i + 1] as string
  }
  if (value === undefined || value.length <= 7 || value.slice(0, 7).toLowerCase() !== 'bearer ') {
    return problem('missing')
  }
  const token = value.slice(7).replace(/^ +| +$/g, '')
  if (token === '') return problem('malformed')
  if (!token68.test(token))
    return problem(token.includes(',') || token.includes(' ') ? 'multiple' : 'malformed')
  return { token, problem: null }
}

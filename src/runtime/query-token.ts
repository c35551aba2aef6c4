import { FlowgateError } from '../lib/errors.ts'

// Alone, a query token is answered as no token at all, as before query tokens were refused.
const tokenInQuery = new FlowgateError('ERR_TOKEN_MISSING', { detail: 'access token in the query string' })
const tokenInQueryAndHeader = new FlowgateError('ERR_TOKEN_IN_QUERY_AND_HEADER')

const parameter = 'access_token'

/** The parameter name from `from` to `to`, percent-decoded when it holds an escape, or null when undecodable. */
function nameAt(query: string, from: number, to: number): string | null {
  const name = query.slice(from, to)
  if (!name.includes('%')) return name
  try {
    return decodeURIComponent(name)
  } catch {
    return null
  }
}

/** True when a query string (with its leading `?`) has an `access_token` parameter, in any case or encoding. */
export function hasQueryToken(query: string): boolean {
  const length = query.length
  let start = 1
  while (start < length) {
    let end = start
    let nameEnd = -1
    while (end < length) {
      const code = query.charCodeAt(end)
      // `;` separates parameters for some servers behind Flowgate, so it counts as one here.
      if (code === 38 /* & */ || code === 59 /* ; */) break
      if (code === 61 /* = */ && nameEnd === -1) nameEnd = end
      end++
    }
    if (nameEnd === -1) nameEnd = end
    const nameLength = nameEnd - start
    // Only a name of the parameter's length, or one holding escapes, can decode to it.
    if (nameLength >= parameter.length) {
      const name = nameAt(query, start, nameEnd)
      if (name === null || name.toLowerCase() === parameter) return true
    }
    start = end + 1
  }
  return false
}

/**
 * Why a flow request is refused for a token in its query string (RFC 6750 §2.3), or null. Flowgate
 * reads tokens from the Authorization header only, and a query token would be forwarded to the
 * iFlow in the upstream URL and land in its logs: with a header credential as well it is 400
 * `invalid_request` (two ways of sending a token), alone it is 401 `ERR_TOKEN_MISSING`
 * (query tokens are not accepted).
 */
export function queryTokenRefusal(query: string, authorization: string | undefined): FlowgateError | null {
  if (query.length <= parameter.length || !hasQueryToken(query)) return null
  return authorization === undefined ? tokenInQuery : tokenInQueryAndHeader
}

import { FlowgateError } from '../lib/errors.ts'

// Alone, a query token is answered as no token at all, as before query tokens were refused.
const tokenInQuery = new FlowgateError('ERR_TOKEN_MISSING', { detail: 'access token in the query string' })
const tokenInQueryAndHeader = new FlowgateError('ERR_TOKEN_IN_QUERY_AND_HEADER')

const parameter = 'access_token'

/** True when `query[from, from + 12)` is `access_token` in any letter case; compared in place. */
function isParameterAt(query: string, from: number): boolean {
  for (let i = 0; i < parameter.length; i++) {
    let code = query.charCodeAt(from + i)
    if (code >= 65 && code <= 90) code += 32
    if (code !== parameter.charCodeAt(i)) return false
  }
  return true
}

/** A percent-encoded name decoded and compared; an undecodable one counts as the parameter. */
function decodesToParameter(name: string): boolean {
  try {
    return decodeURIComponent(name).toLowerCase() === parameter
  } catch {
    return true
  }
}

/**
 * True when a query string (with its leading `?`) has an `access_token` parameter, in any case or
 * encoding. One pass of character comparisons; only a name holding `%` is sliced and decoded.
 */
export function hasQueryToken(query: string): boolean {
  const length = query.length
  let start = 1
  while (start < length) {
    let end = start
    let nameEnd = -1
    let escaped = false
    while (end < length) {
      const code = query.charCodeAt(end)
      // `;` separates parameters for some servers behind Flowgate, so it counts as one here.
      if (code === 38 /* & */ || code === 59 /* ; */) break
      if (nameEnd === -1) {
        if (code === 61 /* = */) nameEnd = end
        else if (code === 37 /* % */) escaped = true
      }
      end++
    }
    if (nameEnd === -1) nameEnd = end
    const nameLength = nameEnd - start
    if (escaped) {
      if (nameLength >= parameter.length && decodesToParameter(query.slice(start, nameEnd))) return true
    } else if (nameLength === parameter.length && isParameterAt(query, start)) {
      return true
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

import { FlowgateError } from '../lib/errors.ts'

/** Longest address accepted, wildcard included. */
const maxAddressLength = 200

/** The suffix that turns an address into a prefix matching every sub-path. */
export const wildcardSuffix = '/*'

function invalid(reason: string): FlowgateError {
  return new FlowgateError('ERR_VALIDATION', { description: `invalid flow address: ${reason}` })
}

/** Letters, digits and `-._~`: the unreserved characters of RFC 3986, so no address needs encoding. */
function isAddressChar(code: number): boolean {
  return (
    (code >= 97 && code <= 122) || // a-z
    (code >= 48 && code <= 57) || // 0-9
    code === 45 || // -
    code === 46 || // .
    code === 95 || // _
    code === 126 // ~
  )
}

/**
 * Normalises a flow address as CPI writes them: `orders`, `/Orders` and `/orders/` are all
 * `/orders`, called at `/http/orders`. A trailing `/*` makes it a prefix that also matches every
 * sub-path (`/orders/*` matches `/orders`, `/orders/` and `/orders/2024/42`). Segments hold only
 * unreserved characters and are never `.` or `..`, so an address can neither need encoding nor
 * collide with what path hygiene refuses.
 */
export function normalizeAddress(input: string): string {
  if (typeof input !== 'string') throw invalid('must be a string')
  let address = input.trim().toLowerCase()
  if (!address.startsWith('/')) address = `/${address}`
  let wildcard = false
  if (address.endsWith(wildcardSuffix)) {
    wildcard = true
    address = address.slice(0, -wildcardSuffix.length)
  } else if (address.length > 1 && address.endsWith('/')) {
    address = address.slice(0, -1)
  }
  if (address === '' || address === '/') throw invalid('must name at least one path segment')
  const segments = address.slice(1).split('/')
  for (const segment of segments) {
    if (segment === '') throw invalid('empty path segment')
    if (segment === '.' || segment === '..') throw invalid('dot segments are not allowed')
    for (let i = 0; i < segment.length; i++) {
      if (!isAddressChar(segment.charCodeAt(i))) {
        throw invalid('only letters, digits and - . _ ~ are allowed in a segment')
      }
    }
  }
  const normalized = wildcard ? `${address}${wildcardSuffix}` : address
  if (normalized.length > maxAddressLength) throw invalid(`longer than ${maxAddressLength} characters`)
  return normalized
}

export function isWildcardAddress(address: string): boolean {
  return address.endsWith(wildcardSuffix)
}

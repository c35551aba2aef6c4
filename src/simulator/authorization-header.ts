/** What a request's `Authorization` header presents, parsed once per request. */
export type PresentedCredentials =
  | { readonly scheme: 'none' }
  | { readonly scheme: 'basic'; readonly username: string; readonly password: string }
  | { readonly scheme: 'bearer'; readonly token: string }
  /** Another scheme, or a Basic/Bearer value that cannot be read. */
  | { readonly scheme: 'invalid' }

const base64 = /^[A-Za-z0-9+/]+={0,2}$/
const token68 = /^[A-Za-z0-9\-._~+/]+=*$/

export function parseAuthorization(header: string | undefined): PresentedCredentials {
  if (header === undefined || header === '') return { scheme: 'none' }
  const space = header.indexOf(' ')
  if (space === -1) return { scheme: 'invalid' }
  const scheme = header.slice(0, space).toLowerCase()
  const value = header.slice(space + 1).trim()
  if (scheme === 'bearer')
    return token68.test(value) ? { scheme: 'bearer', token: value } : { scheme: 'invalid' }
  if (scheme !== 'basic' || !base64.test(value)) return { scheme: 'invalid' }
  const decoded = Buffer.from(value, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon === -1) return { scheme: 'invalid' }
  return { scheme: 'basic', username: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
}

/**
 * RFC 6749 Appendix B: OAuth clients form-urlencode the client id and secret before Basic encoding
 * (SAP client ids hold `!` and `|`). Many clients do not, so a value is accepted in either form.
 */
export function formDecodings(value: string): string[] {
  try {
    const decoded = decodeURIComponent(value.replaceAll('+', ' '))
    return decoded === value ? [value] : [value, decoded]
  } catch {
    return [value]
  }
}

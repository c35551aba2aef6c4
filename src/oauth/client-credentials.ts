import { FlowgateError } from '../lib/errors.ts'
import { formDecode } from './form-body.ts'

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post'

export interface ClientCredentials {
  readonly clientId: string
  readonly clientSecret: string
  readonly method: ClientAuthMethod
}

export const basicChallenge = 'Basic realm="flowgate", charset="UTF-8"'

const base64Pattern = /^[A-Za-z0-9+/]+={0,2}$/
const maxCredentialLength = 1024

function invalidClient(detail: string, challenge: boolean): FlowgateError {
  return new FlowgateError('ERR_OAUTH_INVALID_CLIENT', {
    detail,
    ...(challenge ? { headers: { 'www-authenticate': basicChallenge } } : {}),
  })
}

function invalidRequest(description: string): FlowgateError {
  return new FlowgateError('ERR_OAUTH_INVALID_REQUEST', { description })
}

function fromBasic(authorization: string): { clientId: string; clientSecret: string } {
  const space = authorization.indexOf(' ')
  const scheme = space === -1 ? authorization : authorization.slice(0, space)
  if (scheme.toLowerCase() !== 'basic') throw invalidClient('authorization scheme is not Basic', true)
  const encoded = authorization.slice(space + 1).trim()
  if (encoded.length > maxCredentialLength * 2 || !base64Pattern.test(encoded)) {
    throw invalidClient('Basic credentials are not base64', true)
  }
  const decoded = Buffer.from(encoded, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon === -1) throw invalidClient('Basic credentials have no colon', true)
  // RFC 6749 Appendix B: both halves are form-encoded. Raw `!` and `|` decode to themselves, so
  // clients that skip the encoding (most do, for SAP client ids) work as well.
  const clientId = formDecode(decoded.slice(0, colon))
  const clientSecret = formDecode(decoded.slice(colon + 1))
  if (clientId === undefined || clientSecret === undefined) {
    throw invalidClient('Basic credentials have an invalid percent escape', true)
  }
  if (clientId === '' || clientSecret === '') throw invalidClient('empty client id or secret in Basic', true)
  return { clientId, clientSecret }
}

/**
 * The client's credentials from HTTP Basic or from the form body, never both (RFC 6749 §2.3:
 * one authentication method per request). A body `client_id` beside Basic must name the same client.
 */
export function clientCredentials(
  authorization: string | undefined,
  params: ReadonlyMap<string, string>,
): ClientCredentials {
  const bodyId = params.get('client_id')
  const bodySecret = params.get('client_secret')
  if (authorization !== undefined && authorization !== '') {
    if (bodySecret !== undefined) {
      throw invalidRequest('use one client authentication method: HTTP Basic or client_secret in the body')
    }
    const basic = fromBasic(authorization)
    if (bodyId !== undefined && bodyId !== basic.clientId) {
      throw invalidRequest('client_id in the body differs from the HTTP Basic client id')
    }
    return { ...basic, method: 'client_secret_basic' }
  }
  if (bodyId === undefined || bodyId === '') {
    if (bodySecret !== undefined) throw invalidRequest('client_secret without client_id')
    throw invalidClient('no client authentication', true)
  }
  if (bodySecret === undefined || bodySecret === '')
    throw invalidClient('client_id without client_secret', false)
  if (bodyId.length > maxCredentialLength || bodySecret.length > maxCredentialLength) {
    throw invalidClient('client id or secret too long', false)
  }
  return { clientId: bodyId, clientSecret: bodySecret, method: 'client_secret_post' }
}

import { FlowgateError, isFlowgateError } from '../lib/errors.ts'
import { bearerChallenge } from '../lib/http-error.ts'

/** The RFC 6750 realm of every challenge. */
export const realm = 'flowgate'

// Rejections are prebuilt: they carry no per-request data, and building an Error captures a stack.
export const notReady = new FlowgateError('ERR_UNAVAILABLE', { detail: 'flow proxy not started' })
export const pathRejected = new FlowgateError('ERR_PATH_REJECTED')
export const flowNotFound = new FlowgateError('ERR_FLOW_NOT_FOUND')
export const tokenMissing = new FlowgateError('ERR_TOKEN_MISSING')
export const tokenMultiple = new FlowgateError('ERR_TOKEN_MULTIPLE')
export const tokenMalformed = new FlowgateError('ERR_TOKEN_INVALID', {
  detail: 'bearer token is not a token68',
})
export const insufficientScope = new FlowgateError('ERR_INSUFFICIENT_SCOPE')
export const csrfRequired = new FlowgateError('ERR_CSRF_REQUIRED', {
  headers: { 'x-csrf-token': 'Required' },
})
export const tooLarge = new FlowgateError('ERR_PAYLOAD_TOO_LARGE', { headers: { connection: 'close' } })
export const upstreamTimeout = new FlowgateError('ERR_UPSTREAM_TIMEOUT')
export const clientClosed = new FlowgateError('ERR_CLIENT_CLOSED_REQUEST')

export const challengeMissing = bearerChallenge(realm)
export const challengeInsufficientScope = bearerChallenge(realm, insufficientScope)
export const challengeMultiple = bearerChallenge(realm, tokenMultiple)
export const challengeMalformed = bearerChallenge(realm, tokenMalformed)

/** An upstream failure as the flow proxy answers it; undici's error is kept as the cause. */
export function upstreamFailure(error: unknown): FlowgateError {
  if (isFlowgateError(error)) return error
  const code = (error as { code?: unknown }).code
  if (code === 'UND_ERR_HEADERS_TIMEOUT') return upstreamTimeout
  return new FlowgateError('ERR_UPSTREAM_UNREACHABLE', {
    detail: typeof code === 'string' ? code : (error as Error).message,
    cause: error,
  })
}

export function methodNotAllowed(methods: readonly string[]): FlowgateError {
  return new FlowgateError('ERR_METHOD_NOT_ALLOWED', { headers: { allow: methods.join(', ') } })
}

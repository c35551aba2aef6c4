import type { ServerResponse } from 'node:http'
import { publicErrorOf } from './error-reference.ts'
import { FlowgateError, isFlowgateError } from './errors.ts'

/**
 * The one place that turns errors into HTTP responses, for every listener (runtime, token service,
 * admin API). Body:
 *   {"error":"invalid_client","error_description":"client authentication failed",
 *    "code":"ERR_OAUTH_INVALID_CLIENT","correlation_id":"…"}
 * `error` is the OAuth/RFC 6750 code when there is one (RFC 6749 §5.2 clients read it), otherwise
 * the Flowgate code in snake case; `code` is always the Flowgate code. The private `detail` is
 * never sent. Unknown errors become ERR_INTERNAL.
 */
export interface ErrorResponseOptions {
  readonly correlationId?: string
  /** Full WWW-Authenticate value, e.g. `Bearer realm="flowgate", error="invalid_token"`. */
  readonly wwwAuthenticate?: string
  /** Extra headers (merged after the error's own headers). */
  readonly headers?: Readonly<Record<string, string>>
}

/** An error response, ready for any server: status, headers (without Content-Length) and body. */
export interface RenderedError {
  readonly error: FlowgateError
  readonly status: number
  readonly headers: Record<string, string>
  readonly body: string
}

export function toFlowgateError(error: unknown): FlowgateError {
  return isFlowgateError(error) ? error : new FlowgateError('ERR_INTERNAL', { cause: error })
}

function errorBody(error: FlowgateError, correlationId?: string): string {
  const body: Record<string, string> = {
    error: publicErrorOf(error.code),
    error_description: error.description,
    code: error.code,
  }
  if (correlationId !== undefined) body.correlation_id = correlationId
  return JSON.stringify(body)
}

/** What a challenge names: an error's OAuth code and public description, or explicit ones. */
export interface ChallengeError {
  readonly oauth: string | undefined
  readonly description: string
}

/** Builds `Bearer realm="…", error="…", error_description="…"` for RFC 6750 answers. */
export function bearerChallenge(realm: string, error?: ChallengeError): string {
  if (error?.oauth === undefined) return `Bearer realm="${realm}"`
  return `Bearer realm="${realm}", error="${error.oauth}", error_description="${error.description}"`
}

export function renderError(error: unknown, options: ErrorResponseOptions = {}): RenderedError {
  const failure = toFlowgateError(error)
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'cache-control': 'no-store',
    ...failure.headers,
    ...options.headers,
  }
  if (options.wwwAuthenticate !== undefined) headers['www-authenticate'] = options.wwwAuthenticate
  if (options.correlationId !== undefined) headers['x-correlation-id'] = options.correlationId
  return { error: failure, status: failure.status, headers, body: errorBody(failure, options.correlationId) }
}

/** Answers with the error's JSON body; returns the body's length in bytes (0 when the response is aborted). */
export function sendError(res: ServerResponse, error: unknown, options: ErrorResponseOptions = {}): number {
  if (res.headersSent) {
    // A response already started cannot be turned into an error: abort so the client never takes
    // a truncated body for a complete one.
    res.destroy(toFlowgateError(error))
    return 0
  }
  const { status, headers, body } = renderError(error, options)
  const length = Buffer.byteLength(body)
  res.writeHead(status, { ...headers, 'content-length': length })
  res.end(body)
  return length
}

import type { ServerResponse } from 'node:http'
import { FlowgateError, isFlowgateError } from './errors.ts'

/**
 * The one place that turns errors into HTTP responses, for every listener. Body:
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

export function toFlowgateError(error: unknown): FlowgateError {
  return isFlowgateError(error) ? error : new FlowgateError('ERR_INTERNAL', { cause: error })
}

export function errorBody(error: FlowgateError, correlationId?: string): string {
  const body: Record<string, string> = {
    error: error.oauth ?? error.code.slice(4).toLowerCase(),
    error_description: error.description,
    code: error.code,
  }
  if (correlationId !== undefined) body.correlation_id = correlationId
  return JSON.stringify(body)
}

/** Builds `Bearer realm="…", error="…", error_description="…"` for RFC 6750 answers. */
export function bearerChallenge(realm: string, error?: FlowgateError): string {
  if (error?.oauth === undefined) return `Bearer realm="${realm}"`
  return `Bearer realm="${realm}", error="${error.oauth}", error_description="${error.description}"`
}

/** Answers with the error's JSON body; returns the body's length in bytes (0 when the response is aborted). */
export function sendError(res: ServerResponse, error: unknown, options: ErrorResponseOptions = {}): number {
  const failure = toFlowgateError(error)
  if (res.headersSent) {
    // A response already started cannot be turned into an error: abort so the client never takes
    // a truncated body for a complete one.
    res.destroy(failure)
    return 0
  }
  const body = errorBody(failure, options.correlationId)
  const length = Buffer.byteLength(body)
  const headers: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': length,
    'cache-control': 'no-store',
    ...failure.headers,
    ...options.headers,
  }
  if (options.wwwAuthenticate !== undefined) headers['www-authenticate'] = options.wwwAuthenticate
  if (options.correlationId !== undefined) headers['x-correlation-id'] = options.correlationId
  res.writeHead(failure.status, headers)
  res.end(body)
  return length
}

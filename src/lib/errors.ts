/**
 * Flowgate's one error hierarchy. Every failure a caller can see is a FlowgateError with a code from
 * the closed `ErrorCode` union. The registry below fixes, per code, the HTTP status, the OAuth 2.0 /
 * RFC 6750 error code (when the failure belongs to an OAuth exchange) and the public description.
 * The optional `detail` is the precise, private reason: it is logged, never sent, and never holds a
 * secret or a token (log a short hash when a record must point at one).
 *
 * `renderError` in src/lib/http-error.ts is the one place that turns these into responses. The
 * error-code table of docs/api.md is generated from this registry (src/lib/error-reference.ts), and
 * test/lib/errors.test.ts keeps the registry, the docs and the code that raises each entry in sync.
 */

export interface ErrorDefinition {
  readonly status: number
  /** RFC 6749 §5.2 / RFC 6750 §3.1 / RFC 7009 error code, when this is an OAuth error. */
  readonly oauth?: string
  readonly description: string
}

export const errorRegistry = {
  // configuration
  ERR_CONFIG_INVALID: { status: 500, description: 'invalid configuration' },
  // generic request errors
  ERR_BAD_REQUEST: { status: 400, description: 'bad request' },
  ERR_VALIDATION: { status: 400, description: 'request validation failed' },
  ERR_UNKNOWN_FIELD: { status: 400, description: 'unknown field' },
  ERR_NOT_FOUND: { status: 404, description: 'not found' },
  ERR_METHOD_NOT_ALLOWED: { status: 405, description: 'method not allowed' },
  ERR_CONFLICT: { status: 409, description: 'conflict' },
  ERR_PAYLOAD_TOO_LARGE: { status: 413, description: 'request body too large' },
  ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, description: 'unsupported media type' },
  ERR_INTERNAL: { status: 500, description: 'internal error' },
  ERR_UNAVAILABLE: { status: 503, description: 'service unavailable' },
  // HTTP parsing at the listener
  ERR_MALFORMED_REQUEST: { status: 400, description: 'malformed HTTP request' },
  ERR_BAD_FRAMING: { status: 400, description: 'invalid request message framing' },
  ERR_BAD_HOST: { status: 400, description: 'invalid Host header' },
  ERR_REQUEST_TIMEOUT: { status: 408, description: 'request not received in time' },
  ERR_URI_TOO_LONG: { status: 414, description: 'request target too long' },
  ERR_HEADERS_TOO_LARGE: { status: 431, description: 'request header fields too large' },
  ERR_HTTP_VERSION_NOT_SUPPORTED: { status: 505, description: 'HTTP version not supported' },
  // domain validation (admin operations, CLI, declarative configuration)
  ERR_UNKNOWN_ROLE: { status: 400, description: 'unknown role' },
  ERR_UNKNOWN_CONNECTION: { status: 400, description: 'unknown upstream connection' },
  ERR_INVALID_PARAMETERS: { status: 400, description: 'invalid parameters' },
  ERR_UNSUPPORTED_GRANT_TYPE_PARAMETER: {
    status: 400,
    description: 'unsupported grant type in instance parameters',
  },
  ERR_ROLE_IN_USE: { status: 409, description: 'role is in use' },
  ERR_ALREADY_EXISTS: { status: 409, description: 'already exists' },
  ERR_INVALID_ROLE_NAME: { status: 400, description: 'invalid role name' },
  ERR_ROLE_BUILT_IN: { status: 409, description: 'built-in roles cannot be changed or deleted' },
  ERR_ROLE_NOT_ALLOWED_FOR_PLAN: { status: 400, description: 'role not allowed for this plan' },
  ERR_INVALID_TOKEN_VALIDITY: { status: 400, description: 'invalid token-validity' },
  ERR_KEY_TYPE_NOT_SUPPORTED: { status: 400, description: 'key type not supported yet' },
  ERR_KEY_EXPIRED: { status: 409, description: 'the service key has expired; expiry is final' },
  // OAuth 2.0 token endpoint (RFC 6749 §5.2)
  ERR_OAUTH_INVALID_REQUEST: { status: 400, oauth: 'invalid_request', description: 'invalid request' },
  ERR_OAUTH_INVALID_CLIENT: {
    status: 401,
    oauth: 'invalid_client',
    description: 'client authentication failed',
  },
  ERR_OAUTH_UNSUPPORTED_GRANT_TYPE: {
    status: 400,
    oauth: 'unsupported_grant_type',
    description: 'unsupported grant type',
  },
  ERR_OAUTH_UNAUTHORIZED_CLIENT: {
    status: 400,
    oauth: 'unauthorized_client',
    description: 'the client is not authorized to use this grant type',
  },
  ERR_OAUTH_INVALID_SCOPE: { status: 400, oauth: 'invalid_scope', description: 'invalid scope' },
  ERR_OAUTH_SLOW_DOWN: {
    status: 429,
    oauth: 'slow_down',
    description: 'too many failed attempts, retry later',
  },
  // runtime (RFC 6750)
  ERR_TOKEN_MISSING: { status: 401, description: 'authentication required' },
  ERR_TOKEN_INVALID: { status: 401, oauth: 'invalid_token', description: 'invalid token' },
  ERR_TOKEN_EXPIRED: { status: 401, oauth: 'invalid_token', description: 'invalid token' },
  ERR_TOKEN_REVOKED: { status: 401, oauth: 'invalid_token', description: 'invalid token' },
  ERR_TOKEN_MULTIPLE: { status: 400, oauth: 'invalid_request', description: 'more than one token' },
  ERR_TOKEN_IN_QUERY_AND_HEADER: {
    status: 400,
    oauth: 'invalid_request',
    description: 'access token in both the query string and the Authorization header',
  },
  ERR_INSUFFICIENT_SCOPE: {
    status: 403,
    oauth: 'insufficient_scope',
    description: 'the token does not carry the role this flow requires',
  },
  ERR_FORBIDDEN: { status: 403, description: 'forbidden' },
  ERR_CSRF_REQUIRED: { status: 403, description: 'CSRF token validation failed' },
  ERR_PATH_REJECTED: { status: 400, description: 'request path rejected' },
  ERR_FLOW_NOT_FOUND: { status: 404, description: 'no flow at this address' },
  /** Access records only: the client went away before the response was complete (nginx's 499). */
  ERR_CLIENT_CLOSED_REQUEST: { status: 499, description: 'client closed the request' },
  // upstream
  ERR_UPSTREAM_UNREACHABLE: { status: 502, description: 'upstream unreachable' },
  ERR_UPSTREAM_BAD_RESPONSE: { status: 502, description: 'bad response from upstream' },
  ERR_UPSTREAM_AUTH: { status: 502, description: 'upstream authentication failed' },
  ERR_UPSTREAM_TIMEOUT: { status: 504, description: 'upstream did not answer in time' },
  // store
  ERR_STORE_UNAVAILABLE: { status: 503, description: 'store unavailable' },
  ERR_STORE_FULL: { status: 503, description: 'the store is out of space: changes are not possible now' },
  ERR_STORE_MIGRATION: { status: 500, description: 'store migration failed' },
  // secrets at rest
  ERR_DECRYPT: { status: 500, description: 'could not decrypt a stored secret' },
} as const satisfies Record<string, ErrorDefinition>

export type ErrorCode = keyof typeof errorRegistry

export interface FlowgateErrorOptions {
  /** Private, precise reason: logged, never sent. Never a secret or token. */
  detail?: string
  /** Overrides the registry's public description (still public: never a secret). */
  description?: string
  /** Extra response headers that belong to this error (for example `Retry-After`, `Allow`). */
  headers?: Record<string, string>
  cause?: unknown
}

export class FlowgateError extends Error {
  readonly code: ErrorCode
  readonly status: number
  readonly oauth: string | undefined
  readonly description: string
  readonly detail: string | undefined
  readonly headers: Record<string, string> | undefined

  constructor(code: ErrorCode, options: FlowgateErrorOptions = {}) {
    const definition: ErrorDefinition = errorRegistry[code]
    const description = options.description ?? definition.description
    super(description, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'FlowgateError'
    this.code = code
    this.status = definition.status
    this.oauth = definition.oauth
    this.description = description
    this.detail = options.detail
    this.headers = options.headers
  }

  /** What may be logged: code, status and the private detail; never a secret by construction. */
  toJSON(): { code: ErrorCode; status: number; description: string; detail?: string } {
    return this.detail === undefined
      ? { code: this.code, status: this.status, description: this.description }
      : { code: this.code, status: this.status, description: this.description, detail: this.detail }
  }
}

export function isFlowgateError(value: unknown): value is FlowgateError {
  return value instanceof FlowgateError
}

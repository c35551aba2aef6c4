import type { ServerResponse } from 'node:http'
import type { IdentityIndex } from '../identity/identity-index.ts'
import { sendError, toFlowgateError } from '../lib/http-error.ts'
import type { Logger } from '../lib/logger.ts'
import type { RequestContext } from '../lib/request-context.ts'
import type { ClientCredentials } from './client-credentials.ts'
import type { FailureAudit } from './failure-audit.ts'

export interface RefusalOptions {
  readonly index: IdentityIndex
  readonly failures: FailureAudit
  readonly logger: Logger
}

/**
 * How every client-authenticated OAuth endpoint refuses a request: the failure is counted for the
 * failure audit (under the client id only when that id exists, so audit events never name guesses),
 * logged with its private detail, and answered through the one error renderer with `no-cache`.
 * A wrong method is answered but not counted: it is no authentication attempt.
 */
export function createRefusal(
  options: RefusalOptions,
): (
  res: ServerResponse,
  ctx: RequestContext,
  error: unknown,
  credentials: ClientCredentials | undefined,
  what: string,
) => void {
  const { index, failures, logger } = options
  return (res, ctx, error, credentials, what) => {
    const failure = toFlowgateError(error)
    if (failure.code !== 'ERR_METHOD_NOT_ALLOWED') {
      const clientId =
        credentials !== undefined && index.client(credentials.clientId) !== undefined
          ? credentials.clientId
          : undefined
      failures.record({ clientId, address: ctx.clientAddress, reason: failure.code })
      logger[failure.status >= 500 ? 'error' : 'info'](
        { correlationId: ctx.correlationId, clientId, address: ctx.clientAddress, err: failure },
        `${what} request refused`,
      )
    }
    sendError(res, failure, { correlationId: ctx.correlationId, headers: { pragma: 'no-cache' } })
  }
}

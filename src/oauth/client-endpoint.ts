import type { IdentityIndex } from '../identity/identity-index.ts'
import { sendError, toFlowgateError } from '../lib/http-error.ts'
import type { Logger } from '../lib/logger.ts'
import type { RequestContext } from '../lib/request-context.ts'
import { type ClientCredentials, clientCredentials } from './client-credentials.ts'
import type { FailureAudit } from './failure-audit.ts'
import { readParameters } from './form-body.ts'
import { checkMethod, noStore, sendJson } from './oauth-response.ts'
import type { OAuthRoute } from './route.ts'

export interface ClientEndpointOptions {
  readonly index: IdentityIndex
  readonly failures: FailureAudit
  readonly logger: Logger
}

/** What an endpoint does once the request is a POST with a form and client credentials: the 200 body. */
export type ClientEndpointAction = (
  params: ReadonlyMap<string, string>,
  credentials: ClientCredentials,
  ctx: RequestContext,
) => Promise<string>

/**
 * The frame of every client-authenticated OAuth endpoint (token, introspection, revocation):
 * `POST` only, the form read (query grant type + empty body, or form body), the client's
 * credentials taken from HTTP Basic or the body, then the endpoint's own action, answered with
 * `no-store`. A refusal is counted for the failure audit (under the client id only when that id
 * exists, so audit events never name guesses), logged with its private detail, and answered
 * through the one error renderer with `no-cache`. A wrong method is answered but not counted: it
 * is no authentication attempt.
 */
export function createClientEndpoints(
  options: ClientEndpointOptions,
): (what: string, action: ClientEndpointAction) => OAuthRoute {
  const { index, failures, logger } = options
  return (what, action) => async (req, res, ctx) => {
    let credentials: ClientCredentials | undefined
    try {
      checkMethod(req, ['POST'])
      const params = await readParameters(req)
      credentials = clientCredentials(req.headers.authorization, params)
      sendJson(res, 200, await action(params, credentials, ctx), noStore, ctx.correlationId)
    } catch (error) {
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
}

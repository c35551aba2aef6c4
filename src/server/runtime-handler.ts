import type { IncomingMessage, ServerResponse } from 'node:http'
import { FlowgateError } from '../lib/errors.ts'
import { sendError } from '../lib/http-error.ts'
import type { Logger } from '../lib/logger.ts'
import type { RequestContext } from '../lib/request-context.ts'

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, ctx: RequestContext) => Promise<void>

export interface RuntimeHandlerOptions {
  /** Exact paths of the token service (`/oauth/token`, `/token_keys`, …). */
  readonly routes: ReadonlyMap<string, RouteHandler>
  /** Everything under `/http/` (and `/http` itself) goes to the flow proxy. */
  readonly proxy: (req: IncomingMessage, res: ServerResponse, ctx: RequestContext) => void
  readonly context: (req: IncomingMessage) => RequestContext
  /** Strict-Transport-Security value for the token service's answers (the flow proxy adds its own); empty string disables it. */
  readonly hsts: string
  readonly logger: Logger
}

function isFlowPath(url: string): boolean {
  if (!url.startsWith('/http')) return false
  const next = url.charCodeAt(5)
  // `/http`, `/http/…`, `/http?…`; `/httpx` is not a flow path.
  return Number.isNaN(next) || next === 47 /* / */ || next === 63 /* ? */
}

/**
 * The runtime listener's dispatcher: the token service's exact paths and the flow proxy, nothing
 * else. The admin API lives on its own listener and is not reachable from here by construction.
 */
export function createRuntimeHandler(
  options: RuntimeHandlerOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const { routes, proxy, context, hsts, logger } = options
  const notFound = new FlowgateError('ERR_NOT_FOUND')

  const fail = (res: ServerResponse, ctx: RequestContext, error: unknown) => {
    logger.error({ err: error, correlationId: ctx.correlationId }, 'token service handler failed')
    sendError(res, error, { correlationId: ctx.correlationId })
  }

  return (req, res) => {
    const ctx = context(req)
    const url = req.url ?? '/'
    if (isFlowPath(url)) {
      // The flow proxy puts Strict-Transport-Security into its own header lists: a header set
      // here first sends every later writeHead down Node's slow path (removeHeader and
      // appendHeader per header; bench/micro/response-headers.ts).
      proxy(req, res, ctx)
      return
    }
    if (hsts !== '') res.setHeader('strict-transport-security', hsts)
    const query = url.indexOf('?')
    const handler = routes.get(query === -1 ? url : url.slice(0, query))
    if (handler === undefined) {
      req.resume()
      sendError(res, notFound, { correlationId: ctx.correlationId })
      return
    }
    handler(req, res, ctx).catch((error: unknown) => fail(res, ctx, error))
  }
}

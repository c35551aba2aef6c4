import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Dispatcher, Pool } from 'undici'
import type { Principal } from '../identity/principal.ts'
import { type BearerProblem, readBearer } from '../lib/bearer.ts'
import { FlowgateError, isFlowgateError } from '../lib/errors.ts'
import { bearerChallenge, sendError } from '../lib/http-error.ts'
import type { RequestContext } from '../lib/request-context.ts'
import type { Route } from './flow-routes.ts'
import { clientResponseHeaders, upstreamRequestHeaders } from './headers.ts'
import { isCleanPath } from './path-hygiene.ts'
import { callerOf, type ProxyState } from './proxy-state.ts'
import { queryTokenRefusal } from './query-token.ts'
import {
  challengeInsufficientScope,
  challengeMalformed,
  challengeMissing,
  challengeMultiple,
  clientClosed,
  csrfRequired,
  flowNotFound,
  insufficientScope,
  notReady,
  pathRejected,
  realm,
  tokenMalformed,
  tokenMissing,
  tokenMultiple,
  tooLarge,
  upstreamFailure,
} from './refusals.ts'
import { bufferedBodyBytes, limitedBody, replayableBodyBytes } from './request-body.ts'

/** Recorded paths are cut here; a path is not a place to keep megabytes. */
const maxRecordedPath = 2048

function isFetch(value: string | string[] | undefined): boolean {
  return typeof value === 'string' && value.length === 5 && value.toLowerCase() === 'fetch'
}

function isModifying(method: string): boolean {
  return method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS'
}

const exchangeOf = Symbol('flowgate.exchange')
type ExchangeResponse = ServerResponse & { [exchangeOf]?: Exchange }

function onResponseClose(this: ExchangeResponse): void {
  this[exchangeOf]?.onClientClose()
}

/**
 * One runtime call, from the first byte Flowgate routes to its access record. It is also the
 * undici dispatch handler of its upstream request, so forwarding allocates no callbacks.
 */
export class Exchange implements Dispatcher.DispatchHandler {
  readonly state: ProxyState
  readonly req: IncomingMessage
  readonly res: ServerResponse
  readonly ctx: RequestContext
  readonly method: string
  path = ''
  query = ''
  route: Route | null = null
  /** The wildcard remainder of the path (`''` for exact flows). */
  remainder = ''
  principal: Principal | null = null
  status = 0
  upstreamStatus: number | null = null
  bytesIn = 0
  bytesOut = 0
  upstreamStartedAt = 0
  upstreamDurationMs: number | null = null
  reason: string | null = null
  /** CPI's SAP_MessageProcessingLogID from the upstream's answer. */
  mplId: string | null = null
  controller: Dispatcher.DispatchController | null = null
  authorization: string | null = null
  /** A body of declared length read whole before forwarding (small, or replayable), or null. */
  body: Buffer | null = null
  replayable = false
  /**
   * The upstream's only chunk when it is the whole declared body: held so the answer is written by
   * one `res.end(chunk)`, without the cork and next-tick uncork of a separate `res.write`.
   */
  wholeBody: Buffer | null = null
  /** The upstream answer's Content-Length, or -1. */
  responseLength = -1
  /**
   * Neither Content-Length nor Transfer-Encoding: no body at all (RFC 9112 §6.3), so none is sent
   * upstream. Streaming the empty request through the length-counting generator cost every GET an
   * async generator, a stream async iterator with its listeners, and undici's iterable-body path.
   */
  bodyless = false
  retried = false
  discarding = false
  clientGone = false
  recorded = false
  onDrain: (() => void) | null = null

  constructor(state: ProxyState, req: IncomingMessage, res: ServerResponse, ctx: RequestContext) {
    this.state = state
    this.req = req
    this.res = res
    this.ctx = ctx
    this.method = req.method ?? 'GET'
  }

  async start(): Promise<void> {
    const url = this.req.url ?? ''
    const q = url.indexOf('?')
    this.path = q === -1 ? url : url.slice(0, q)
    this.query = q === -1 ? '' : url.slice(q)
    const table = this.state.table
    if (table === null) {
      this.reject(notReady)
      return
    }
    if (!isCleanPath(this.path)) {
      this.reject(pathRejected)
      return
    }
    const path = this.path
    // The server hands over `/http` and `/http/…`; anything else is not a flow path.
    if (!path.startsWith('/http') || (path.length > 5 && path.charCodeAt(5) !== 47)) {
      this.reject(flowNotFound)
      return
    }
    const route = table.match(path.slice(5))
    if (route === undefined) {
      this.reject(flowNotFound)
      return
    }
    this.route = route
    // Taken now: the table may be rebuilt while this call waits for its token.
    this.remainder = table.remainder(route, path.slice(5))
    const queryToken = queryTokenRefusal(this.query, this.req.headers.authorization)
    if (queryToken !== null) {
      this.reject(queryToken, bearerChallenge(realm, queryToken))
      return
    }

    const bearer = readBearer(this.req)
    if (bearer.token === null) {
      this.rejectBearer(bearer.problem)
      return
    }
    let principal: Principal
    try {
      principal = await this.state.authenticator.authenticate(bearer.token)
    } catch (error) {
      this.authenticationFailed(error)
      return
    }
    this.authorize(principal)
  }

  rejectBearer(problem: BearerProblem): void {
    if (problem === 'multiple') this.reject(tokenMultiple, challengeMultiple)
    else if (problem === 'malformed') this.reject(tokenMalformed, challengeMalformed)
    else this.reject(tokenMissing, challengeMissing)
  }

  authenticationFailed(error: unknown): void {
    if (isFlowgateError(error) && error.status === 401) {
      this.reject(error, bearerChallenge(realm, error))
      return
    }
    this.state.logger.error(
      { err: error, correlationId: this.ctx.correlationId },
      'token authentication failed',
    )
    this.reject(isFlowgateError(error) ? error : new FlowgateError('ERR_INTERNAL', { cause: error }))
  }

  authorize(principal: Principal): void {
    this.principal = principal
    const route = this.route as Route
    const flow = route.flow
    if (!principal.roles.has(flow.role)) {
      this.reject(insufficientScope, challengeInsufficientScope)
      return
    }
    const method = this.method
    const headers = this.req.headers
    if (flow.csrf && (method === 'GET' || method === 'HEAD') && isFetch(headers['x-csrf-token'])) {
      this.answerCsrfFetch(principal, route)
      return
    }
    if (!route.methods.has(method)) {
      this.reject(route.methodNotAllowed)
      return
    }
    if (
      flow.csrf &&
      isModifying(method) &&
      !this.state.csrf.verify(
        headers['x-csrf-token'] as string | undefined,
        principal.clientId,
        route.address,
      )
    ) {
      this.reject(csrfRequired)
      return
    }
    if (route.refusal !== null) {
      this.reject(route.refusal)
      return
    }

    const declared = headers['content-length']
    let length = -1
    if (declared !== undefined) {
      // Node's parser has already refused anything but digits here.
      length = Number(declared)
      if (length > flow.maxBodyBytes) {
        this.reject(tooLarge)
        return
      }
    } else if (headers['transfer-encoding'] === undefined) {
      length = 0
      this.bodyless = true
    }
    if (route.auth.refreshable && length >= 0 && length <= replayableBodyBytes) this.replayable = true
    if (length > 0 && (length <= bufferedBodyBytes || this.replayable)) {
      this.bufferBody(length)
      return
    }
    this.bytesIn = Math.max(length, 0)
    void this.authenticateUpstream()
  }

  answerCsrfFetch(principal: Principal, route: Route): void {
    this.req.resume()
    this.status = 200
    const headers = [
      'x-csrf-token',
      this.state.csrf.issue(principal.clientId, route.address),
      'cache-control',
      'no-store',
      'content-length',
      '0',
      'x-correlation-id',
      this.ctx.correlationId,
    ]
    if (this.state.hsts !== '') headers.push('strict-transport-security', this.state.hsts)
    this.res.writeHead(200, headers)
    this.res.end()
    this.record()
  }

  bufferBody(length: number): void {
    const chunks: Buffer[] = []
    let size = 0
    this.req.on('data', (chunk: Buffer) => {
      size += chunk.length
      chunks.push(chunk)
    })
    this.req.once('end', () => {
      this.bytesIn = size
      this.body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size)
      if (size !== length)
        this.reject(new FlowgateError('ERR_BAD_REQUEST', { detail: 'body length mismatch' }))
      else void this.authenticateUpstream()
    })
    this.req.once('error', () => this.clientClosed())
  }

  async authenticateUpstream(): Promise<void> {
    let authorization: string | null
    try {
      authorization = await (this.route as Route).auth.authorization()
    } catch (error) {
      this.upstreamAuthFailed(error)
      return
    }
    try {
      this.forward(authorization)
    } catch (error) {
      this.failed(error)
    }
  }

  /** A bug, not a refusal: logged, answered 500. */
  failed(error: unknown): void {
    this.state.logger.error({ err: error, correlationId: this.ctx.correlationId }, 'flow proxy failed')
    this.reject(new FlowgateError('ERR_INTERNAL', { cause: error }))
  }

  upstreamAuthFailed(error: unknown): void {
    const failure = isFlowgateError(error) ? error : new FlowgateError('ERR_UPSTREAM_AUTH', { cause: error })
    this.state.logger.warn(
      { err: failure, correlationId: this.ctx.correlationId, flow: this.route?.address },
      'upstream authentication failed',
    )
    this.reject(failure)
  }

  forward(authorization: string | null): void {
    if (this.clientGone || this.req.socket.destroyed) {
      this.clientClosed()
      return
    }
    const route = this.route as Route
    this.authorization = authorization
    if (!this.retried) {
      // One shared listener function, not a closure per request; 'close' is emitted once.
      ;(this.res as ExchangeResponse)[exchangeOf] = this
      this.res.on('close', onResponseClose)
    }
    const path = route.wildcard ? route.upstreamPath + this.remainder : route.upstreamPath
    let body: Dispatcher.DispatchOptions['body'] | AsyncIterable<Buffer> = null
    if (this.body !== null) body = this.body
    else if (!this.replayable && !this.bodyless) {
      body =
        this.req.headers['content-length'] === undefined
          ? limitedBody(this, route.flow.maxBodyBytes)
          : this.req
    }
    this.upstreamStartedAt = performance.now()
    try {
      ;(route.pool as Pool).dispatch(
        {
          path: (path === '' ? '/' : path) + this.query,
          method: this.method as Dispatcher.HttpMethod,
          headers: upstreamRequestHeaders(
            this.req,
            this.ctx,
            callerOf(this.state, this.principal as Principal),
            authorization,
            this.state.forwardedHost,
            route.allowedHeaders,
          ),
          body: body as Dispatcher.DispatchOptions['body'],
          headersTimeout: route.flow.timeoutMs,
          bodyTimeout: route.flow.timeoutMs,
        },
        this,
      )
    } catch (error) {
      this.onResponseError(null, error as Error)
    }
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller
    if (this.clientGone) controller.abort(clientClosed)
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (statusCode < 200) return
    this.upstreamStatus = statusCode
    this.upstreamDurationMs = performance.now() - this.upstreamStartedAt
    const route = this.route as Route
    if (statusCode === 401 && this.authorization !== null && route.auth.refreshable) {
      route.auth.rejected(this.authorization)
      if (this.replayable && !this.retried) {
        // Swallow this answer and resend once with a fresh token when it has arrived completely.
        this.discarding = true
        return
      }
    }
    this.status = statusCode
    const mplId = headers.sap_messageprocessinglogid
    this.mplId = typeof mplId === 'string' ? mplId : null
    const length = headers['content-length']
    this.responseLength = typeof length === 'string' ? Number(length) : -1
    this.res.writeHead(statusCode, clientResponseHeaders(headers, this.ctx.correlationId, this.state.hsts))
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.discarding) return
    if (this.bytesOut === 0 && chunk.length === this.responseLength) {
      // The whole body: the end follows at once, and writes it.
      this.bytesOut = chunk.length
      this.wholeBody = chunk
      return
    }
    this.bytesOut += chunk.length
    if (!this.res.write(chunk)) {
      controller.pause()
      this.onDrain ??= () => this.controller?.resume()
      this.res.once('drain', this.onDrain)
    }
  }

  onResponseEnd(): void {
    this.upstreamDurationMs = performance.now() - this.upstreamStartedAt
    if (this.discarding) {
      this.discarding = false
      this.retried = true
      this.controller = null
      void this.authenticateUpstream()
      return
    }
    const chunk = this.wholeBody
    if (chunk === null) this.res.end()
    else {
      this.wholeBody = null
      this.res.end(chunk)
    }
    this.record()
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, error: Error): void {
    this.discarding = false
    if (this.clientGone) {
      this.record()
      return
    }
    if (this.res.headersSent) {
      // A response already under way cannot become an error: abort it so the client never takes
      // a truncated body for a complete one.
      this.reason = 'ERR_UPSTREAM_BAD_RESPONSE'
      this.state.logger.warn(
        { err: error, correlationId: this.ctx.correlationId, flow: this.route?.address },
        'upstream response aborted',
      )
      this.res.destroy(error)
      this.record()
      return
    }
    const failure = upstreamFailure(error)
    if (failure !== tooLarge) {
      this.state.logger.warn(
        { err: failure, correlationId: this.ctx.correlationId, flow: this.route?.address },
        'upstream request failed',
      )
    }
    this.reject(failure)
  }

  onClientClose(): void {
    if (this.res.writableFinished || this.recorded) return
    this.clientClosed()
    this.controller?.abort(clientClosed)
  }

  clientClosed(): void {
    this.clientGone = true
    if (this.recorded) return
    this.reason = clientClosed.code
    this.status = clientClosed.status
    this.record()
  }

  reject(error: FlowgateError, wwwAuthenticate?: string): void {
    this.reason = error.code
    this.status = error.status
    if (!this.res.headersSent && !this.res.destroyed) {
      const correlationId = this.ctx.correlationId
      const headers = this.state.hstsHeaders
      this.bytesOut = sendError(
        this.res,
        error,
        wwwAuthenticate === undefined
          ? { correlationId, headers }
          : { correlationId, headers, wwwAuthenticate },
      )
    } else {
      this.res.destroy()
    }
    this.record()
  }

  record(): void {
    if (this.recorded) return
    this.recorded = true
    const principal = this.principal
    const path = this.path
    this.state.accessLog.record({
      time: this.ctx.receivedAt,
      correlationId: this.ctx.correlationId,
      clientId: principal === null ? null : principal.clientId,
      instanceId: principal === null ? null : principal.instanceId,
      flow: this.route === null ? null : this.route.address,
      method: this.method,
      path: path.length > maxRecordedPath ? path.slice(0, maxRecordedPath) : path,
      status: this.status,
      upstreamStatus: this.upstreamStatus,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      // Whole milliseconds: the store keeps integers (BIGINT on PostgreSQL).
      durationMs: Math.round(Number(process.hrtime.bigint() - this.ctx.startedNs) / 1e6),
      upstreamDurationMs: this.upstreamDurationMs === null ? null : Math.round(this.upstreamDurationMs),
      reason: this.reason,
      sourceAddress: this.ctx.clientAddress,
      mplId: this.mplId,
    })
  }
}

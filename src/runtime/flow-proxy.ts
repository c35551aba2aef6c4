import { readFileSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { rootCertificates } from 'node:tls'
import { Agent, type Dispatcher, type Pool } from 'undici'
import type { FlowgateConfig } from '../config/schema.ts'
import { parseUpstreamUrl } from '../flows/upstream-url.ts'
import type { Principal, TokenAuthenticator } from '../identity/principal.ts'
import { type BearerProblem, readBearer } from '../lib/bearer.ts'
import { coalescedTask } from '../lib/coalesced-task.ts'
import { FlowgateError, isFlowgateError } from '../lib/errors.ts'
import { bearerChallenge, sendError } from '../lib/http-error.ts'
import type { Logger } from '../lib/logger.ts'
import type { RequestContext } from '../lib/request-context.ts'
import type { SecretBox } from '../secrets/master-key.ts'
import type { ChangeFeed } from '../store/change-feed.ts'
import type { Flow, Store, UpstreamConnection } from '../store/types.ts'
import type { AccessLog } from './access-log.ts'
import { type Csrf, createCsrf } from './csrf.ts'
import { type CallerIdentity, clientResponseHeaders, upstreamRequestHeaders } from './headers.ts'
import { isCleanPath } from './path-hygiene.ts'
import { queryTokenRefusal } from './query-token.ts'
import { createRouteTable, type RouteTable } from './route-table.ts'
import { connectionVersion, createUpstreamAuth } from './upstream-auth/create-upstream-auth.ts'
import { noUpstreamAuth } from './upstream-auth/none.ts'
import type { UpstreamAuth } from './upstream-auth/upstream-auth.ts'
import { createUpstreamPools, type UpstreamPools } from './upstream-pools.ts'

export interface FlowProxyDeps {
  readonly config: FlowgateConfig
  readonly store: Store
  /** Flow and connection changes rebuild the route table; the caller starts and stops the feed. */
  readonly feed: Pick<ChangeFeed, 'subscribe'>
  readonly authenticator: TokenAuthenticator
  readonly secretBox: SecretBox
  /** `masterKey.derive('csrf')`. */
  readonly csrfKey: Buffer
  readonly accessLog: AccessLog
  readonly logger: Logger
  readonly now?: () => number
}

export interface FlowProxy {
  /** Builds the route table from the store and subscribes to changes. */
  start(): Promise<void>
  /** Everything under `/http/` (and `/http`): never throws, always answers or aborts. */
  handle(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): void
  /** Unsubscribes and closes upstream pools (in-flight requests finish). The access log is the caller's. */
  close(): Promise<void>
}

/** The RFC 6750 realm of every challenge. */
export const realm = 'flowgate'
/** Bodies up to this size are buffered when an OAuth connection may need to resend them after a 401. */
const replayableBodyBytes = 65_536
/**
 * Bodies of a declared length up to this size are buffered before forwarding on every flow: the
 * readable stream's own high-water mark, so no more memory than streaming holds, and undici then
 * writes head and body in one go instead of piping a stream.
 */
const bufferedBodyBytes = 16_384
/** Recorded paths are cut here; a path is not a place to keep megabytes. */
const maxRecordedPath = 2048

interface Route {
  readonly address: string
  readonly flow: Flow
  readonly methods: ReadonlySet<string>
  readonly methodNotAllowed: FlowgateError
  /** Upstream URL path; for wildcards without its trailing slash, so the remainder appends cleanly. */
  readonly upstreamPath: string
  readonly wildcard: boolean
  readonly pool: Pool | null
  readonly auth: UpstreamAuth
  /** Set when the flow cannot be served as stored (upstream no longer allowed, connection unusable). */
  readonly refusal: FlowgateError | null
}

// Rejections are prebuilt: they carry no per-request data, and building an Error captures a stack.
const notReady = new FlowgateError('ERR_UNAVAILABLE', { detail: 'flow proxy not started' })
const pathRejected = new FlowgateError('ERR_PATH_REJECTED')
const flowNotFound = new FlowgateError('ERR_FLOW_NOT_FOUND')
const tokenMissing = new FlowgateError('ERR_TOKEN_MISSING')
const tokenMultiple = new FlowgateError('ERR_TOKEN_MULTIPLE')
const tokenMalformed = new FlowgateError('ERR_TOKEN_INVALID', { detail: 'bearer token is not a token68' })
const insufficientScope = new FlowgateError('ERR_INSUFFICIENT_SCOPE')
const csrfRequired = new FlowgateError('ERR_CSRF_REQUIRED', { headers: { 'x-csrf-token': 'Required' } })
const tooLarge = new FlowgateError('ERR_PAYLOAD_TOO_LARGE', { headers: { connection: 'close' } })
const upstreamTimeout = new FlowgateError('ERR_UPSTREAM_TIMEOUT')
const clientClosed = new FlowgateError('ERR_CLIENT_CLOSED_REQUEST')

const challengeMissing = bearerChallenge(realm)
const challengeInsufficientScope = bearerChallenge(realm, insufficientScope)
const challengeMultiple = bearerChallenge(realm, tokenMultiple)
const challengeMalformed = bearerChallenge(realm, tokenMalformed)

function isFetch(value: string | string[] | undefined): boolean {
  return typeof value === 'string' && value.length === 5 && value.toLowerCase() === 'fetch'
}

function isModifying(method: string): boolean {
  return method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS'
}

function upstreamFailure(error: unknown): FlowgateError {
  if (isFlowgateError(error)) return error
  const code = (error as { code?: unknown }).code
  if (code === 'UND_ERR_HEADERS_TIMEOUT') return upstreamTimeout
  return new FlowgateError('ERR_UPSTREAM_UNREACHABLE', {
    detail: typeof code === 'string' ? code : (error as Error).message,
    cause: error,
  })
}

/** Counts a body of unknown length while it streams upstream, failing once it passes the limit. */
async function* limitedBody(exchange: Exchange, limit: number): AsyncGenerator<Buffer> {
  for await (const chunk of exchange.req as AsyncIterable<Buffer>) {
    exchange.bytesIn += chunk.length
    if (exchange.bytesIn > limit) throw tooLarge
    yield chunk
  }
}

/** Shared state of one proxy: the current route table and everything built once. */
interface ProxyState {
  table: RouteTable<Route> | null
  readonly authenticator: TokenAuthenticator
  readonly csrf: Csrf
  readonly accessLog: AccessLog
  readonly logger: Logger
  readonly forwardedHost: string
  /** Strict-Transport-Security value, '' when disabled; put into every answer's header list. */
  readonly hsts: string
  /** The same as extra headers for sendError, or undefined when disabled. */
  readonly hstsHeaders: Readonly<Record<string, string>> | undefined
  readonly callers: WeakMap<Principal, CallerIdentity>
}

function callerOf(state: ProxyState, principal: Principal): CallerIdentity {
  let caller = state.callers.get(principal)
  if (caller === undefined) {
    caller = {
      clientId: principal.clientId,
      instance: principal.instanceName,
      roles: [...principal.roles].join(','),
    }
    state.callers.set(principal, caller)
  }
  return caller
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
class Exchange implements Dispatcher.DispatchHandler {
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

function methodNotAllowed(methods: readonly string[]): FlowgateError {
  return new FlowgateError('ERR_METHOD_NOT_ALLOWED', { headers: { allow: methods.join(', ') } })
}

function defaultCa(config: FlowgateConfig): readonly string[] | undefined {
  if (config.upstream.caFile === '') return undefined
  let pem: string
  try {
    pem = readFileSync(config.upstream.caFile, 'utf8')
  } catch (cause) {
    throw new FlowgateError('ERR_CONFIG_INVALID', {
      description: `invalid configuration: cannot read upstream.caFile (${(cause as NodeJS.ErrnoException).code})`,
    })
  }
  return [...rootCertificates, pem]
}

/**
 * The flow proxy: Flowgate's data plane for `/http/*`. Every call goes through, in this order:
 * path hygiene, routing, bearer extraction, token authentication, the flow's role, the CSRF
 * protocol, the flow's methods, its body limit, upstream authentication and forwarding; every
 * call, answered or refused, leaves one access record. See docs/runtime.md.
 */
export function createFlowProxy(deps: FlowProxyDeps): FlowProxy {
  const { config, store, feed, secretBox, logger } = deps
  const now = deps.now ?? Date.now
  const ca = defaultCa(config)
  const pools: UpstreamPools = createUpstreamPools({ ca, logger })
  const tokenDispatcher = new Agent(ca === undefined ? {} : { connect: { ca: [...ca] } })
  const state: ProxyState = {
    table: null,
    authenticator: deps.authenticator,
    csrf: createCsrf({ key: deps.csrfKey, validitySeconds: config.csrf.validitySeconds, now }),
    accessLog: deps.accessLog,
    logger,
    forwardedHost: new URL(config.publicUrl).host,
    hsts: config.tls.hsts,
    hstsHeaders: config.tls.hsts === '' ? undefined : { 'strict-transport-security': config.tls.hsts },
    callers: new WeakMap(),
  }
  /** Upstream auth per connection version, kept across rebuilds so cached OAuth tokens survive. */
  let auths = new Map<string, UpstreamAuth>()
  let unsubscribe: (() => void) | null = null
  let retryTimer: NodeJS.Timeout | null = null
  let retryDelayMs = 1000
  let closed = false

  function authFor(connection: UpstreamConnection, next: Map<string, UpstreamAuth>): UpstreamAuth {
    const key = connectionVersion(connection)
    let auth = next.get(key) ?? auths.get(key)
    if (auth === undefined) {
      auth = createUpstreamAuth(connection, {
        secretBox,
        tokenDispatcher,
        defaultCa: ca,
        unsafeAllowHttp: config.upstream.unsafeAllowHttp,
        logger,
        now,
      })
    }
    next.set(key, auth)
    return auth
  }

  function routeOf(
    flow: Flow,
    connections: ReadonlyMap<string, UpstreamConnection>,
    next: Map<string, UpstreamAuth>,
  ): Route {
    let refusal: FlowgateError | null = null
    let auth: UpstreamAuth = noUpstreamAuth
    let pool: Pool | null = null
    let upstreamPath = '/'
    // The upstream URL is checked again here: a configuration change can retire what was allowed.
    let stage: 'upstream' | 'connection' = 'upstream'
    try {
      const upstream = parseUpstreamUrl(flow.upstream, config.upstream.unsafeAllowHttp)
      upstreamPath = upstream.pathname
      stage = 'connection'
      if (flow.connection !== null) {
        const connection = connections.get(flow.connection)
        if (connection === undefined) throw new Error(`connection ${flow.connection} does not exist`)
        auth = authFor(connection, next)
      }
      pool = pools.acquire(upstream.origin, auth.tls, auth.key)
    } catch (error) {
      const reason = isFlowgateError(error) ? (error.detail ?? error.description) : (error as Error).message
      refusal = new FlowgateError(stage === 'upstream' ? 'ERR_UPSTREAM_UNREACHABLE' : 'ERR_UPSTREAM_AUTH', {
        detail: `flow ${flow.address} cannot be served: ${reason}`,
        cause: error,
      })
      logger.error({ err: refusal, flow: flow.address }, 'flow cannot be served as stored')
    }
    const wildcard = flow.address.endsWith('/*')
    return {
      address: flow.address,
      flow,
      methods: new Set(flow.methods),
      methodNotAllowed: methodNotAllowed(flow.methods),
      upstreamPath: wildcard && upstreamPath.endsWith('/') ? upstreamPath.slice(0, -1) : upstreamPath,
      wildcard,
      pool,
      auth,
      refusal,
    }
  }

  async function build(): Promise<void> {
    const [flows, connectionList] = await Promise.all([store.listFlows(), store.listConnections()])
    const connections = new Map(connectionList.map((connection) => [connection.name, connection]))
    const next = new Map<string, UpstreamAuth>()
    const table = createRouteTable(flows.map((flow) => routeOf(flow, connections, next)))
    if (closed) return
    state.table = table
    for (const [key, auth] of auths) if (!next.has(key)) auth.close()
    auths = next
    pools.sweep()
    logger.info({ flows: table.size, pools: pools.size }, 'flow routes built')
  }

  const routes = coalescedTask(async () => {
    if (!closed) await build()
  })

  function rebuild(): Promise<void> {
    return routes.run().then(
      () => {
        retryDelayMs = 1000
      },
      (error: unknown) => {
        // Keep serving the table we have; retry so a change is not lost while the store is away.
        logger.error({ err: error, retryInMs: retryDelayMs }, 'rebuilding flow routes failed')
        if (!closed && retryTimer === null) {
          retryTimer = setTimeout(() => {
            retryTimer = null
            void rebuild()
          }, retryDelayMs)
          retryTimer.unref()
          retryDelayMs = Math.min(retryDelayMs * 2, 30_000)
        }
      },
    )
  }

  return {
    async start() {
      if (config.upstream.unsafeAllowHttp) {
        logger.warn('upstream.unsafeAllowHttp is on: flows may forward over plain http to non-loopback hosts')
      }
      unsubscribe = feed.subscribe((changes) => {
        for (const change of changes) {
          if (change.kind === 'flow' || change.kind === 'connection' || change.kind === 'reload')
            return rebuild()
        }
      })
      await build()
    },
    handle(req, res, ctx) {
      const exchange = new Exchange(state, req, res, ctx)
      exchange.start().catch((error: unknown) => exchange.failed(error))
    },
    async close() {
      if (closed) return
      closed = true
      unsubscribe?.()
      unsubscribe = null
      if (retryTimer !== null) clearTimeout(retryTimer)
      await routes.running()?.catch(() => undefined)
      state.table = null
      for (const auth of auths.values()) auth.close()
      auths = new Map()
      await pools.close()
      await tokenDispatcher.close()
    },
  }
}

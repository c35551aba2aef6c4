import { rootCertificates } from 'node:tls'
import { Agent, type Pool } from 'undici'
import type { FlowgateConfig } from '../config/schema.ts'
import { parseUpstreamUrl } from '../flows/upstream-url.ts'
import { coalescedTask } from '../lib/coalesced-task.ts'
import { readConfiguredFile } from '../lib/configured-file.ts'
import { FlowgateError, isFlowgateError } from '../lib/errors.ts'
import type { Logger } from '../lib/logger.ts'
import type { SecretBox } from '../secrets/master-key.ts'
import type { ChangeFeed } from '../store/change-feed.ts'
import type { Flow, Store, UpstreamConnection } from '../store/types.ts'
import { allowedRequestHeaders } from './headers.ts'
import { methodNotAllowed } from './refusals.ts'
import { createRouteTable, type RouteTable } from './route-table.ts'
import { connectionVersion, createUpstreamAuth } from './upstream-auth/create-upstream-auth.ts'
import { noUpstreamAuth } from './upstream-auth/none.ts'
import type { UpstreamAuth } from './upstream-auth/upstream-auth.ts'
import { createUpstreamPools, type UpstreamPools } from './upstream-pools.ts'

export interface Route {
  readonly address: string
  readonly flow: Flow
  readonly methods: ReadonlySet<string>
  /** The flow's allow-list, compiled once; null under the deny-list. */
  readonly allowedHeaders: ReadonlySet<string> | null
  readonly methodNotAllowed: FlowgateError
  /** Upstream URL path; for wildcards without its trailing slash, so the remainder appends cleanly. */
  readonly upstreamPath: string
  readonly wildcard: boolean
  readonly pool: Pool | null
  readonly auth: UpstreamAuth
  /** Set when the flow cannot be served as stored (upstream no longer allowed, connection unusable). */
  readonly refusal: FlowgateError | null
}

function defaultCa(config: FlowgateConfig): readonly string[] | undefined {
  if (config.upstream.caFile === '') return undefined
  return [...rootCertificates, readConfiguredFile(config.upstream.caFile, 'upstream.caFile')]
}

export interface FlowRoutesDeps {
  readonly config: FlowgateConfig
  readonly store: Store
  readonly feed: Pick<ChangeFeed, 'subscribe'>
  readonly secretBox: SecretBox
  readonly logger: Logger
  readonly now: () => number
  /** Receives every table built, and null once closed; the proxy routes each call by the latest. */
  readonly publish: (table: RouteTable<Route> | null) => void
}

export interface FlowRoutes {
  /** Builds the route table from the store and subscribes to flow and connection changes. */
  start(): Promise<void>
  /** Unsubscribes, waits for a running rebuild, and closes upstream auths and pools. */
  close(): Promise<void>
}

/**
 * The flow proxy's route table, rebuilt from the store on every flow or connection change, with
 * the upstream pools and upstream authentication each route uses.
 */
export function createFlowRoutes(deps: FlowRoutesDeps): FlowRoutes {
  const { config, store, feed, secretBox, logger, now, publish } = deps
  const ca = defaultCa(config)
  const pools: UpstreamPools = createUpstreamPools({ ca, logger })
  const tokenDispatcher = new Agent(ca === undefined ? {} : { connect: { ca: [...ca] } })
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
      allowedHeaders: allowedRequestHeaders(flow.requestHeaders),
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
    publish(table)
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
    async close() {
      if (closed) return
      closed = true
      unsubscribe?.()
      unsubscribe = null
      if (retryTimer !== null) clearTimeout(retryTimer)
      await routes.running()?.catch(() => undefined)
      publish(null)
      for (const auth of auths.values()) auth.close()
      auths = new Map()
      await pools.close()
      await tokenDispatcher.close()
    },
  }
}

import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FlowgateConfig } from '../config/schema.ts'
import type { TokenAuthenticator } from '../identity/principal.ts'
import type { Logger } from '../lib/logger.ts'
import type { RequestContext } from '../lib/request-context.ts'
import type { SecretBox } from '../secrets/master-key.ts'
import type { ChangeFeed } from '../store/change-feed.ts'
import type { Store } from '../store/types.ts'
import type { AccessLog } from './access-log.ts'
import { createCsrf } from './csrf.ts'
import { Exchange } from './exchange.ts'
import { createFlowRoutes } from './flow-routes.ts'
import type { ProxyState } from './proxy-state.ts'

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

/**
 * The flow proxy: Flowgate's data plane for `/http/*`. Every call goes through, in this order:
 * path hygiene, routing, bearer extraction, token authentication, the flow's role, the CSRF
 * protocol, the flow's methods, its body limit, upstream authentication and forwarding; every
 * call, answered or refused, leaves one access record. See docs/runtime.md. The calls themselves
 * are exchange.ts, the route table they are routed by flow-routes.ts.
 */
export function createFlowProxy(deps: FlowProxyDeps): FlowProxy {
  const { config, store, feed, secretBox, logger } = deps
  const now = deps.now ?? Date.now
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
  const routes = createFlowRoutes({
    config,
    store,
    feed,
    secretBox,
    logger,
    now,
    publish: (table) => {
      state.table = table
    },
  })

  return {
    start: () => routes.start(),
    handle(req, res, ctx) {
      const exchange = new Exchange(state, req, res, ctx)
      exchange.start().catch((error: unknown) => exchange.failed(error))
    },
    close: () => routes.close(),
  }
}

import { randomUUID } from 'node:crypto'
import { type FastifyInstance, type FastifyRequest, fastify } from 'fastify'
import type { FlowgateConfig } from '../config/schema.ts'
import { createDeclarativeService } from '../declarative/declarative-service.ts'
import type { FlowService } from '../flows/flow-service.ts'
import type { IdentityService } from '../identity/identity-service.ts'
import type { TokenAuthenticator } from '../identity/principal.ts'
import { plainAddress } from '../lib/address.ts'
import { FlowgateError } from '../lib/errors.ts'
import { listenerSettings, startHttpsListener } from '../lib/https-listener.ts'
import type { Logger } from '../lib/logger.ts'
import type { TlsMaterial } from '../lib/tls-material.ts'
import type { SecretBox } from '../secrets/master-key.ts'
import type { Store } from '../store/types.ts'
import { type AdminCaller, createAdminAuthenticator } from './admin-auth.ts'
import { verifyAuditEvents } from './audit-verification.ts'
import { createAdminAuthFailureLog } from './auth-failures.ts'
import { createErrorHandler, sendAdminError } from './error-handler.ts'
import { type AdminHandler, createHandlers } from './handlers.ts'
import { buildOpenApiDocument } from './openapi.ts'
import { type AdminOperation, adminOperations, type OperationId } from './operations.ts'

export interface AdminServerOptions {
  readonly config: FlowgateConfig
  readonly tls: TlsMaterial
  readonly store: Store
  /**
   * Where access-record queries run (default the store). The gateway passes its access-record
   * writer: on SQLite a query blocks the thread that runs it, and the worker's is not the event loop.
   */
  readonly accessRecords?: Pick<Store, 'queryAccessRecords'>
  readonly identity: IdentityService
  readonly flows: FlowService
  readonly authenticator: TokenAuthenticator
  /** Opens stored connection secrets so declarative plan can tell a changed one (the flow service's box). */
  readonly secretBox: SecretBox
  readonly logger: Logger
  /** True when the store is reachable, migrated and not out of space (GET /readyz). */
  readonly ready: () => Promise<boolean>
  /**
   * After a declarative apply committed (the services have already updated this node's identity
   * index and flow table): the instances it created, changed or removed.
   */
  readonly onConfigurationApplied?: (
    instances: readonly { id: string; removed: boolean }[],
  ) => Promise<void> | void
  readonly now?: () => number
}

export interface AdminServer {
  readonly url: string
  readonly app: FastifyInstance
  close(): Promise<void>
}

const bodyLimit = 5 * 1024 * 1024

function routeSchema(operation: AdminOperation) {
  const response: Record<number, object> = {}
  for (const [status, entry] of Object.entries(operation.responses)) {
    if (entry.schema !== null) response[Number(status)] = entry.schema
  }
  return {
    ...(operation.params === undefined ? {} : { params: operation.params }),
    ...(operation.query === undefined ? {} : { querystring: operation.query }),
    ...(operation.body === undefined ? {} : { body: operation.body }),
    response,
  }
}

/**
 * Builds the admin API (without a listener): one route per entry of the operation table, schemas
 * compiled at registration, authentication before the body is even parsed.
 */
async function buildAdminApp(options: AdminServerOptions): Promise<{
  app: FastifyInstance
  closeAuditing: () => Promise<void>
}> {
  const { config, store, identity, flows, authenticator, logger } = options
  const now = options.now ?? Date.now
  const failures = createAdminAuthFailureLog({
    store,
    windowMs: config.bruteForce.windowSeconds * 1000,
    logger,
    now,
  })
  const authenticate = createAdminAuthenticator({ authenticator, failures })
  const declarative = createDeclarativeService({
    store,
    identity,
    flows,
    config,
    secretBox: options.secretBox,
    now,
    ...(options.onConfigurationApplied === undefined ? {} : { onApplied: options.onConfigurationApplied }),
  })
  const openapi = buildOpenApiDocument()
  const handlers = createHandlers({
    store,
    accessRecords: options.accessRecords ?? store,
    identity,
    flows,
    declarative,
    authenticator,
    ready: options.ready,
    verifyAudit: () => verifyAuditEvents(store.iterateAuditEvents()),
    openapi: () => openapi,
    now,
  })

  const app = fastify({
    logger: false,
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    bodyLimit,
    ajv: {
      // Fastify's default drops unknown properties silently; Flowgate refuses them.
      customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false },
    },
  })
  const callers = new WeakMap<FastifyRequest, AdminCaller>()
  const hsts = config.tls.hsts

  app.addHook('onSend', async (request, reply, payload) => {
    if (hsts !== '') reply.header('strict-transport-security', hsts)
    reply.header('x-correlation-id', request.id)
    reply.header('cache-control', 'no-store')
    reply.header('x-content-type-options', 'nosniff')
    return payload
  })

  app.setErrorHandler(createErrorHandler(logger))
  app.setNotFoundHandler((request, reply) =>
    sendAdminError(reply, new FlowgateError('ERR_NOT_FOUND'), request.id),
  )

  for (const [operationId, operation] of Object.entries(adminOperations) as [OperationId, AdminOperation][]) {
    // Fastify validated the call against this operation's schemas, the source of the handler's types.
    const handler = handlers[operationId] as AdminHandler
    const access = operation.access
    app.route({
      method: operation.method,
      url: operation.path.replace(/\{(\w+)\}/g, ':$1'),
      schema: routeSchema(operation),
      ...(access === 'public'
        ? {}
        : {
            onRequest: async (request: FastifyRequest) => {
              const sourceAddress = plainAddress(request.raw.socket.remoteAddress)
              callers.set(request, await authenticate(request.raw, sourceAddress, access))
            },
          }),
      handler: async (request, reply) => {
        const result = await handler({
          params: (request.params ?? {}) as Record<string, string>,
          query: (request.query ?? {}) as Record<string, unknown>,
          body: (request.body ?? {}) as Record<string, unknown>,
          caller: callers.get(request) ?? null,
        })
        reply.code(result.status)
        return result.body === undefined ? reply.send() : reply.send(result.body)
      },
    })
  }
  await app.ready()
  return { app, closeAuditing: () => failures.close() }
}

/**
 * The admin listener: its own HTTPS port (loopback by default), the same TLS settings, timeouts
 * and draining as the runtime listener, and nothing of the runtime on it.
 */
export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const { config } = options
  const { app, closeAuditing } = await buildAdminApp(options)
  const listener = await startHttpsListener({
    host: config.admin.host,
    port: config.admin.port,
    tls: options.tls,
    ...listenerSettings(config),
    onRequest: (req, res) => app.routing(req, res),
  })
  let closing: Promise<void> | undefined
  return {
    url: listener.url,
    app,
    close() {
      closing ??= (async () => {
        await listener.close(config.shutdown.drainTimeoutMs)
        await app.close()
        await closeAuditing()
      })()
      return closing
    },
  }
}

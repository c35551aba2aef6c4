import { type AdminServer, startAdminServer } from '../admin/admin-server.ts'
import { unsafeSwitches } from '../config/load.ts'
import type { FlowgateConfig } from '../config/schema.ts'
import { createFlowService, type FlowService } from '../flows/flow-service.ts'
import type { IdentityService } from '../identity/identity-service.ts'
import { startIdentity } from '../identity/start-identity.ts'
import type { FlowgateTokenAuthenticator } from '../identity/token-authenticator.ts'
import { type HttpsListener, listenerSettings, startHttpsListener } from '../lib/https-listener.ts'
import { createLogger, type Logger } from '../lib/logger.ts'
import { keepTickObjectShape } from '../lib/tick-object-shape.ts'
import { resolveTlsMaterial } from '../lib/tls-material.ts'
import { createTokenEndpoints } from '../oauth/token-endpoints.ts'
import { type AccessLog, createAccessLog } from '../runtime/access-log.ts'
import { startRetention } from '../runtime/access-record-retention.ts'
import { startAccessRecordWriter } from '../runtime/access-record-writer.ts'
import { createFlowProxy } from '../runtime/flow-proxy.ts'
import { createSecretBox, loadMasterKey } from '../secrets/master-key.ts'
import { resealSecrets } from '../secrets/reseal-secrets.ts'
import { createChangeFeed } from '../store/change-feed.ts'
import { ensureDataDirectory } from '../store/data-directory.ts'
import { openStore } from '../store/open-store.ts'
import { startStoreMaintenance } from '../store/store-maintenance.ts'
import type { Store } from '../store/types.ts'
import { createContextFactory } from './request-context.ts'
import { createRuntimeHandler } from './runtime-handler.ts'

export interface Gateway {
  readonly config: FlowgateConfig
  /** Where the runtime listener is bound (the public URL may differ behind a load balancer). */
  readonly runtimeUrl: string
  readonly adminUrl: string
  /** PEM of the listeners' certificate (self-signed unless configured), for clients to trust. */
  readonly certificate: string
  readonly store: Store
  readonly identity: IdentityService
  readonly flows: FlowService
  readonly authenticator: FlowgateTokenAuthenticator
  readonly accessLog: AccessLog
  /** Drains in-flight requests (up to shutdown.drainTimeoutMs), flushes records and closes the store. */
  close(): Promise<void>
}

export interface StartGatewayOptions {
  readonly logger?: Logger
}

/**
 * Composes Flowgate: configuration is already validated and frozen; everything else is built here,
 * once, in dependency order. A failure part-way closes what was opened and rethrows.
 */
export async function startGateway(
  config: FlowgateConfig,
  options: StartGatewayOptions = {},
): Promise<Gateway> {
  keepTickObjectShape()
  const logger = options.logger ?? createLogger(config.log.level)
  for (const key of unsafeSwitches(config)) {
    logger.warn({ key }, `UNSAFE configuration switch ${key} is on`)
  }
  // Before anything writes there (master key, certificate, database): created 0700.
  if (config.dataDir !== '') ensureDataDirectory(config.dataDir, logger)
  const masterKey = loadMasterKey(config, (path) =>
    logger.warn(
      { path },
      'no master key configured: generated one in the data directory; back it up, and configure secrets.masterKeyFile for production and for every node of a cluster',
    ),
  )
  const tls = await resolveTlsMaterial({ ...config.tls, dataDir: config.dataDir })
  if (tls.selfSigned) {
    logger.warn(
      { certificate: tls.certPath },
      'no TLS certificate configured: serving a self-signed certificate for localhost; configure tls.certFile and tls.keyFile for production',
    )
  }

  const cleanups: Array<() => Promise<void> | void> = []
  const unwind = async () => {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup()
      } catch (error) {
        logger.error({ err: error }, 'cleanup failed during shutdown')
      }
    }
  }

  try {
    const store = await openStore({
      url: config.store.url,
      dataDir: config.dataDir,
      poolSize: config.store.poolSize,
      logger,
    })
    cleanups.push(() => store.close())
    await store.migrate()
    await resealSecrets({ store, masterKey, logger })
    // Access records are written by a worker thread with its own store connection, so the event loop
    // never blocks on their I/O (docs/runtime.md). Started once the store is migrated and awaited
    // where the access log is built, so its module loading overlaps the identity start. Cleanups run
    // in reverse: the access log is flushed after the runtime listener drained, the worker closes
    // after it, the main store last.
    const accessRecordsStarting = startAccessRecordWriter({
      store: { url: config.store.url, dataDir: config.dataDir, poolSize: config.store.poolSize },
      logger,
    })
    // Handled here too, so a failure before it is awaited is not an unhandled rejection.
    accessRecordsStarting.catch(() => {})
    cleanups.push(async () => {
      const writer = await accessRecordsStarting.catch(() => null)
      await writer?.close()
    })

    const feed = createChangeFeed(store, { intervalMs: config.store.pollIntervalMs, logger })
    // Started before the initial loads so that changes committed meanwhile are still delivered.
    await feed.start()
    cleanups.push(() => feed.stop())
    // The change log and expired revocations are trimmed on a timer (docs/store.md).
    const maintenance = startStoreMaintenance({ store, logger })
    cleanups.push(() => maintenance.stop())

    const identity = await startIdentity({ config, store, masterKey, logger, feed })
    cleanups.push(() => identity.close())

    const tokenEndpoints = createTokenEndpoints({
      config,
      store,
      masterKey,
      keyRing: identity.keyRing,
      index: identity.index,
      issuer: identity.issuer,
      authenticator: identity.authenticator,
      identity: identity.service,
      logger,
    })
    cleanups.push(() => tokenEndpoints.close())

    const secretBox = createSecretBox(masterKey)
    const flows = createFlowService({
      store,
      secretBox,
      config,
      // This node's route table must know a new flow before the change is acknowledged.
      onChange: () => feed.poke(),
    })

    const accessRecords = await accessRecordsStarting
    // Expired records are deleted by the worker too, never on the event loop.
    const retention = startRetention({
      store: accessRecords,
      retentionDays: config.accessLog.retentionDays,
      logger,
    })
    cleanups.push(() => retention.stop())
    const accessLog = createAccessLog({
      store: accessRecords,
      batchSize: config.accessLog.batchSize,
      flushIntervalMs: config.accessLog.flushIntervalMs,
      maxBuffered: config.accessLog.maxBuffered,
      logger,
    })
    cleanups.push(() => accessLog.close())

    const proxy = createFlowProxy({
      config,
      store,
      feed,
      authenticator: identity.authenticator,
      secretBox,
      csrfKey: masterKey.derive('csrf'),
      accessLog,
      logger,
    })
    await proxy.start()
    cleanups.push(() => proxy.close())

    const runtime: HttpsListener = await startHttpsListener({
      host: config.runtime.host,
      port: config.runtime.port,
      tls,
      ...listenerSettings(config),
      onRequest: createRuntimeHandler({
        routes: tokenEndpoints.routes,
        proxy: proxy.handle,
        context: createContextFactory(config.runtime.trustedProxies),
        hsts: config.tls.hsts,
        logger,
      }),
    })
    cleanups.push(() => runtime.close(config.shutdown.drainTimeoutMs))

    const admin: AdminServer = await startAdminServer({
      config,
      tls,
      store,
      accessRecords,
      identity: identity.service,
      flows,
      authenticator: identity.authenticator,
      secretBox,
      logger,
      // Not ready while the store refuses changes (out of space, unreachable) or is not migrated.
      ready: async () => (await store.health()) === 'ok' && (await store.isMigrated().catch(() => false)),
      onConfigurationApplied: () => feed.poke(),
    })
    cleanups.push(() => admin.close())

    let closing: Promise<void> | undefined
    return {
      config,
      runtimeUrl: runtime.url,
      adminUrl: admin.url,
      certificate: tls.cert,
      store,
      identity: identity.service,
      flows,
      authenticator: identity.authenticator,
      accessLog,
      close() {
        closing ??= unwind()
        return closing
      },
    }
  } catch (error) {
    await unwind()
    throw error
  }
}

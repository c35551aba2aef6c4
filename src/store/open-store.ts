import { FlowgateError } from '../lib/errors.ts'
import type { Logger } from '../lib/logger.ts'
import { createKyselyStore } from './kysely-store.ts'
import { openPostgresDatabase } from './postgres/postgres-database.ts'
import { redactUrl } from './postgres/redact-url.ts'
import { openSqliteDatabase } from './sqlite/sqlite-database.ts'
import { createStoreHealth } from './store-health.ts'
import type { Store } from './types.ts'

export interface OpenStoreOptions {
  /** Empty: SQLite at `<dataDir>/flowgate.db`. `postgres://` or `postgresql://`: PostgreSQL. */
  readonly url: string
  readonly dataDir: string
  /** PostgreSQL connections (1..100, default 10). */
  readonly poolSize?: number
  readonly logger?: Logger
  /**
   * A second connection in the same process (the access-record worker's): the first one logs the
   * store going out of space or away and coming back, and the checks of the data directory, so each
   * is logged once.
   */
  readonly secondary?: boolean
  /** Clock of change-log rows; Date.now by default (tests freeze it). */
  readonly now?: () => number
}

function invalid(description: string): FlowgateError {
  return new FlowgateError('ERR_CONFIG_INVALID', { description: `invalid configuration: ${description}` })
}

/**
 * Opens the store named by `store.url` and checks that the database can be reached
 * (ERR_STORE_UNAVAILABLE otherwise). It does not migrate: callers run `migrate()` (start-up, `init`)
 * or check `isMigrated()` (readiness).
 */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  const poolSize = options.poolSize ?? 10
  if (!Number.isInteger(poolSize) || poolSize < 1 || poolSize > 100) {
    throw invalid('store.poolSize must be an integer from 1 to 100')
  }
  const clock = options.now === undefined ? {} : { now: options.now }
  const logger = options.secondary === true ? undefined : options.logger
  const healthLogger = logger === undefined ? {} : { logger }
  if (options.url === '') {
    if (options.dataDir === '') throw invalid('dataDir must be set for the embedded SQLite store')
    const opened = openSqliteDatabase(options.dataDir, logger)
    const health = createStoreHealth({ location: opened.dialect.location, ...healthLogger })
    return createKyselyStore({ ...opened, ...clock, health })
  }
  if (!/^postgres(ql)?:\/\//i.test(options.url)) {
    throw invalid(`store.url must be empty (SQLite) or a postgres:// URL, not ${redactUrl(options.url)}`)
  }
  const health = createStoreHealth({ location: redactUrl(options.url), ...healthLogger })
  const opened = await openPostgresDatabase({
    url: options.url,
    poolSize,
    // A connection lost while idle is an outage seen before any query fails.
    onConnectionError: (cause) =>
      health.failed(
        new FlowgateError('ERR_STORE_UNAVAILABLE', {
          detail: `${redactUrl(options.url)}: ${cause.message}`,
          cause,
        }),
      ),
  })
  return createKyselyStore({ ...opened, ...clock, health })
}

import { FlowgateError } from '../lib/errors.ts'
import type { Logger } from '../lib/logger.ts'
import { createKyselyStore } from './kysely-store.ts'
import { openPostgresDatabase } from './postgres/postgres-database.ts'
import { redactUrl } from './postgres/redact-url.ts'
import { openSqliteDatabase } from './sqlite/sqlite-database.ts'
import type { Store } from './types.ts'

export interface OpenStoreOptions {
  /** Empty: SQLite at `<dataDir>/flowgate.db`. `postgres://` or `postgresql://`: PostgreSQL. */
  readonly url: string
  readonly dataDir: string
  /** PostgreSQL connections (1..100, default 10). */
  readonly poolSize?: number
  readonly logger?: Logger
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
  if (options.url === '') {
    if (options.dataDir === '') throw invalid('dataDir must be set for the embedded SQLite store')
    return createKyselyStore({ ...openSqliteDatabase(options.dataDir), ...clock })
  }
  if (!/^postgres(ql)?:\/\//i.test(options.url)) {
    throw invalid(`store.url must be empty (SQLite) or a postgres:// URL, not ${redactUrl(options.url)}`)
  }
  const opened = await openPostgresDatabase({
    url: options.url,
    poolSize,
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  })
  return createKyselyStore({ ...opened, ...clock })
}

import { type Driver, Kysely, PostgresDialect, type PostgresDialectConfig, PostgresDriver, sql } from 'kysely'
import pg from 'pg'
import { FlowgateError } from '../../lib/errors.ts'
import type { Database } from '../database.ts'
import type { StoreDialect, StoreErrorKind } from '../store-dialect.ts'
import { redactUrl } from './redact-url.ts'

/**
 * Key of the transaction-level advisory lock every mutating transaction takes (see
 * StoreDialect.lockWrites). A fixed, arbitrary 64-bit value: "flowgate" in ASCII.
 */
const writeLockKey = 0x666c6f7767617465n

const int8Oid = 20

/** int8 (BIGINT, COUNT) as numbers, on this pool only: our values are epoch ms and sequence numbers. */
function parseInt8(value: string): number {
  const parsed = Number(value)
  if (!Number.isSafeInteger(parsed))
    throw new RangeError(`int8 value ${value} exceeds the safe integer range`)
  return parsed
}

const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === int8Oid && format !== 'binary') return parseInt8
    return pg.types.getTypeParser(oid, format)
  },
}

const connectionTimeoutMs = 10_000

// SQLSTATE classes and codes meaning "the database cannot serve us right now".
const unavailableStates = ['08', '53', '57P']
const unavailableErrnos = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EPIPE',
])

function classifyError(error: unknown): StoreErrorKind | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const code = (error as { code?: unknown }).code
  if (code === '23505') return 'unique'
  if (code === '23503') return 'foreign-key'
  if (code === '53100') return 'full'
  if (typeof code === 'string') {
    if (unavailableErrnos.has(code)) return 'unavailable'
    if (/^[0-9A-Z]{5}$/.test(code) && unavailableStates.some((state) => code.startsWith(state))) {
      return 'unavailable'
    }
  }
  const message = (error as { message?: unknown }).message
  // pg reports a dropped or timed-out connection with plain Errors that carry no code.
  if (
    typeof message === 'string' &&
    /^Connection terminated|timeout exceeded when trying to connect/.test(message)
  ) {
    return 'unavailable'
  }
  return undefined
}

/**
 * When the connection is lost inside a transaction, the ROLLBACK Kysely then sends fails too ("Client
 * was closed and is not queryable"), and Kysely throws that instead of the error that says why. The
 * server has rolled the transaction back with the connection, and Kysely has already marked the
 * connection for discard, so the original error is the one to report.
 */
class OriginalErrorDriver extends PostgresDriver {
  override async rollbackTransaction(
    connection: Parameters<PostgresDriver['rollbackTransaction']>[0],
  ): Promise<void> {
    await super.rollbackTransaction(connection).catch(() => {})
  }
}

class OriginalErrorDialect extends PostgresDialect {
  readonly #config: PostgresDialectConfig
  constructor(config: PostgresDialectConfig) {
    super(config)
    this.#config = config
  }
  override createDriver(): Driver {
    return new OriginalErrorDriver(this.#config)
  }
}

export interface PostgresOptions {
  readonly url: string
  readonly poolSize: number
  /** A pooled connection failed outside a query (the server went away while it was idle). */
  readonly onConnectionError?: (error: Error) => void
}

/** A pool of `poolSize` connections; the first connection is made here so a bad URL fails at start-up. */
export async function openPostgresDatabase(
  options: PostgresOptions,
): Promise<{ db: Kysely<Database>; dialect: StoreDialect }> {
  const location = redactUrl(options.url)
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize,
    connectionTimeoutMillis: connectionTimeoutMs,
    idleTimeoutMillis: 30_000,
    types,
  })
  const connectionFailed = (error: Error) => options.onConnectionError?.(error)
  // A client losing its connection emits 'error': on the pool while idle, on the client itself while
  // checked out (pg-pool removes its listener then, and Kysely adds none). Unhandled, either ends the
  // process; the query in flight is rejected anyway and pg-pool discards the broken client.
  pool.on('error', connectionFailed)
  pool.on('connect', (client) => {
    client.on('error', connectionFailed)
  })
  try {
    const client = await pool.connect()
    client.release()
  } catch (cause) {
    await pool.end().catch(() => {})
    throw new FlowgateError('ERR_STORE_UNAVAILABLE', {
      detail: `cannot connect to PostgreSQL at ${location}: ${(cause as Error).message}`,
      cause,
    })
  }
  const db = new Kysely<Database>({ dialect: new OriginalErrorDialect({ pool }) })
  return {
    db,
    dialect: {
      name: 'postgres',
      location,
      async lockWrites(tx) {
        await sql`select pg_advisory_xact_lock(${sql.raw(writeLockKey.toString())})`.execute(tx)
      },
      boolean: (value) => value,
      classifyError,
      // Kysely's destroy() ends the pool it was given.
      close: async () => {},
    },
  }
}

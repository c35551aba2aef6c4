import { closeSync, fchmodSync, openSync } from 'node:fs'
import { join } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import {
  CompiledQuery,
  type DatabaseConnection,
  type DialectAdapter,
  Kysely,
  SqliteAdapter,
  type SqliteDatabase,
  SqliteDialect,
  SqliteDriver,
} from 'kysely'
import { FlowgateError } from '../../lib/errors.ts'
import type { Logger } from '../../lib/logger.ts'
import { ensureDataDirectory, tightenOwnFile } from '../data-directory.ts'
import type { Database } from '../database.ts'
import type { StoreDialect, StoreErrorKind } from '../store-dialect.ts'

/**
 * How long a writer waits for another process's write lock before giving up. better-sqlite3 waits
 * synchronously, blocking this process's event loop meanwhile: a second process (the CLI, a backup)
 * should hold write transactions only briefly. The gateway opens the file twice: its main connection
 * and the access-record worker's (src/runtime/access-record-worker.ts), whose transactions are short.
 */
const busyTimeoutMs = 5000

/**
 * `BEGIN IMMEDIATE` takes the database write lock when the transaction starts. With the default
 * deferred `BEGIN`, two processes that both read and then write deadlock on the lock upgrade and
 * one fails at once with SQLITE_BUSY, whatever the busy timeout.
 */
class ImmediateTransactionDriver extends SqliteDriver {
  readonly #raw: BetterSqlite3.Database
  constructor(database: SqliteDatabase, raw: BetterSqlite3.Database) {
    super({ database })
    this.#raw = raw
  }
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'))
  }
  /**
   * SQLite ends a transaction by itself when a statement or the COMMIT fails with SQLITE_FULL,
   * SQLITE_IOERR or SQLITE_NOMEM. Kysely then rolls back, the ROLLBACK fails with "cannot rollback -
   * no transaction is active", and that error replaces the real one: a full disk would answer 500.
   */
  override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    if (!this.#raw.inTransaction) return
    await super.rollbackTransaction(connection)
  }
}

/**
 * SQLite runs DDL inside transactions. Saying so makes Kysely's Migrator apply migrations in one
 * `BEGIN IMMEDIATE` transaction, which is the cross-process migration lock (its own SQLite lock is
 * a no-op), and rolls a failed migration back completely.
 */
class TransactionalDdlAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true
  }
}

class ImmediateTransactionDialect extends SqliteDialect {
  readonly #database: SqliteDatabase
  readonly #raw: BetterSqlite3.Database
  constructor(database: SqliteDatabase, raw: BetterSqlite3.Database) {
    super({ database })
    this.#database = database
    this.#raw = raw
  }
  override createDriver(): SqliteDriver {
    return new ImmediateTransactionDriver(this.#database, this.#raw)
  }
  override createAdapter(): DialectAdapter {
    return new TransactionalDdlAdapter()
  }
}

const unavailableCodes = ['SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_CANTOPEN', 'SQLITE_IOERR']

function classifyError(error: unknown): StoreErrorKind | undefined {
  if (!(error instanceof BetterSqlite3.SqliteError)) return undefined
  const code = error.code
  // The file system is full (or the database reached max_page_count).
  if (code === 'SQLITE_FULL') return 'full'
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return 'unique'
  if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY') return 'foreign-key'
  if (unavailableCodes.some((prefix) => code.startsWith(prefix))) return 'unavailable'
  return undefined
}

/**
 * Test-only: called with every SQLite connection this thread opens, so a test can set a
 * per-connection pragma (`max_page_count` makes a real SQLITE_FULL without filling a disk).
 */
let connectionHook: ((database: BetterSqlite3.Database) => void) | undefined
export function setSqliteConnectionHookForTests(hook: typeof connectionHook): void {
  connectionHook = hook
}

/**
 * The database file is created 0600 before SQLite opens it: SQLite would create it 0644 (less the
 * umask), and it gives the WAL and shared-memory files the database file's mode.
 */
function createPrivately(file: string): void {
  let fd: number
  try {
    fd = openSync(file, 'wx', 0o600)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return
    throw error
  }
  try {
    fchmodSync(fd, 0o600)
  } finally {
    closeSync(fd)
  }
}

/** The embedded database: one file in the data directory, one connection, WAL journal. */
export function openSqliteDatabase(
  dataDir: string,
  logger?: Logger,
): { db: Kysely<Database>; dialect: StoreDialect } {
  const file = join(dataDir, 'flowgate.db')
  let database: BetterSqlite3.Database
  try {
    ensureDataDirectory(dataDir, logger)
    for (const path of [file, `${file}-wal`, `${file}-shm`]) tightenOwnFile(path, logger)
    createPrivately(file)
    database = new BetterSqlite3(file)
    // WAL lets readers in other processes (CLI, backups) proceed while the gateway writes;
    // synchronous=NORMAL is durable across application crashes in WAL mode and much faster than FULL.
    database.exec(
      `pragma journal_mode = WAL; pragma busy_timeout = ${busyTimeoutMs}; pragma foreign_keys = ON; pragma synchronous = NORMAL;`,
    )
  } catch (cause) {
    throw new FlowgateError('ERR_STORE_UNAVAILABLE', {
      detail: `cannot open SQLite database ${file}: ${(cause as Error).message}`,
      cause,
    })
  }
  connectionHook?.(database)
  const db = new Kysely<Database>({ dialect: new ImmediateTransactionDialect(database, database) })
  return {
    db,
    dialect: {
      name: 'sqlite',
      location: file,
      // BEGIN IMMEDIATE already holds the write lock, and the single connection serialises this process.
      lockWrites: async () => {},
      boolean: (value) => (value ? 1 : 0),
      classifyError,
      // Kysely closes the file only if a query ever ran.
      close: async () => {
        if (database.open) database.close()
      },
    },
  }
}

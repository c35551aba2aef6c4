import type { Kysely, Transaction } from 'kysely'
import type { Database } from './database.ts'

/**
 * What differs between SQLite and PostgreSQL, and nothing else: the shared operations in
 * kysely-store.ts are written once against this.
 */
export interface StoreDialect {
  readonly name: 'sqlite' | 'postgres'
  /**
   * Serialises writers for the rest of the transaction so that change-log sequence numbers are
   * visible in commit order and audit-chain heads cannot fork. SQLite already holds the database
   * write lock from `BEGIN IMMEDIATE`; PostgreSQL takes a transaction-level advisory lock.
   */
  lockWrites(tx: Transaction<Database>): Promise<void>
  /** Booleans as the driver binds them (better-sqlite3 binds no booleans: 0/1). */
  boolean(value: boolean): boolean | number
  /** Maps a driver error to what the store must report; undefined for errors it rethrows as they are. */
  classifyError(error: unknown): StoreErrorKind | undefined
  /** Where the database is, for error details (never credentials). */
  readonly location: string
  /** Releases anything the Kysely instance does not own. */
  close(db: Kysely<Database>): Promise<void>
}

/** `full`: the database is out of space (SQLITE_FULL, PostgreSQL 53100 disk_full). */
export type StoreErrorKind = 'unique' | 'foreign-key' | 'unavailable' | 'full'

import type { Kysely, Transaction } from 'kysely'
import { FlowgateError } from '../../lib/errors.ts'
import type { Database } from '../database.ts'
import type { StoreDialect } from '../store-dialect.ts'
import type { ChangeKind } from '../types.ts'

/** Runs `fn` in a transaction that holds the dialect's write lock. */
export type Writer = <T>(fn: (tx: Transaction<Database>) => Promise<T>) => Promise<T>

/**
 * What every entity's operations are bound to: on the store, the database and a writer that opens
 * one locked transaction per call; inside `store.transaction`, that transaction for both.
 */
export interface OperationContext {
  readonly reader: Kysely<Database>
  readonly write: Writer
  readonly dialect: StoreDialect
  /** Appends a change-log row in the writer's transaction (see src/store/entities/changes.ts). */
  readonly recordChange: (tx: Transaction<Database>, kind: ChangeKind, entityId: string) => Promise<void>
}

export function conflict(
  code: 'ERR_ALREADY_EXISTS' | 'ERR_CONFLICT' | 'ERR_ROLE_IN_USE',
  description: string,
): FlowgateError {
  return new FlowgateError(code, { description })
}

export function notFound(what: string): FlowgateError {
  return new FlowgateError('ERR_NOT_FOUND', { description: `${what} not found` })
}

/** Rows a DELETE or UPDATE touched. */
export function count(result: { numDeletedRows?: bigint; numUpdatedRows?: bigint }): number {
  return Number(result.numDeletedRows ?? result.numUpdatedRows ?? 0n)
}

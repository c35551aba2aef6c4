import { AsyncLocalStorage } from 'node:async_hooks'
import type { Kysely, Transaction } from 'kysely'
import { FlowgateError, isFlowgateError } from '../lib/errors.ts'
import type { Database } from './database.ts'
import type { Writer } from './entities/operation-context.ts'
import { translateStoreError } from './error-translation.ts'
import type { StoreDialect } from './store-dialect.ts'
import type { StoreHealth } from './store-health.ts'

/** Operations that return async iterables rather than promises. */
const iterators = new Set(['iterateAuditEvents'])

/**
 * The store's transaction machinery: a writer that runs each mutation in its own locked
 * transaction, a writer bound to one open transaction, and the wrapping that turns driver errors
 * into FlowgateErrors and keeps the store's own operations out of its transactions. Every outcome
 * is reported to `health`: failures that mean the store is out of space or unreachable, successes,
 * and committed writes.
 */
export function transactionScope(db: Kysely<Database>, dialect: StoreDialect, health: StoreHealth) {
  // Marks code running inside one of this store's transactions (see `guard`).
  const inTransaction = new AsyncLocalStorage<{ active: boolean }>()

  /**
   * Using the store itself inside `transaction(fn)` would hang on SQLite (its one connection is held
   * by the transaction) and deadlock on PostgreSQL as soon as it writes (the write lock is held), so
   * it fails loudly instead, on both.
   */
  function guard(operation: string): void {
    if (inTransaction.getStore()?.active === true) {
      throw new FlowgateError('ERR_INTERNAL', {
        detail: `store.${operation}() called inside store.transaction(); use the transaction's operations`,
      })
    }
  }

  const translate = (error: unknown): unknown => {
    const translated = translateStoreError(dialect, error)
    if (isFlowgateError(translated)) health.failed(translated)
    return translated
  }

  /**
   * Wraps every operation so driver errors surface as FlowgateErrors, on the store and in
   * transactions; the store's own operations (`guarded`) also refuse to run inside one of its
   * transactions.
   */
  function wrap<T extends object>(operations: T, guarded: boolean): T {
    const wrapped: Record<string, unknown> = {}
    for (const [name, operation] of Object.entries(operations) as [
      string,
      (...args: unknown[]) => unknown,
    ][]) {
      wrapped[name] = iterators.has(name)
        ? async function* (...args: unknown[]) {
            if (guarded) guard(name)
            try {
              yield* operation(...args) as AsyncIterable<unknown>
              health.reached()
            } catch (error) {
              throw translate(error)
            }
          }
        : async (...args: unknown[]) => {
            if (guarded) guard(name)
            try {
              const result = await operation(...args)
              health.reached()
              return result
            } catch (error) {
              throw translate(error)
            }
          }
    }
    return wrapped as T
  }

  /** Each call its own transaction, holding the write lock from its start. */
  const storeWriter: Writer = async (fn) => {
    const result = await db.transaction().execute(async (tx) => {
      await dialect.lockWrites(tx)
      return fn(tx)
    })
    health.wrote()
    return result
  }

  /**
   * Runs `fn` in one transaction with a writer bound to it, which takes the write lock at the first
   * write; inside `fn` the store's own operations fail (see `guard`).
   */
  async function run<T>(fn: (tx: Transaction<Database>, write: Writer) => Promise<T>): Promise<T> {
    let lock: Promise<void> | undefined
    const result = await db.transaction().execute(async (tx) => {
      const context = { active: true }
      const txWriter: Writer = async (write) => {
        lock ??= dialect.lockWrites(tx)
        await lock
        return write(tx)
      }
      try {
        return await inTransaction.run(context, () => fn(tx, txWriter))
      } finally {
        context.active = false
      }
    })
    if (lock !== undefined) health.wrote()
    return result
  }

  return { wrap, storeWriter, run, guard, translate }
}

/**
 * One store transaction shared by several writes, plus the effects that must wait for its commit
 * (updating this node's in-memory indexes): a service operation given a unit of work writes inside
 * it and defers its effects to it, so one caller (declarative apply) can run many operations all or
 * nothing while each operation stays the only code that writes its entity.
 */
export interface UnitOfWork<Tx> {
  readonly tx: Tx
  /** Runs after the transaction has committed, in registration order; never after a rollback. */
  afterCommit(effect: () => void | Promise<void>): void
}

export type Transaction<Tx> = <T>(fn: (tx: Tx) => Promise<T>) => Promise<T>

/** Runs `work` in one transaction, then its deferred effects. */
export async function inUnitOfWork<Tx, T>(
  transaction: Transaction<Tx>,
  work: (unit: UnitOfWork<Tx>) => Promise<T>,
): Promise<T> {
  let effects: (() => void | Promise<void>)[] = []
  const result = await transaction((tx) => {
    // A retried transaction starts again with no effects of the failed attempt.
    effects = []
    return work({ tx, afterCommit: (effect) => effects.push(effect) })
  })
  for (const effect of effects) await effect()
  return result
}

/** Joins the caller's unit of work when there is one, else runs in a transaction of its own. */
export function withinUnit<Tx, T>(
  transaction: Transaction<Tx>,
  unit: UnitOfWork<Tx> | undefined,
  work: (unit: UnitOfWork<Tx>) => Promise<T>,
): Promise<T> {
  return unit === undefined ? inUnitOfWork(transaction, work) : work(unit)
}

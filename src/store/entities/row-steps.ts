import type { Transaction } from 'kysely'
import type { Database } from '../database.ts'
import type { ChangeKind } from '../types.ts'
import { conflict, count, notFound, type OperationContext } from './operation-context.ts'

/**
 * The steps every entity's operations share: read rows into entities, refuse a duplicate, and
 * record the change of an update or delete only when it touched a row. They take a built query, so
 * each entity still says in plain Kysely which table, key and order it means.
 */

interface Query<R> {
  execute(): Promise<R[]>
  executeTakeFirst(): Promise<R | undefined>
}

export async function allOf<R, E>(query: Query<R>, fromRow: (row: R) => E): Promise<E[]> {
  return (await query.execute()).map(fromRow)
}

/** The entity of the first row, undefined when there is none. */
export async function firstOf<R, E>(query: Query<R>, fromRow: (row: R) => E): Promise<E | undefined> {
  const row = await query.executeTakeFirst()
  return row === undefined ? undefined : fromRow(row)
}

/** Throws ERR_ALREADY_EXISTS with `description` when `query` finds a row. */
export async function refuseDuplicate(query: Query<unknown>, description: string): Promise<void> {
  if ((await query.executeTakeFirst()) !== undefined) throw conflict('ERR_ALREADY_EXISTS', description)
}

type Touching = { executeTakeFirst(): Promise<{ numDeletedRows?: bigint; numUpdatedRows?: bigint }> }

/** Change-log steps of an UPDATE or DELETE, which record a change only when they touched a row. */
export function rowChanges(recordChange: OperationContext['recordChange']) {
  return {
    /** Runs the UPDATE and records its change; throws ERR_NOT_FOUND (`what` not found) when it touched no row. */
    async updated(
      tx: Transaction<Database>,
      update: Touching,
      change: { kind: ChangeKind; id: string; what: string },
    ): Promise<void> {
      if (count(await update.executeTakeFirst()) === 0) throw notFound(change.what)
      await recordChange(tx, change.kind, change.id)
    },
    /** Runs the DELETE and records its change; false when it touched no row. */
    async deleted(
      tx: Transaction<Database>,
      deletion: Touching,
      kind: ChangeKind,
      id: string,
    ): Promise<boolean> {
      if (count(await deletion.executeTakeFirst()) === 0) return false
      await recordChange(tx, kind, id)
      return true
    },
  }
}

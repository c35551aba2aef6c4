import type { Kysely, Transaction } from 'kysely'
import type { Database } from '../database.ts'
import type { Change, ChangeKind } from '../types.ts'
import { count } from './operation-context.ts'

/**
 * The change log (docs/store.md, *The change log*): every mutation appends a row in its own
 * transaction, and every node polls for the rows after the last one it has seen.
 */
export interface ChangeOperations {
  /** Highest change sequence number (0 when none). */
  latestChange(): Promise<number>
  /** Changes after `seq`, ascending, at most `limit` (default 1000). */
  changesSince(seq: number, limit?: number): Promise<Change[]>
  /** The lowest sequence number still kept (undefined when the log is empty). */
  oldestChange(): Promise<number | undefined>
  /** Removes change-log rows older than `time` (nodes only ever read recent ones). Returns the count. */
  deleteChangesBefore(time: number): Promise<number>
}

const changesPageLimit = 1000

/** The change-log row of a mutation, in the mutation's transaction, stamped by `now`. */
export function changeRecorder(now: () => number) {
  return async (tx: Transaction<Database>, kind: ChangeKind, entityId: string): Promise<void> => {
    await tx.insertInto('changes').values({ kind, entity_id: entityId, time: now() }).execute()
  }
}

export function changeOperations(db: Kysely<Database>): ChangeOperations {
  return {
    async latestChange() {
      const row = await db
        .selectFrom('changes')
        .select((eb) => eb.fn.max('seq').as('seq'))
        .executeTakeFirst()
      return row?.seq ?? 0
    },

    async changesSince(seq, limit = changesPageLimit) {
      const rows = await db
        .selectFrom('changes')
        .selectAll()
        .where('seq', '>', seq)
        .orderBy('seq')
        .limit(limit)
        .execute()
      return rows.map(
        (row): Change => ({
          seq: row.seq,
          kind: row.kind as ChangeKind,
          entityId: row.entity_id,
          time: row.time,
        }),
      )
    },

    async oldestChange() {
      const row = await db
        .selectFrom('changes')
        .select((eb) => eb.fn.min('seq').as('seq'))
        .executeTakeFirst()
      return row?.seq ?? undefined
    },

    async deleteChangesBefore(time) {
      return count(await db.deleteFrom('changes').where('time', '<', time).executeTakeFirst())
    },
  }
}

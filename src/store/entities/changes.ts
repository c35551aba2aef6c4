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
  /**
   * Removes the change-log rows up to the newest one older than `time`, never the newest row of all
   * (nodes only ever read recent ones; the store's maintenance calls it). Returns the count.
   */
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
      // A prefix of the sequence, never the newest row: a node can then tell from the oldest row
      // kept whether rows after the last one it saw are gone (see change-feed.ts), and
      // latestChange() keeps counting from where it was. Times decide where the prefix ends.
      const result = await db
        .deleteFrom('changes')
        .where('seq', '<=', (eb) =>
          eb
            .selectFrom('changes')
            .select((inner) => inner.fn.max('seq').as('seq'))
            .where('time', '<', time),
        )
        .where('seq', '<', (eb) => eb.selectFrom('changes').select((inner) => inner.fn.max('seq').as('seq')))
        .executeTakeFirst()
      return count(result)
    },
  }
}

import type { Kysely } from 'kysely'
import type { Migration } from 'kysely/migration'

/**
 * Retention looks up the blocks that span its cutoff (first_time before it, last_time at or after
 * it). Through the `last_time` index that reached every block newer than the cutoff — nearly the
 * whole table at every run; through `first_time` it reaches only the expiring ones. New blocks
 * carry the latest times, so each commit appends to the index at its end.
 */
export const accessRecordBlocksFirstTime: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createIndex('access_record_blocks_first_time')
      .on('access_record_blocks')
      .column('first_time')
      .execute()
  },
}

import { type Kysely, sql } from 'kysely'
import type { Migration } from 'kysely/migration'
import { blockOfRecords, type RecordV1 } from './frozen/access-record-block-v1.ts'
import { dialectColumns } from './frozen/dialect-columns.ts'

/** Rows of the old table moved per block: a block per 1,000 records, in the order they were written. */
const rowsPerBlock = 1000

/** The columns of `access_records` as migration 0001 created them. */
interface AccessRecordRow {
  id: number
  time: number
  correlation_id: string
  client_id: string | null
  instance_id: string | null
  flow: string | null
  method: string
  path: string
  status: number
  upstream_status: number | null
  bytes_in: number
  bytes_out: number
  duration_ms: number
  upstream_duration_ms: number | null
  reason: string | null
  source_address: string | null
}

function recordOfRow(row: AccessRecordRow): RecordV1 {
  return {
    time: row.time,
    correlationId: row.correlation_id,
    clientId: row.client_id,
    instanceId: row.instance_id,
    flow: row.flow,
    method: row.method,
    path: row.path,
    status: row.status,
    upstreamStatus: row.upstream_status,
    bytesIn: row.bytes_in,
    bytesOut: row.bytes_out,
    durationMs: row.duration_ms,
    upstreamDurationMs: row.upstream_duration_ms,
    reason: row.reason,
    sourceAddress: row.source_address,
  }
}

/**
 * Access records stored a batch to a row: one row per record
 * with three indexes cost the access-record worker most of its CPU, on cores the gateway's event
 * loop shares. The records already written move into blocks, in id order. (Migration 0004 turns
 * the blocks back into rows, written several to a statement.)
 */
export function accessRecordBlocks(dialect: 'sqlite' | 'postgres'): Migration {
  const { text, serial, serialType } = dialectColumns(dialect)

  return {
    async up(untyped: Kysely<unknown>) {
      const db = untyped as Kysely<{
        access_records: AccessRecordRow
        access_record_blocks: {
          first_time: number
          last_time: number
          record_count: number
          cutoff: number
          removed: number
          records: Buffer
        }
        access_record_keys: { key: string; last_time: number; block_id: number }
      }>
      await db.schema
        .createTable('access_record_blocks')
        .addColumn('id', serialType, serial)
        .addColumn('first_time', 'bigint', (c) => c.notNull())
        .addColumn('last_time', 'bigint', (c) => c.notNull())
        .addColumn('record_count', 'integer', (c) => c.notNull())
        .addColumn('cutoff', 'bigint', (c) => c.notNull())
        .addColumn('removed', 'integer', (c) => c.notNull())
        .addColumn('records', dialect === 'postgres' ? 'bytea' : 'blob', (c) => c.notNull())
        .execute()
      await db.schema
        .createIndex('access_record_blocks_last_time')
        .on('access_record_blocks')
        .columns(['last_time', 'id'])
        .execute()
      // Keys are looked up by their primary key only; on SQLite the table is that key's B-tree.
      let keys = db.schema
        .createTable('access_record_keys')
        .addColumn('key', 'text', (c) => text(c).notNull())
        .addColumn('last_time', 'bigint', (c) => c.notNull())
        .addColumn('block_id', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('access_record_keys_pk', ['key', 'last_time', 'block_id'])
      if (dialect === 'sqlite') keys = keys.modifyEnd(sql`without rowid`)
      await keys.execute()

      let after = 0
      for (;;) {
        const rows = await db
          .selectFrom('access_records')
          .selectAll()
          .where('id', '>', after)
          .orderBy('id')
          .limit(rowsPerBlock)
          .execute()
        if (rows.length === 0) break
        after = (rows.at(-1) as AccessRecordRow).id
        const block = blockOfRecords(rows.map(recordOfRow))
        const { id } = await db
          .insertInto('access_record_blocks')
          .values({
            first_time: block.firstTime,
            last_time: block.lastTime,
            record_count: block.count,
            cutoff: block.firstTime,
            removed: 0,
            records: block.data,
          })
          .returning(sql<number>`id`.as('id'))
          .executeTakeFirstOrThrow()
        await db
          .insertInto('access_record_keys')
          .values(block.keys.map((key) => ({ key, last_time: block.lastTime, block_id: id })))
          .execute()
      }
      await db.schema.dropTable('access_records').execute()
    },
  }
}

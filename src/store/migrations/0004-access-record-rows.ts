import type { Kysely } from 'kysely'
import type { Migration } from 'kysely/migration'
import { recordsOfBlock } from './frozen/access-record-block-v1.ts'
import { dialectColumns } from './frozen/dialect-columns.ts'

/** Blocks read per round trip while the rows are moved (about 100 records each). */
const blocksPerRead = 50
/** Rows per INSERT: 16 parameters each, under SQLite's 32,766 and PostgreSQL's 65,535. */
const rowsPerInsert = 500

interface BlockRow {
  id: number
  cutoff: number
  records: Uint8Array
}

/**
 * Access records as plain rows, one per call, in a table an operator can query with SQL
 * (docs/store.md, *Access records*), with CPI's message-processing-log id as a column of its own.
 * The blocks written since migration 0002 move into rows in the order they were written (block
 * by block, each in its own order), so ties in time keep their order; records that retention had
 * already cut off a block (older than its cutoff) are not moved. The block tables are dropped.
 */
export function accessRecordRows(dialect: 'sqlite' | 'postgres'): Migration {
  const { serial, serialType } = dialectColumns(dialect)

  return {
    async up(untyped: Kysely<unknown>) {
      const db = untyped as Kysely<{
        // Rows as this migration writes them; later migrations describe their own changes.
        access_records: Record<string, number | string | null>
        access_record_blocks: BlockRow
      }>
      await db.schema
        .createTable('access_records')
        .addColumn('id', serialType, serial)
        .addColumn('time', 'bigint', (c) => c.notNull())
        .addColumn('correlation_id', 'text', (c) => c.notNull())
        .addColumn('client_id', 'text')
        .addColumn('instance_id', 'text')
        .addColumn('flow', 'text')
        .addColumn('method', 'text', (c) => c.notNull())
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('status', 'integer', (c) => c.notNull())
        .addColumn('upstream_status', 'integer')
        .addColumn('bytes_in', 'bigint', (c) => c.notNull())
        .addColumn('bytes_out', 'bigint', (c) => c.notNull())
        .addColumn('duration_ms', 'bigint', (c) => c.notNull())
        .addColumn('upstream_duration_ms', 'bigint')
        .addColumn('reason', 'text')
        .addColumn('source_address', 'text')
        .addColumn('mpl_id', 'text')
        .execute()

      let after = 0
      for (;;) {
        const blocks = await db
          .selectFrom('access_record_blocks')
          .select(['id', 'cutoff', 'records'])
          .where('id', '>', after)
          .orderBy('id')
          .limit(blocksPerRead)
          .execute()
        if (blocks.length === 0) break
        after = (blocks.at(-1) as BlockRow).id
        const rows: Array<Record<string, number | string | null>> = []
        for (const block of blocks) {
          for (const record of recordsOfBlock(block.records)) {
            if (record.time < block.cutoff) continue
            rows.push({
              time: record.time,
              correlation_id: record.correlationId,
              client_id: record.clientId,
              instance_id: record.instanceId,
              flow: record.flow,
              method: record.method,
              path: record.path,
              status: record.status,
              upstream_status: record.upstreamStatus,
              bytes_in: record.bytesIn,
              bytes_out: record.bytesOut,
              duration_ms: record.durationMs,
              upstream_duration_ms: record.upstreamDurationMs,
              reason: record.reason,
              source_address: record.sourceAddress,
              mpl_id: null,
            })
          }
        }
        for (let start = 0; start < rows.length; start += rowsPerInsert) {
          await db
            .insertInto('access_records')
            .values(rows.slice(start, start + rowsPerInsert))
            .execute()
        }
      }
      await db.schema.dropTable('access_record_keys').execute()
      await db.schema.dropTable('access_record_blocks').execute()

      // The index of each listing's order (newest first, ties in write order), and of each filter
      // the admin API and `flowgate logs` offer, each followed by that order. Created after the
      // rows moved, so that each is built once rather than grown row by row.
      const indexes: Array<[string, string[]]> = [
        ['access_records_time', ['time', 'id']],
        ['access_records_client', ['client_id', 'time', 'id']],
        ['access_records_flow', ['flow', 'time', 'id']],
        ['access_records_status', ['status', 'time', 'id']],
      ]
      for (const [name, columns] of indexes) {
        await db.schema.createIndex(name).on('access_records').columns(columns).execute()
      }
    },
  }
}

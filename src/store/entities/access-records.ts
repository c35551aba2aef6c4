import { CompiledQuery, type Kysely } from 'kysely'
import { type EncodedAccessRecords, encodeAccessRecords } from '../access-record-batch.ts'
import type { Database } from '../database.ts'
import { decodeCursor, encodeCursor, pageLimit } from '../paging.ts'
import type { AccessRecord, AccessRecordQuery, Page } from '../types.ts'
import { accessRecordColumns, accessRecordFromRow, appendAccessRecordValues } from './access-record-rows.ts'

/**
 * Access records: one row per runtime call in `access_records` (docs/store.md). They are not part
 * of the change log, and only the store itself writes them (never inside `transaction`).
 */
export interface AccessRecordOperations {
  /** Writes the records in one transaction: all of them or none. */
  insertAccessRecords(records: readonly AccessRecord[]): Promise<void>
  /**
   * The same for batches as the access-record worker is posted them: every row of every batch in
   * one transaction, all or none. A malformed batch is refused (TypeError) before anything is written.
   */
  insertAccessRecordBatches(batches: readonly EncodedAccessRecords[]): Promise<void>
  /** Newest first: by time, then in the order written. */
  queryAccessRecords(query: AccessRecordQuery): Promise<Page<AccessRecord>>
  /** Deletes the records older than `time`; returns how many. */
  deleteAccessRecordsBefore(time: number): Promise<number>
}

const columnCount = accessRecordColumns.length
/**
 * Rows per INSERT, largest first: a write is cut into statements of these sizes, so a handful of
 * statement texts serve every batch size (SQLite keeps each prepared). 500 rows of 16 parameters
 * stay under SQLite's 32,766 and PostgreSQL's 65,535 parameters per statement.
 */
const rowsPerInsert = [500, 100, 20, 5, 1]
/** Rows deleted per statement by retention, so that SQLite's write lock is released between them. */
const rowsPerDelete = 2000

export function accessRecordOperations(db: Kysely<Database>): AccessRecordOperations {
  /** INSERT text per row count, compiled by Kysely once (each dialect has its own placeholders). */
  const insertText = new Map<number, string>()
  const placeholderRow = Object.fromEntries(accessRecordColumns.map((column) => [column, null]))

  function insertSql(rows: number): string {
    let text = insertText.get(rows)
    if (text === undefined) {
      text = db
        .insertInto('access_records')
        .values(Array.from({ length: rows }, () => placeholderRow) as never)
        .compile().sql
      insertText.set(rows, text)
    }
    return text
  }

  async function insertAccessRecordBatches(batches: readonly EncodedAccessRecords[]): Promise<void> {
    // Every batch is checked before anything is written.
    const values: unknown[] = []
    for (const batch of batches) appendAccessRecordValues(batch, values)
    const rows = values.length / columnCount
    if (rows === 0) return
    // Without the write lock: access records are not in the change log and must not wait behind
    // administrative writes.
    await db.transaction().execute(async (tx) => {
      let row = 0
      for (const size of rowsPerInsert) {
        for (; rows - row >= size; row += size) {
          const parameters = values.slice(row * columnCount, (row + size) * columnCount)
          await tx.executeQuery(CompiledQuery.raw(insertSql(size), parameters))
        }
      }
    })
  }

  return {
    insertAccessRecords: (records) => insertAccessRecordBatches([encodeAccessRecords(records)]),
    insertAccessRecordBatches,

    async queryAccessRecords(query) {
      const limit = pageLimit(query.limit)
      const cursor =
        query.cursor !== undefined && query.cursor !== null
          ? decodeCursor('access', query.cursor, 2)
          : undefined
      const { from, to, clientId, flow, status } = query
      const rows = await db
        .selectFrom('access_records')
        .selectAll()
        .$if(from !== undefined, (select) => select.where('time', '>=', from as number))
        .$if(to !== undefined, (select) => select.where('time', '<', to as number))
        .$if(clientId !== undefined, (select) => select.where('client_id', '=', clientId as string))
        .$if(flow !== undefined, (select) => select.where('flow', '=', flow as string))
        .$if(status !== undefined, (select) => select.where('status', '=', status as number))
        .$if(cursor !== undefined, (select) =>
          select.where((eb) =>
            eb(eb.refTuple('time', 'id'), '<', eb.tuple(cursor?.[0] as number, cursor?.[1] as number)),
          ),
        )
        .orderBy('time', 'desc')
        .orderBy('id', 'desc')
        .limit(limit + 1)
        .execute()
      const page = rows.slice(0, limit)
      const last = page.at(-1)
      return {
        items: page.map(accessRecordFromRow),
        next: rows.length > limit && last !== undefined ? encodeCursor('access', [last.time, last.id]) : null,
      }
    },

    async deleteAccessRecordsBefore(time) {
      let deleted = 0
      for (;;) {
        const result = await db
          .deleteFrom('access_records')
          .where('id', 'in', (eb) =>
            eb.selectFrom('access_records').select('id').where('time', '<', time).limit(rowsPerDelete),
          )
          .executeTakeFirst()
        const count = Number(result.numDeletedRows)
        deleted += count
        if (count < rowsPerDelete) return deleted
      }
    },
  }
}

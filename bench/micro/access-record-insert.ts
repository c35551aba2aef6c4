import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openStore } from '../../src/store/open-store.ts'
import { accessRecordToRow } from '../../src/store/rows.ts'
import { openSqliteDatabase } from '../../src/store/sqlite/sqlite-database.ts'
import { accessRecordBatch } from './access-records.ts'

const batchSize = Number(process.argv[2] ?? 500)
const batches = Number(process.argv[3] ?? 200)

function summary(name: string, times: number[]): string {
  // The first quarter warms up the JIT and SQLite's page cache.
  const measured = times.slice(Math.floor(times.length / 4)).sort((a, b) => a - b)
  const median = measured[Math.floor(measured.length / 2)] as number
  const p99 = measured[Math.floor(measured.length * 0.99)] as number
  return (
    `${name.padEnd(34)} median ${(median / 1000).toFixed(2)} ms/batch` +
    ` (${((median * 1000) / batchSize).toFixed(0)} ns/record), p99 ${(p99 / 1000).toFixed(2)} ms`
  )
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint()
  await fn()
  return Number(process.hrtime.bigint() - start) / 1000
}

const dataDir = await mkdtemp(join(tmpdir(), 'flowgate-bench-insert-'))
const store = await openStore({ url: '', dataDir: join(dataDir, 'store') })
const multiRow = await openStore({ url: '', dataDir: join(dataDir, 'multi-row') })
const { db, dialect } = openSqliteDatabase(join(dataDir, 'multi-row'))
try {
  await store.migrate()
  await multiRow.migrate()
  const single: number[] = []
  const multi: number[] = []
  for (let round = 0; round < batches; round++) {
    single.push(await timed(() => store.insertAccessRecords(accessRecordBatch(batchSize))))
    const rows = accessRecordBatch(batchSize).map(accessRecordToRow)
    multi.push(
      await timed(() =>
        db.transaction().execute(async (tx) => {
          for (let start = 0; start < rows.length; start += 1024) {
            await tx
              .insertInto('access_records')
              .values(rows.slice(start, start + 1024))
              .execute()
          }
        }),
      ),
    )
  }
  console.log(`SQLite, batches of ${batchSize}, ${batches} batches each`)
  console.log(summary('store.insertAccessRecords', single))
  console.log(summary('Kysely multi-row INSERT', multi))
} finally {
  await store.close()
  await multiRow.close()
  await dialect.close(db)
  await rm(dataDir, { recursive: true, force: true })
}

import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { openStore } from '../../src/store/open-store.ts'
import { accessRecordToRow } from '../../src/store/rows.ts'
import { openSqliteDatabase } from '../../src/store/sqlite/sqlite-database.ts'
import type { Store } from '../../src/store/types.ts'
import { accessRecordBatch, type RecordMix } from './access-records.ts'

const usage = `Usage: node bench/micro/access-record-insert.ts [BATCH [BATCHES]] [--grid]

  BATCH     records per transaction (default 500)
  BATCHES   transactions measured per case (default 200; the first quarter is warm-up)
  --grid    instead: the store's insert at 100, 500 and 1,000 records per transaction, for one
            partner and one flow (the load test's traffic) and for 50 partners and 20 flows, with
            the schema's three indexes and with the time index only (what the client and flow
            indexes cost)`

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { grid: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } },
})
if (values.help) {
  console.log(usage)
  process.exit(0)
}
const batchSize = Number(positionals[0] ?? 500)
const batches = Number(positionals[1] ?? 200)

interface Timing {
  /** Wall-clock µs: includes waiting for the disk when a checkpoint syncs. */
  readonly wallUs: number
  /** The process's CPU µs, user and system: what the write takes from the cores the gateway shares. */
  readonly cpuUs: number
}

interface Summary {
  readonly medianUs: number
  readonly p99Us: number
  readonly cpuUs: number
}

function summarise(timings: Timing[]): Summary {
  // The first quarter warms up the JIT and SQLite's page cache.
  const measured = timings.slice(Math.floor(timings.length / 4))
  const walls = measured.map((t) => t.wallUs).sort((a, b) => a - b)
  return {
    medianUs: walls[Math.floor(walls.length / 2)] as number,
    p99Us: walls[Math.floor(walls.length * 0.99)] as number,
    cpuUs: measured.reduce((sum, t) => sum + t.cpuUs, 0) / measured.length,
  }
}

function line(name: string, size: number, { medianUs, p99Us, cpuUs }: Summary): string {
  return (
    `${name.padEnd(44)} CPU ${((cpuUs * 1000) / size).toFixed(0).padStart(5)} ns/record;` +
    ` wall median ${(medianUs / 1000).toFixed(2)} ms/batch, p99 ${(p99Us / 1000).toFixed(2)} ms`
  )
}

async function timed(fn: () => Promise<unknown>): Promise<Timing> {
  const cpu = process.cpuUsage()
  const start = process.hrtime.bigint()
  await fn()
  const wallUs = Number(process.hrtime.bigint() - start) / 1000
  const { user, system } = process.cpuUsage(cpu)
  return { wallUs, cpuUs: user + system }
}

const dataDir = await mkdtemp(join(tmpdir(), 'flowgate-bench-insert-'))
let storeCount = 0

/** A migrated SQLite store in its own directory; `timeIndexOnly` drops the client and flow indexes. */
async function migratedStore(timeIndexOnly = false): Promise<Store> {
  const dir = join(dataDir, `store-${storeCount++}`)
  const store = await openStore({ url: '', dataDir: dir })
  await store.migrate()
  if (timeIndexOnly) {
    const { db, dialect } = openSqliteDatabase(dir)
    await db.schema.dropIndex('access_records_client').execute()
    await db.schema.dropIndex('access_records_flow').execute()
    await dialect.close(db)
  }
  return store
}

async function storeInsert(store: Store, size: number, count: number, mix: RecordMix): Promise<Summary> {
  const times: Timing[] = []
  for (let round = 0; round < count; round++) {
    const batch = accessRecordBatch(size, mix)
    times.push(await timed(() => store.insertAccessRecords(batch)))
  }
  return summarise(times)
}

try {
  if (values.grid) {
    console.log(`SQLite, store.insertAccessRecords, ${batches} transactions per case`)
    for (const [label, mix] of [
      ['1 partner, 1 flow', { partners: 1, flows: 1 }],
      ['50 partners, 20 flows', { partners: 50, flows: 20 }],
    ] as const) {
      for (const timeIndexOnly of [false, true]) {
        for (const size of [100, 500, 1000]) {
          const store = await migratedStore(timeIndexOnly)
          try {
            const summary = await storeInsert(store, size, batches, mix)
            const indexes = timeIndexOnly ? 'time index only' : 'three indexes'
            console.log(line(`${label}, ${indexes}, ${size}/transaction`, size, summary))
          } finally {
            await store.close()
          }
        }
      }
    }
  } else {
    const store = await migratedStore()
    const multiRowDir = join(dataDir, 'multi-row')
    const multiRow = await openStore({ url: '', dataDir: multiRowDir })
    await multiRow.migrate()
    const { db, dialect } = openSqliteDatabase(multiRowDir)
    try {
      const single: Timing[] = []
      const multi: Timing[] = []
      for (let round = 0; round < batches; round++) {
        const batch = accessRecordBatch(batchSize)
        single.push(await timed(() => store.insertAccessRecords(batch)))
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
      console.log(line('store.insertAccessRecords', batchSize, summarise(single)))
      console.log(line('Kysely multi-row INSERT', batchSize, summarise(multi)))
    } finally {
      await store.close()
      await multiRow.close()
      await dialect.close(db)
    }
  }
} finally {
  await rm(dataDir, { recursive: true, force: true })
}

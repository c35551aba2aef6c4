import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import BetterSqlite3 from 'better-sqlite3'
import { Migrator } from 'kysely/migration'
import {
  decodeAccessRecords,
  type EncodedAccessRecords,
  encodeAccessRecords,
} from '../../src/store/access-record-batch.ts'
import {
  migrationLockTable,
  migrationProvider,
  migrationTable,
} from '../../src/store/migrations/migrations.ts'
import { openStore } from '../../src/store/open-store.ts'
import { openSqliteDatabase } from '../../src/store/sqlite/sqlite-database.ts'
import type { Store } from '../../src/store/types.ts'
import { accessRecordBatch, type RecordMix } from './access-records.ts'

const usage = `Usage: node bench/micro/access-record-insert.ts [BATCH [BATCHES]] [--grid]

  BATCH     records per transaction (default 100, accessLog.batchSize's default)
  BATCHES   transactions measured per case (default 200; the first quarter is warm-up)
  --grid    instead: 100, 500 and 1,000 records per transaction

  What the access-record worker's write costs, side by side on SQLite files of their own:
  "blocks" is store.insertAccessRecordBatch with the batch as the worker is posted it (one block row
  and its key rows); "rows" is the schema of migration 0001 and the write of then (one row per record
  with indexes on time, partner and flow, one prepared INSERT per record in one transaction,
  decoded from the same batch), for one partner and one flow (the load test's traffic) and for
  50 partners and 20 flows.`

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { grid: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } },
})
if (values.help) {
  console.log(usage)
  process.exit(0)
}
const batchSize = Number(positionals[0] ?? 100)
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

/** The write of before migration 0002, on a database migrated to 0001 only. */
async function rowsWriter(): Promise<{
  write: (batch: EncodedAccessRecords) => void
  close: () => Promise<void>
}> {
  const dir = join(dataDir, `rows-${storeCount++}`)
  const { db, dialect } = openSqliteDatabase(dir)
  const migrator = new Migrator({
    db,
    provider: migrationProvider('sqlite'),
    migrationTableName: migrationTable,
    migrationLockTableName: migrationLockTable,
  })
  const { error } = await migrator.migrateTo('0001-initial')
  if (error !== undefined) throw error
  await dialect.close(db)
  const database = new BetterSqlite3(join(dir, 'flowgate.db'))
  database.exec('pragma journal_mode = WAL; pragma synchronous = NORMAL;')
  const insert = database.prepare(
    'insert into access_records (time, correlation_id, client_id, instance_id, flow, method, path, status, upstream_status, bytes_in, bytes_out, duration_ms, upstream_duration_ms, reason, source_address) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  )
  const write = database.transaction((batch: EncodedAccessRecords) => {
    for (const record of decodeAccessRecords(batch)) insert.run(Object.values(record))
  }).immediate
  return {
    write,
    close: async () => {
      database.close()
    },
  }
}

async function blocksStore(): Promise<Store> {
  const store = await openStore({ url: '', dataDir: join(dataDir, `blocks-${storeCount++}`) })
  await store.migrate()
  return store
}

async function measure(
  size: number,
  count: number,
  mix: RecordMix,
  write: (batch: EncodedAccessRecords) => unknown,
): Promise<Summary> {
  const times: Timing[] = []
  for (let round = 0; round < count; round++) {
    const batch = encodeAccessRecords(accessRecordBatch(size, mix))
    times.push(await timed(async () => write(batch)))
  }
  return summarise(times)
}

try {
  console.log(`SQLite, ${batches} transactions per case`)
  for (const size of values.grid ? [100, 500, 1000] : [batchSize]) {
    for (const [label, mix] of [
      ['1 partner, 1 flow', { partners: 1, flows: 1 }],
      ['50 partners, 20 flows', { partners: 50, flows: 20 }],
    ] as const) {
      const rows = await rowsWriter()
      const store = await blocksStore()
      try {
        const rowsSummary = await measure(size, batches, mix, rows.write)
        const blocksSummary = await measure(size, batches, mix, (batch) =>
          store.insertAccessRecordBatch(batch),
        )
        console.log(line(`${label}, ${size}/transaction, rows`, size, rowsSummary))
        console.log(line(`${label}, ${size}/transaction, blocks`, size, blocksSummary))
      } finally {
        await rows.close()
        await store.close()
      }
    }
  }
} finally {
  await rm(dataDir, { recursive: true, force: true })
}

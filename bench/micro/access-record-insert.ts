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
import { median } from '../lib/stats.ts'
import { accessRecordBatch, type RecordMix } from './access-records.ts'

const usage = `Usage: node bench/micro/access-record-insert.ts [BATCH [BATCHES]] [--grid]

  BATCH     records per batch (default 100, accessLog.batchSize's default)
  BATCHES   batches measured per case (default 400; the first quarter is warm-up)
  --grid    instead: 100, 500 and 1,000 records per batch

  What the access-record worker's write costs, side by side on SQLite files of their own, for one
  partner and one flow (the load test's traffic) and for 50 partners and 20 flows, each case three
  times, interleaved (the figure is the median): "blocks × N" is store.insertAccessRecordBatches
  with N batches as the worker is posted them, in one transaction (one block row and its key rows
  per batch; the worker commits the batches of its commit interval together, up to 16); "rows" is
  the schema of migration 0001 and the write of then (one row per record with indexes on time,
  partner and flow, one prepared INSERT per record, one transaction per batch, decoded from the
  same batch).`

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { grid: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } },
})
if (values.help) {
  console.log(usage)
  process.exit(0)
}
const batchSize = Number(positionals[0] ?? 100)
const batches = Number(positionals[1] ?? 400)

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
    ` wall median ${(medianUs / 1000).toFixed(2)} ms/transaction, p99 ${(p99Us / 1000).toFixed(2)} ms`
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

const retained: unknown[] = []

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
  // better-sqlite3 12 on Node 24 aborts when the collector finalises a Statement (docs/store.md):
  // the connection and its statement stay referenced for the life of the process.
  retained.push(database, insert)
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

/** Writes `count` batches of `size` records, `group` batches to a transaction. */
async function measure(
  size: number,
  group: number,
  count: number,
  mix: RecordMix,
  write: (batches: EncodedAccessRecords[]) => unknown,
): Promise<Summary> {
  const times: Timing[] = []
  for (let written = 0; written < count; written += group) {
    const batches = Array.from({ length: group }, () => encodeAccessRecords(accessRecordBatch(size, mix)))
    times.push(await timed(async () => write(batches)))
  }
  return summarise(times)
}

try {
  console.log(`SQLite, ${batches} batches per case, three runs of each case interleaved (median)`)
  for (const size of values.grid ? [100, 500, 1000] : [batchSize]) {
    for (const [label, mix] of [
      ['1 partner, 1 flow', { partners: 1, flows: 1 }],
      ['50 partners, 20 flows', { partners: 50, flows: 20 }],
    ] as const) {
      /** A case opens its own SQLite file, writes `group` batches a transaction, and closes it. */
      interface Case {
        readonly name: string
        readonly group: number
        readonly open: () => Promise<{
          write: (batches: EncodedAccessRecords[]) => unknown
          close: () => Promise<void>
        }>
        readonly runs: Summary[]
      }
      const cases: Case[] = [
        {
          name: 'rows',
          group: 1,
          open: async () => {
            const rows = await rowsWriter()
            return { write: ([batch]) => rows.write(batch as EncodedAccessRecords), close: rows.close }
          },
          runs: [],
        },
        ...[1, 4, 16].map((group) => ({
          name: `blocks × ${group}`,
          group,
          open: async () => {
            const store = await blocksStore()
            return {
              write: (batches: EncodedAccessRecords[]) => store.insertAccessRecordBatches(batches),
              close: () => store.close(),
            }
          },
          runs: [],
        })),
      ]
      for (let run = 0; run < 3; run++) {
        for (const entry of cases) {
          const writer = await entry.open()
          try {
            entry.runs.push(await measure(size, entry.group, batches, mix, writer.write))
          } finally {
            await writer.close()
          }
        }
      }
      for (const { name, group, runs } of cases) {
        const summary: Summary = {
          medianUs: median(runs.map((run) => run.medianUs)),
          p99Us: median(runs.map((run) => run.p99Us)),
          cpuUs: median(runs.map((run) => run.cpuUs)),
        }
        console.log(line(`${label}, ${size}/batch, ${name}`, size * group, summary))
      }
    }
  }
} finally {
  await rm(dataDir, { recursive: true, force: true })
}

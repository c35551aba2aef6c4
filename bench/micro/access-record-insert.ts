import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { type EncodedAccessRecords, encodeAccessRecords } from '../../src/store/access-record-batch.ts'
import { openStore } from '../../src/store/open-store.ts'
import { median } from '../lib/stats.ts'
import { accessRecordBatch, type RecordMix } from './access-records.ts'

const usage = `Usage: node bench/micro/access-record-insert.ts [BATCH [BATCHES]] [--grid] [--postgres URL]

  BATCH       records per batch (default 100, accessLog.batchSize's default)
  BATCHES     batches measured per case (default 400; the first quarter is warm-up)
  --grid      instead: 100, 500 and 1,000 records per batch
  --postgres  a PostgreSQL database to write to instead of temporary SQLite files (migrated, and
              its access records deleted before each case; use an empty database)

  What the access-record worker's write costs (CPU per record, and wall time per transaction),
  for one partner and one flow (the load test's traffic) and for 50 partners and 20 flows, each
  case three times, interleaved (the figure is the median): "rows × N" is
  store.insertAccessRecordBatches with N batches as the worker is posted them, in one transaction
  (the worker commits the batches of its commit interval together, up to 16), each record a row of
  access_records, written several rows to an INSERT.`

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    grid: { type: 'boolean', default: false },
    postgres: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
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

/** A store of its own for each case: a new SQLite file, or the PostgreSQL database emptied. */
async function rowsStore() {
  const store = await openStore({
    url: values.postgres ?? '',
    dataDir: join(dataDir, `rows-${storeCount++}`),
  })
  await store.migrate()
  if (values.postgres !== undefined) await store.deleteAccessRecordsBefore(Number.MAX_SAFE_INTEGER)
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
  console.log(
    `${values.postgres === undefined ? 'SQLite' : 'PostgreSQL'}, ${batches} batches per case, three runs of each case interleaved (median)`,
  )
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
      const cases: Case[] = [1, 4, 16].map((group) => ({
        name: `rows × ${group}`,
        group,
        open: async () => {
          const store = await rowsStore()
          return {
            write: (batches: EncodedAccessRecords[]) => store.insertAccessRecordBatches(batches),
            close: () => store.close(),
          }
        },
        runs: [],
      }))
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

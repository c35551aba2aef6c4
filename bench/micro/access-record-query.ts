import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { encodeAccessRecords } from '../../src/store/access-record-batch.ts'
import { openStore } from '../../src/store/open-store.ts'
import type { AccessRecordQuery } from '../../src/store/types.ts'
import { accessRecordBatch } from './access-records.ts'

const usage = `Usage: node bench/micro/access-record-query.ts [RECORDS] [--postgres URL]

  RECORDS     access records written first, in batches of 100 (default 1,000,000), 50 partners
              and 20 flows
  --postgres  a PostgreSQL database to use instead of a temporary SQLite file (its tables are
              created by migrating it; use an empty database)

  What the admin API's access-record queries cost on a full store: the median wall time of a page
  of 100 — newest, one partner's, a status that never occurs, a time window, and the page after a
  cursor 50 pages deep — then retention deleting the oldest 0.1 % (an hourly run's share at 30
  days' retention) and the older half. On SQLite also the file's size per record.`

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { postgres: { type: 'string' }, help: { type: 'boolean', default: false } },
})
if (values.help) {
  console.log(usage)
  process.exit(0)
}
const total = Number(positionals[0] ?? 1_000_000)
const batchSize = 100

const dataDir = await mkdtemp(join(tmpdir(), 'flowgate-bench-query-'))
const store = await openStore({ url: values.postgres ?? '', dataDir })
try {
  await store.migrate()
  const started = Date.now()
  let firstTime = Number.POSITIVE_INFINITY
  let lastTime = 0
  for (let written = 0; written < total; written += batchSize) {
    const records = accessRecordBatch(Math.min(batchSize, total - written))
    firstTime = Math.min(firstTime, records[0]?.time ?? firstTime)
    lastTime = Math.max(lastTime, records.at(-1)?.time ?? lastTime)
    await store.insertAccessRecordBatches([encodeAccessRecords(records)])
  }
  console.log(`${total} records written in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  if (values.postgres === undefined) {
    const { size } = await stat(join(dataDir, 'flowgate.db'))
    const wal = await stat(join(dataDir, 'flowgate.db-wal')).catch(() => ({ size: 0 }))
    console.log(
      `flowgate.db ${(size / 1e6).toFixed(0)} MB (+ WAL ${(wal.size / 1e6).toFixed(0)} MB): ${((size + wal.size) / total).toFixed(0)} bytes a record`,
    )
  }

  async function timed(label: string, query: () => AccessRecordQuery | Promise<AccessRecordQuery>) {
    const times: number[] = []
    let items = 0
    for (let round = 0; round < 21; round++) {
      const q = await query()
      const start = process.hrtime.bigint()
      items = (await store.queryAccessRecords(q)).items.length
      times.push(Number(process.hrtime.bigint() - start) / 1e6)
    }
    times.sort((a, b) => a - b)
    console.log(`${label.padEnd(44)} ${(times[10] as number).toFixed(2).padStart(8)} ms (${items} records)`)
  }

  const middle = Math.floor((firstTime + lastTime) / 2)
  let deep: string | null = null
  for (let page = 0; page < 50; page++)
    deep = (await store.queryAccessRecords({ limit: 100, cursor: deep })).next
  await timed('newest 100', () => ({ limit: 100 }))
  await timed('newest 100 of one of 50 partners', () => ({
    limit: 100,
    clientId: 'sb-7!b1|it-rt-flowgate!b1',
  }))
  await timed('a status that never occurs', () => ({ limit: 100, status: 418 }))
  await timed('100 from the middle of the time range', () => ({ limit: 100, to: middle }))
  await timed('100 after a cursor 50 pages deep', () => ({ limit: 100, cursor: deep }))
  await timed('1,000 of one partner and one flow', () => ({
    limit: 1000,
    clientId: 'sb-7!b1|it-rt-flowgate!b1',
    flow: '/orders/7',
  }))
  // An hourly run at 30 days' retention deletes about 0.14 % of the records: what it costs beyond
  // its share is a scan of what stays. On SQLite the whole run blocks the event loop it runs on.
  const retention = async (label: string, before: number) => {
    const start = process.hrtime.bigint()
    const deleted = await store.deleteAccessRecordsBefore(before)
    const ms = Number(process.hrtime.bigint() - start) / 1e6
    console.log(`retention of ${label}: ${deleted} records in ${ms.toFixed(0)} ms`)
  }
  await retention('the oldest 0.1 %', firstTime + Math.floor((lastTime - firstTime) / 1000))
  await retention('the older half', middle)
} finally {
  await store.close()
  await rm(dataDir, { recursive: true, force: true })
}

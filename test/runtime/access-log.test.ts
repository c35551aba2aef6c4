import assert from 'node:assert/strict'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import pg from 'pg'
import { createAccessLog } from '../../src/runtime/access-log.ts'
import { openStore } from '../../src/store/open-store.ts'
import type { AccessRecord, Store } from '../../src/store/types.ts'
import { accessRecord, storedAccessRecords } from '../helpers/access-records.ts'
import { capturedLogger } from '../helpers/captured-logger.ts'
import { postgresAdminUrl, storeBackends } from '../helpers/databases.ts'

const sqlite = storeBackends().find((backend) => backend.name === 'sqlite')
const postgres = storeBackends().find((backend) => backend.name === 'postgres')

describe('access log', () => {
  test('records wait in memory until a batch is full or a flush; they are written whole and in batches', async (t) => {
    const opened = await (sqlite as NonNullable<typeof sqlite>).open()
    const { logger } = capturedLogger()
    let inserts = 0
    const store = opened.store
    const counting: Pick<Store, 'insertAccessRecords'> = {
      insertAccessRecords(records) {
        inserts++
        return store.insertAccessRecords(records)
      },
    }
    // The flush timer runs on a mock clock: "not before the interval" is then exact, not a guess.
    t.mock.timers.enable({ apis: ['setInterval'] })
    const log = createAccessLog({
      store: counting,
      batchSize: 3,
      flushIntervalMs: 60_000,
      maxBuffered: 100,
      logger,
    })
    try {
      log.record(accessRecord(1))
      log.record(accessRecord(2))
      t.mock.timers.tick(59_999)
      await new Promise(setImmediate)
      assert.equal(inserts, 0, 'no I/O per record')
      assert.deepEqual(await storedAccessRecords(store), [])
      for (let n = 3; n <= 7; n++) log.record(accessRecord(n))
      await log.flush()
      assert.deepEqual(
        await storedAccessRecords(store),
        [1, 2, 3, 4, 5, 6, 7].map((n) => accessRecord(n)),
      )
      assert.ok(inserts <= 3, `${inserts} round-trips for 7 records in batches of 3`)
      assert.deepEqual(log.stats(), { written: 7, dropped: 0, buffered: 0, failedFlushes: 0 })
    } finally {
      await log.close()
      await opened.drop()
    }
  })

  test('full batches are handed over without waiting for the answers to earlier ones', async () => {
    const calls: AccessRecord[][] = []
    const answers: (() => void)[] = []
    const store: Pick<Store, 'insertAccessRecords'> = {
      insertAccessRecords(records) {
        calls.push([...records])
        return new Promise<void>((resolve) => answers.push(resolve))
      },
    }
    const log = createAccessLog({
      store,
      batchSize: 2,
      flushIntervalMs: 60_000,
      maxBuffered: 10,
      logger: capturedLogger().logger,
    })
    for (let n = 1; n <= 5; n++) log.record(accessRecord(n))
    assert.deepEqual(calls, [
      [accessRecord(1), accessRecord(2)],
      [accessRecord(3), accessRecord(4)],
    ])
    assert.deepEqual(log.stats(), { written: 0, dropped: 0, buffered: 5, failedFlushes: 0 })
    const flushed = log.flush()
    assert.deepEqual(calls[2], [accessRecord(5)])
    for (const answer of answers) answer()
    await flushed
    assert.deepEqual(log.stats(), { written: 5, dropped: 0, buffered: 0, failedFlushes: 0 })
    await log.close()
  })

  test('while the store fails, each tick retries with the oldest batch alone; its success hands over the rest', async () => {
    const calls: AccessRecord[][] = []
    let refusing = true
    const store: Pick<Store, 'insertAccessRecords'> = {
      async insertAccessRecords(records) {
        calls.push([...records])
        if (refusing) throw new Error('store down')
      },
    }
    const log = createAccessLog({
      store,
      batchSize: 2,
      flushIntervalMs: 20,
      maxBuffered: 10,
      logger: capturedLogger().logger,
      reportIntervalMs: 0,
    })
    try {
      log.record(accessRecord(1))
      log.record(accessRecord(2))
      await new Promise((resolve) => setImmediate(resolve))
      // Refused: new full batches wait instead of being handed over.
      for (let n = 3; n <= 6; n++) log.record(accessRecord(n))
      assert.deepEqual(calls, [[accessRecord(1), accessRecord(2)]])
      const deadline = Date.now() + 5000
      while (calls.length < 3) {
        assert.ok(Date.now() < deadline, 'the timer retries')
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
      refusing = false
      const refusals = calls.length
      // Every retry while failing was the oldest batch, alone.
      assert.deepEqual(
        calls,
        Array.from({ length: refusals }, () => [accessRecord(1), accessRecord(2)]),
      )
      while (log.stats().written < 6) {
        assert.ok(Date.now() < deadline, 'all written once the store is back')
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
      assert.deepEqual(calls.slice(refusals), [
        [accessRecord(1), accessRecord(2)],
        [accessRecord(3), accessRecord(4)],
        [accessRecord(5), accessRecord(6)],
      ])
      assert.deepEqual(log.stats(), { written: 6, dropped: 0, buffered: 0, failedFlushes: refusals })
    } finally {
      await log.close()
    }
  })

  test('the interval timer writes a partial batch', async () => {
    const opened = await (sqlite as NonNullable<typeof sqlite>).open()
    const log = createAccessLog({
      store: opened.store,
      batchSize: 500,
      flushIntervalMs: 20,
      maxBuffered: 1000,
      logger: capturedLogger().logger,
    })
    try {
      log.record(accessRecord(1))
      const deadline = Date.now() + 5000
      while ((await storedAccessRecords(opened.store)).length === 0) {
        assert.ok(Date.now() < deadline, 'record written by the timer')
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
      assert.deepEqual(await storedAccessRecords(opened.store), [accessRecord(1)])
    } finally {
      await log.close()
      await opened.drop()
    }
  })

  test('while the store fails, records are buffered up to the bound, drops counted and reported, then written', async () => {
    const opened = await (postgres as NonNullable<typeof postgres>).open()
    const admin = new pg.Client({ connectionString: opened.url })
    await admin.connect()
    const { logger, lines } = capturedLogger()
    const log = createAccessLog({
      store: opened.store,
      batchSize: 2,
      flushIntervalMs: 60_000,
      maxBuffered: 5,
      logger,
      reportIntervalMs: 0,
    })
    try {
      // The table disappears under the store's feet: every insert fails until it is back.
      await admin.query('alter table access_records rename to access_records_away')
      for (let n = 1; n <= 8; n++) log.record(accessRecord(n))
      await log.flush()
      const during = log.stats()
      assert.equal(during.written, 0)
      assert.equal(during.buffered, 5)
      assert.equal(during.dropped, 3)
      assert.ok(during.failedFlushes >= 1)
      const report = lines().findLast((line) => line.msg === 'access records could not be written')
      assert.equal(report?.level, 50)
      assert.equal(report?.dropped, 3)
      assert.equal(report?.buffered, 5)

      await admin.query('alter table access_records_away rename to access_records')
      await log.flush()
      assert.deepEqual(log.stats(), {
        written: 5,
        dropped: 3,
        buffered: 0,
        failedFlushes: during.failedFlushes,
      })
      // The oldest records are kept: they lead into the outage.
      assert.deepEqual(
        await storedAccessRecords(opened.store),
        [1, 2, 3, 4, 5].map((n) => accessRecord(n)),
      )
    } finally {
      await admin.query('alter table if exists access_records_away rename to access_records').catch(() => {})
      await admin.end()
      await log.close()
      await opened.drop()
    }
  })

  test('when PostgreSQL refuses connections, the log keeps its records and writes them once it is back', async () => {
    const opened = await (postgres as NonNullable<typeof postgres>).open()
    const database = new URL(opened.url).pathname.slice(1)
    const admin = new pg.Client({ connectionString: postgresAdminUrl })
    await admin.connect()
    const log = createAccessLog({
      store: opened.store,
      batchSize: 10,
      flushIntervalMs: 60_000,
      maxBuffered: 100,
      logger: capturedLogger().logger,
    })
    try {
      await admin.query(`alter database ${database} with allow_connections false`)
      await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1', [
        database,
      ])
      for (let n = 1; n <= 3; n++) log.record(accessRecord(n))
      await log.flush()
      assert.deepEqual(
        { ...log.stats(), failedFlushes: 0 },
        { written: 0, dropped: 0, buffered: 3, failedFlushes: 0 },
      )
      assert.ok(log.stats().failedFlushes >= 1)
      await admin.query(`alter database ${database} with allow_connections true`)
      // Connections the outage killed may still sit in the pool: like the timer, retry.
      const deadline = Date.now() + 10_000
      while (log.stats().written < 3) {
        assert.ok(Date.now() < deadline, 'records written once the database is back')
        await new Promise((resolve) => setTimeout(resolve, 50))
        await log.flush()
      }
      assert.deepEqual(
        await storedAccessRecords(opened.store),
        [1, 2, 3].map((n) => accessRecord(n)),
      )
    } finally {
      await admin.query(`alter database ${database} with allow_connections true`).catch(() => {})
      await admin.end()
      await log.close()
      await opened.drop()
    }
  })

  test('close() writes what it can and counts what it cannot as dropped', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'flowgate-access-'))
    const store = await openStore({ url: '', dataDir })
    await store.migrate()
    const { logger, lines } = capturedLogger()
    const log = createAccessLog({ store, batchSize: 10, flushIntervalMs: 60_000, maxBuffered: 100, logger })
    log.record(accessRecord(1))
    await store.close()
    log.record(accessRecord(2))
    await log.close()
    assert.deepEqual(log.stats(), { written: 0, dropped: 2, buffered: 0, failedFlushes: 1 })
    assert.equal(lines().findLast((line) => line.msg === 'access records could not be written')?.dropped, 2)
    log.record(accessRecord(3))
    assert.equal(log.stats().dropped, 3, 'records after close are counted, not kept')
  })

  test('options are checked once, in the factory', () => {
    const { logger } = capturedLogger()
    const store = { insertAccessRecords: async () => {} }
    assert.throws(
      () => createAccessLog({ store, batchSize: 0, flushIntervalMs: 10, maxBuffered: 10, logger }),
      TypeError,
    )
    assert.throws(
      () => createAccessLog({ store, batchSize: 20, flushIntervalMs: 10, maxBuffered: 10, logger }),
      TypeError,
    )
    assert.throws(
      () => createAccessLog({ store, batchSize: 1, flushIntervalMs: 0, maxBuffered: 10, logger }),
      TypeError,
    )
  })
})

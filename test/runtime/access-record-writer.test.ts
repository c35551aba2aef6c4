import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import BetterSqlite3 from 'better-sqlite3'
import pg from 'pg'
import { FlowgateError } from '../../src/lib/errors.ts'
import type { createLogger } from '../../src/lib/logger.ts'
import { createAccessLog } from '../../src/runtime/access-log.ts'
import { type AccessRecordWriter, startAccessRecordWriter } from '../../src/runtime/access-record-writer.ts'
import { decodeAccessRecords, encodeAccessRecords } from '../../src/store/access-record-batch.ts'
import type { AccessRecord } from '../../src/store/types.ts'
import { accessRecord, storedAccessRecords } from '../helpers/access-records.ts'
import { capturedLogger } from '../helpers/captured-logger.ts'
import { type OpenedBackend, postgresDatabaseUrl, storeBackends } from '../helpers/databases.ts'

const crashingWorker = new URL('../helpers/crashing-access-record-worker.ts', import.meta.url)
const unclosedWriter = fileURLToPath(new URL('../helpers/unclosed-access-record-writer.ts', import.meta.url))

/** A rejected call: every nullable field null, and strings beyond ASCII. */
function rejectedRecord(n: number): AccessRecord {
  return accessRecord(n, {
    clientId: null,
    instanceId: null,
    flow: null,
    method: 'GET',
    path: '/http/b\u00e4ckerei/\u{1f950}',
    status: 401,
    upstreamStatus: null,
    bytesIn: 0,
    bytesOut: 0,
    upstreamDurationMs: null,
    reason: 'ERR_TOKEN_MISSING',
    sourceAddress: null,
  })
}

function writerFor(
  opened: OpenedBackend,
  logger: ReturnType<typeof createLogger>,
  workerUrl?: URL,
  commitIntervalMs?: number,
): Promise<AccessRecordWriter> {
  return startAccessRecordWriter({
    store: { url: opened.url, dataDir: opened.dataDir, poolSize: 2 },
    logger,
    ...(workerUrl === undefined ? {} : { workerUrl }),
    ...(commitIntervalMs === undefined ? {} : { commitIntervalMs }),
  })
}

/**
 * better-sqlite3 objects must never become garbage (see src/store/sqlite/sqlite-database.ts): the
 * test's own connections are kept for the life of the process and use exec() only.
 */
const sqliteConnections: BetterSqlite3.Database[] = []

/** Runs DDL on the test database through a connection of the test's own. */
async function ddl(opened: OpenedBackend, statement: string): Promise<void> {
  if (opened.url === '') {
    const connection = new BetterSqlite3(join(opened.dataDir, 'flowgate.db'))
    sqliteConnections.push(connection)
    connection.exec(`pragma busy_timeout = 5000; ${statement}`)
    connection.close()
    return
  }
  const client = new pg.Client({ connectionString: opened.url })
  await client.connect()
  try {
    await client.query(statement)
  } finally {
    await client.end()
  }
}

describe('access-record batch encoding', () => {
  test('decoding gives back every field of every record, nulls and non-ASCII strings included', () => {
    const records = [accessRecord(1), rejectedRecord(2), accessRecord(3, { path: '', correlationId: '' })]
    assert.deepEqual(decodeAccessRecords(encodeAccessRecords(records)), records)
    assert.deepEqual(decodeAccessRecords(encodeAccessRecords([])), [])
  })

  test('a malformed batch is refused, not half decoded', () => {
    const encoded = encodeAccessRecords([accessRecord(1)])
    assert.throws(() => decodeAccessRecords({ text: encoded.text, numbers: encoded.numbers.subarray(1) }), {
      name: 'TypeError',
      message: 'encoded access records: 15 numbers is not a multiple of 16',
    })
    assert.throws(() => decodeAccessRecords({ text: `${encoded.text}x`, numbers: encoded.numbers }), {
      name: 'TypeError',
      message: 'encoded access records: text longer than its strings',
    })
  })
})

for (const backend of storeBackends()) {
  describe(`access records through the worker (${backend.name})`, () => {
    test('the access log writes whole records through the worker; flush and close resolve when written', async () => {
      const opened = await backend.open()
      const { logger, lines } = capturedLogger()
      const writer = await writerFor(opened, logger)
      const log = createAccessLog({
        store: writer,
        batchSize: 3,
        flushIntervalMs: 60_000,
        maxBuffered: 100,
        logger,
      })
      try {
        for (let n = 1; n <= 7; n++) log.record(n % 2 === 0 ? rejectedRecord(n) : accessRecord(n))
        await log.flush()
        const expected = [1, 2, 3, 4, 5, 6, 7].map((n) => (n % 2 === 0 ? rejectedRecord(n) : accessRecord(n)))
        assert.deepEqual(await storedAccessRecords(opened.store), expected)
        assert.deepEqual(log.stats(), { written: 7, dropped: 0, buffered: 0, failedFlushes: 0 })

        log.record(accessRecord(8))
        log.record(accessRecord(9))
        await log.close()
        await writer.close()
        assert.deepEqual(await storedAccessRecords(opened.store), [
          ...expected,
          accessRecord(8),
          accessRecord(9),
        ])
        assert.deepEqual(log.stats(), { written: 9, dropped: 0, buffered: 0, failedFlushes: 0 })
        assert.deepEqual(lines(), [], 'nothing logged')
        await assert.rejects(writer.insertAccessRecords([accessRecord(10)]), {
          code: 'ERR_STORE_UNAVAILABLE',
          detail: 'the access-record writer is closed',
        })
      } finally {
        await log.close()
        await writer.close()
        await opened.drop()
      }
    })

    test('batches posted within the commit interval are committed together; a batch the store refuses is refused alone', async () => {
      const opened = await backend.open()
      const { logger } = capturedLogger()
      const writer = await writerFor(opened, logger, undefined, 300)
      try {
        const settled: string[] = []
        const settle = (batch: number, write: Promise<void>) =>
          write.then(
            () => settled.push(`written ${batch}`),
            (error: unknown) => {
              assert.ok(error instanceof FlowgateError)
              assert.match(error.detail ?? '', /^access-record worker: /)
              settled.push(`refused ${batch}`)
            },
          )
        // A record needs a correlation id: the second batch is refused by the store, and the group
        // it arrived in is written again batch by batch so that the others are not refused with it.
        const refused = accessRecord(2, { correlationId: null as unknown as string })
        const started = Date.now()
        await Promise.all([
          settle(1, writer.insertAccessRecords([accessRecord(1)])),
          settle(2, writer.insertAccessRecords([refused])),
          settle(3, writer.insertAccessRecords([accessRecord(3)])),
        ])
        assert.deepEqual(settled, ['refused 2', 'written 1', 'written 3'])
        assert.ok(Date.now() - started >= 250, 'the batches waited for the commit interval')
        assert.deepEqual(await storedAccessRecords(opened.store), [accessRecord(1), accessRecord(3)])
      } finally {
        await writer.close()
        await opened.drop()
      }
    })

    test('a full group is committed at once; a partial one waits for the interval, or for close', async () => {
      const opened = await backend.open()
      const writer = await startAccessRecordWriter({
        store: { url: opened.url, dataDir: opened.dataDir, poolSize: 2 },
        logger: capturedLogger().logger,
        commitIntervalMs: 60_000,
        maxBatchesPerCommit: 2,
      })
      try {
        await Promise.all([
          writer.insertAccessRecords([accessRecord(1)]),
          writer.insertAccessRecords([accessRecord(2), accessRecord(3)]),
        ])
        assert.deepEqual(
          await storedAccessRecords(opened.store),
          [1, 2, 3].map((n) => accessRecord(n)),
        )

        let written = false
        const waiting = writer.insertAccessRecords([accessRecord(4)]).then(() => {
          written = true
        })
        // The worker answers in order: a query answered after the batch was sent saw it arrive.
        assert.equal((await writer.queryAccessRecords({ limit: 1000 })).items.length, 3)
        assert.equal(written, false, 'a partial group waits for the commit interval')
        await writer.close()
        await waiting
        assert.deepEqual(
          await storedAccessRecords(opened.store),
          [1, 2, 3, 4].map((n) => accessRecord(n)),
        )
      } finally {
        await writer.close()
        await opened.drop()
      }
    })

    test('retention runs in the worker: expired records are deleted and counted', async () => {
      const opened = await backend.open()
      const writer = await writerFor(opened, capturedLogger().logger, undefined, 0)
      try {
        const records = [1, 2, 3, 4].map((n) => accessRecord(n))
        await writer.insertAccessRecords(records.slice(0, 2))
        await writer.insertAccessRecords(records.slice(2))
        const third = records[2] as AccessRecord
        assert.equal(await writer.deleteAccessRecordsBefore(third.time), 2)
        assert.deepEqual(await storedAccessRecords(opened.store), records.slice(2))
        assert.equal(await writer.deleteAccessRecordsBefore(third.time), 0)
        await writer.close()
        await assert.rejects(writer.deleteAccessRecordsBefore(third.time), {
          code: 'ERR_STORE_UNAVAILABLE',
          detail: 'the access-record writer is closed',
        })
      } finally {
        await writer.close()
        await opened.drop()
      }
    })

    test('queries run in the worker: the same pages as the store, its errors with their own message', async () => {
      const opened = await backend.open()
      const writer = await writerFor(opened, capturedLogger().logger, undefined, 0)
      try {
        const records = [1, 2, 3, 4, 5].map((n) => accessRecord(n, { status: n === 3 ? 403 : 200 }))
        await writer.insertAccessRecords(records)
        const first = await writer.queryAccessRecords({ limit: 2 })
        assert.deepEqual(first, await opened.store.queryAccessRecords({ limit: 2 }))
        assert.deepEqual(first.items, [records[4], records[3]])
        assert.deepEqual(await writer.queryAccessRecords({ limit: 10, cursor: first.next }), {
          items: [records[2], records[1], records[0]],
          next: null,
        })
        assert.deepEqual(await writer.queryAccessRecords({ status: 403 }), {
          items: [records[2]],
          next: null,
        })
        await assert.rejects(writer.queryAccessRecords({ cursor: 'not-a-cursor' }), (error: unknown) => {
          assert.ok(error instanceof FlowgateError)
          assert.deepEqual(
            { code: error.code, status: error.status, message: error.message },
            { code: 'ERR_VALIDATION', status: 400, message: 'invalid cursor' },
          )
          return true
        })
      } finally {
        await writer.close()
        await opened.drop()
      }
    })

    test('a store error in the worker rejects the batch: the records stay buffered and are retried', async () => {
      const opened = await backend.open()
      const { logger, lines } = capturedLogger()
      const writer = await writerFor(opened, logger)
      const log = createAccessLog({
        store: writer,
        batchSize: 2,
        flushIntervalMs: 60_000,
        maxBuffered: 10,
        logger,
        reportIntervalMs: 0,
      })
      try {
        await ddl(opened, 'alter table access_records rename to access_records_away')
        for (let n = 1; n <= 3; n++) log.record(accessRecord(n))
        await log.flush()
        // One write when the batch filled, one more from flush(): both rejected by the worker.
        assert.deepEqual(log.stats(), { written: 0, dropped: 0, buffered: 3, failedFlushes: 2 })
        const report = lines().findLast((line) => line.msg === 'access records could not be written')
        assert.equal(report?.level, 50)
        assert.equal(report?.buffered, 3)
        const err = report?.err as { code: string; detail: string }
        assert.match(err.detail, /^access-record worker: .*access_records/)

        await ddl(opened, 'alter table access_records_away rename to access_records')
        const deadline = Date.now() + 10_000
        while (log.stats().written < 3) {
          // A PostgreSQL connection may still have the old table's plan: retry as the timer would.
          assert.ok(Date.now() < deadline, 'records written once the table is back')
          await new Promise((resolve) => setTimeout(resolve, 50))
          await log.flush()
        }
        assert.deepEqual(
          await storedAccessRecords(opened.store),
          [1, 2, 3].map((n) => accessRecord(n)),
        )
        assert.equal(log.stats().buffered, 0)
        assert.equal(log.stats().dropped, 0)
      } finally {
        await log.close()
        await writer.close()
        await opened.drop()
      }
    })

    test('a worker that exits unexpectedly is logged, its batch rejected and kept, and a new worker writes', async () => {
      const opened = await backend.open()
      const { logger, lines } = capturedLogger()
      const writer = await writerFor(opened, logger, crashingWorker)
      const log = createAccessLog({
        store: writer,
        batchSize: 10,
        flushIntervalMs: 60_000,
        maxBuffered: 100,
        logger,
      })
      try {
        await assert.rejects(writer.insertAccessRecords([accessRecord(1, { path: '/crash' })]), (error) => {
          assert.ok(error instanceof FlowgateError)
          assert.equal(error.code, 'ERR_STORE_UNAVAILABLE')
          assert.equal(
            error.detail,
            'the access-record worker exited with code 70 before answering 1 batch(es)',
          )
          return true
        })
        const crash = lines().find((line) => line.msg?.toString().startsWith('access-record worker exited'))
        assert.deepEqual(
          { level: crash?.level, exitCode: crash?.exitCode, unanswered: crash?.unanswered, msg: crash?.msg },
          {
            level: 50,
            exitCode: 70,
            unanswered: 1,
            msg: 'access-record worker exited unexpectedly; its unanswered batches stay buffered and a new worker writes the next one',
          },
        )

        // Through the access log: the batch that crashes the worker stays buffered, never lost.
        log.record(accessRecord(2))
        log.record(accessRecord(3, { path: '/crash' }))
        await log.flush()
        assert.deepEqual(log.stats(), { written: 0, dropped: 0, buffered: 2, failedFlushes: 1 })

        // A new worker writes the next batch.
        await writer.insertAccessRecords([accessRecord(4)])
        assert.deepEqual(await storedAccessRecords(opened.store), [accessRecord(4)])
      } finally {
        await log.close()
        await writer.close()
        await opened.drop()
      }
    })

    test('a batch out keeps the process alive until it is written; an idle writer holds nothing', async () => {
      const opened = await backend.open()
      try {
        const record = accessRecord(1)
        const result = await new Promise<Record<string, unknown>>((resolve) => {
          const child = execFile(
            process.execPath,
            [unclosedWriter, opened.url, opened.dataDir, JSON.stringify(record)],
            { timeout: 30_000, killSignal: 'SIGKILL' },
            (_error, stdout, stderr) =>
              resolve({ code: child.exitCode, signal: child.signalCode, stdout, stderr }),
          )
        })
        // Killed at the timeout would mean the idle writer kept the process alive.
        assert.deepEqual(result, { code: 0, signal: null, stdout: 'written\n', stderr: '' })
        assert.deepEqual(await storedAccessRecords(opened.store), [record])
      } finally {
        await opened.drop()
      }
    })

    test('the worker does not migrate: on an empty database it starts, and its inserts fail', async () => {
      const opened = await backend.open({ migrate: false })
      const { logger } = capturedLogger()
      const writer = await writerFor(opened, logger)
      try {
        await assert.rejects(writer.insertAccessRecords([accessRecord(1)]), (error) => {
          assert.ok(error instanceof FlowgateError)
          assert.match(error.detail ?? '', /^access-record worker: .*access_records/)
          return true
        })
        assert.equal(await opened.store.isMigrated(), false)
      } finally {
        await writer.close()
        await opened.drop()
      }
    })
  })
}

describe('access records through the worker, SQLite locked', () => {
  test('while the store is unavailable the whole group is refused, each batch answered', async () => {
    const opened = await storeBackends()[0]!.open()
    const { logger } = capturedLogger()
    const writer = await writerFor(opened, logger)
    // Another process's write transaction holds the lock past the worker's busy timeout.
    const holder = new BetterSqlite3(join(opened.dataDir, 'flowgate.db'))
    sqliteConnections.push(holder)
    holder.exec('begin immediate')
    try {
      const started = Date.now()
      const answers = await Promise.allSettled([
        writer.insertAccessRecords([accessRecord(1)]),
        writer.insertAccessRecords([accessRecord(2)]),
      ])
      assert.deepEqual(
        answers.map((answer) =>
          answer.status === 'rejected' && answer.reason instanceof FlowgateError
            ? answer.reason.code
            : answer,
        ),
        ['ERR_STORE_UNAVAILABLE', 'ERR_STORE_UNAVAILABLE'],
      )
      // One busy timeout (5 s) for the group, not one more for each batch written again alone.
      assert.ok(Date.now() - started < 9000, 'the group is refused whole, not retried batch by batch')
      holder.exec('rollback')
      await writer.insertAccessRecords([accessRecord(3)])
      assert.deepEqual(await storedAccessRecords(opened.store), [accessRecord(3)])
    } finally {
      if (holder.inTransaction) holder.exec('rollback')
      holder.close()
      await writer.close()
      await opened.drop()
    }
  })
})

describe('access-record writer start', () => {
  test('fails clearly when the worker cannot open SQLite', async () => {
    const opened = await storeBackends()[0]!.open()
    const notADirectory = join(opened.dataDir, 'file')
    writeFileSync(notADirectory, '')
    try {
      await assert.rejects(
        startAccessRecordWriter({
          store: { url: '', dataDir: join(notADirectory, 'data') },
          logger: capturedLogger().logger,
        }),
        (error) => {
          assert.ok(error instanceof FlowgateError)
          assert.equal(error.code, 'ERR_STORE_UNAVAILABLE')
          assert.match(
            error.detail ?? '',
            /^access-record worker: cannot open SQLite database .*\/file\/data\/flowgate\.db: /,
          )
          return true
        },
      )
    } finally {
      await opened.drop()
    }
  })

  test('its options are checked before a worker starts', async () => {
    const store = { url: '', dataDir: '/nonexistent' }
    const logger = capturedLogger().logger
    await assert.rejects(startAccessRecordWriter({ store, logger, commitIntervalMs: -1 }), {
      name: 'TypeError',
      message: 'access-record writer commitIntervalMs must be an integer >= 0',
    })
    await assert.rejects(startAccessRecordWriter({ store, logger, maxBatchesPerCommit: 0 }), {
      name: 'TypeError',
      message: 'access-record writer maxBatchesPerCommit must be an integer >= 1',
    })
  })

  test('fails clearly when the worker cannot reach PostgreSQL', async () => {
    const { logger, lines } = capturedLogger()
    await assert.rejects(
      startAccessRecordWriter({
        store: { url: postgresDatabaseUrl('flowgate_test_no_such_database'), dataDir: '', poolSize: 1 },
        logger,
      }),
      (error) => {
        assert.ok(error instanceof FlowgateError)
        assert.equal(error.code, 'ERR_STORE_UNAVAILABLE')
        assert.match(error.detail ?? '', /^access-record worker: .*flowgate_test_no_such_database/)
        return true
      },
    )
    assert.ok(
      lines().every((line) => !JSON.stringify(line).includes('password')),
      'no credentials logged',
    )
  })
})

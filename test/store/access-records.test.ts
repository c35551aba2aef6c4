import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, test } from 'node:test'
import { sql } from 'kysely'
import { Migrator } from 'kysely/migration'
import { encodeAccessRecords } from '../../src/store/access-record-batch.ts'
import { blockOfRecords } from '../../src/store/migrations/frozen/access-record-block-v1.ts'
import {
  migrationLockTable,
  migrationProvider,
  migrationTable,
} from '../../src/store/migrations/migrations.ts'
import { openPostgresDatabase } from '../../src/store/postgres/postgres-database.ts'
import { openSqliteDatabase } from '../../src/store/sqlite/sqlite-database.ts'
import type { AccessRecord, Store } from '../../src/store/types.ts'
import { type OpenedBackend, storeBackends } from '../helpers/databases.ts'
import { accessRecord, frozen, rejectsWith } from './store-fixtures.ts'

for (const backend of storeBackends()) {
  describe(`access records on ${backend.name}`, () => {
    let opened: OpenedBackend
    let store: Store
    let clock = frozen

    beforeEach(async () => {
      clock = frozen
      opened = await backend.open({ now: () => clock })
      store = opened.store
    })
    afterEach(async () => {
      await opened.drop()
    })

    test('access records: 10,000 in one call, newest first, filters, cursor paging, retention', async () => {
      const records = Array.from({ length: 10_000 }, (_, index) => accessRecord(index))
      await store.insertAccessRecords(records)
      await store.insertAccessRecords([])
      const newest = await store.queryAccessRecords({ limit: 3 })
      // Same millisecond: the later insert comes first.
      assert.deepEqual(newest.items, [records[9999], records[9998], records[9997]])
      assert.ok(newest.next !== null)

      const seen: AccessRecord[] = []
      let cursor: string | null = null
      do {
        const page: Awaited<ReturnType<Store['queryAccessRecords']>> = await store.queryAccessRecords({
          limit: 1000,
          cursor,
        })
        seen.push(...page.items)
        cursor = page.next
      } while (cursor !== null)
      assert.equal(seen.length, 10_000)
      assert.deepEqual(seen, [...records].reverse())

      const filtered = await store.queryAccessRecords({
        clientId: 'client-even',
        flow: '/five',
        status: 200,
        from: frozen + 10,
        to: frozen + 40,
        limit: 1000,
      })
      const expected = records
        .filter(
          (record) =>
            record.clientId === 'client-even' &&
            record.flow === '/five' &&
            record.status === 200 &&
            record.time >= frozen + 10 &&
            record.time < frozen + 40,
        )
        .reverse()
      assert.ok(expected.length > 0)
      assert.deepEqual(filtered, { items: expected, next: null })
      await rejectsWith(
        store.queryAccessRecords({
          cursor: (await store.listAuditEvents({ limit: 1 })).next ?? 'eyJsIjoiYXVkaXQiLCJwIjpbMV19',
        }),
        'ERR_VALIDATION',
        'invalid cursor',
      )

      assert.equal(await store.deleteAccessRecordsBefore(frozen + 1000), 3000)
      const left = await store.queryAccessRecords({ from: 0, limit: 1, cursor: null })
      assert.deepEqual(left.items, [records[9999]])
      assert.equal(await store.deleteAccessRecordsBefore(frozen + 1000), 0)
      assert.equal(await store.latestChange(), 0)
    })

    test('access records: a batch is written whole or not at all', async () => {
      const before = await store.queryAccessRecords({ limit: 1000 })
      const good = accessRecord(20_001)
      // NOT NULL violated by the second record: the first must not stay behind.
      const bad = { ...accessRecord(20_002), method: null } as unknown as AccessRecord
      await assert.rejects(store.insertAccessRecords([good, bad]))
      assert.deepEqual(await store.queryAccessRecords({ limit: 1000 }), before)
      await store.insertAccessRecords([good])
      assert.deepEqual((await store.queryAccessRecords({ limit: 1 })).items, [good])
    })

    test('access records: the batches of one call are written together or not at all', async () => {
      const batches = [[accessRecord(30_001)], [accessRecord(30_002), accessRecord(30_003)]]
      // A batch that is malformed is refused before anything is written.
      const malformed = { text: '', numbers: new Float64Array(16).fill(Number.NaN) }
      await assert.rejects(
        store.insertAccessRecordBatches([encodeAccessRecords(batches[0] ?? []), malformed]),
        { name: 'TypeError', message: 'encoded access records: record 0 lacks field 0' },
      )
      assert.deepEqual(await store.queryAccessRecords({}), { items: [], next: null })

      // A database error part-way (the last row is refused) rolls back the rows written before it.
      const { db, dialect } =
        opened.url === ''
          ? openSqliteDatabase(opened.dataDir)
          : await openPostgresDatabase({ url: opened.url, poolSize: 1 })
      try {
        if (opened.url === '') {
          await sql`create trigger refuse before insert on access_records when new.correlation_id = 'c-30003' begin select raise(abort, 'refused'); end`.execute(
            db,
          )
        } else {
          await sql`alter table access_records add constraint refuse check (correlation_id <> 'c-30003')`.execute(
            db,
          )
        }
        await assert.rejects(
          store.insertAccessRecordBatches(batches.map((batch) => encodeAccessRecords(batch))),
        )
        if (opened.url === '') await sql`drop trigger refuse`.execute(db)
        else await sql`alter table access_records drop constraint refuse`.execute(db)
      } finally {
        await db.destroy()
        await dialect.close(db)
      }
      assert.deepEqual(await store.queryAccessRecords({}), { items: [], next: null })

      await store.insertAccessRecordBatches(batches.map((batch) => encodeAccessRecords(batch)))
      const written = [accessRecord(30_003), accessRecord(30_002), accessRecord(30_001)]
      assert.deepEqual(await store.queryAccessRecords({}), { items: written, next: null })
      assert.deepEqual(await store.queryAccessRecords({ clientId: 'client-odd' }), {
        items: [accessRecord(30_003), accessRecord(30_001)],
        next: null,
      })
      await store.insertAccessRecordBatches([])
      assert.deepEqual(await store.queryAccessRecords({}), { items: written, next: null })
    })

    test('access records: every filter and retention reads through an index', async () => {
      const { db, dialect } =
        opened.url === ''
          ? openSqliteDatabase(opened.dataDir)
          : await openPostgresDatabase({ url: opened.url, poolSize: 1 })
      const newest = sql`order by time desc, id desc limit 101`
      const statements: Array<[ReturnType<typeof sql>, RegExp]> = [
        [sql`select * from access_records ${newest}`, /access_records_time/],
        [sql`select * from access_records where client_id = ${'c'} ${newest}`, /access_records_client/],
        [sql`select * from access_records where flow = ${'/f'} ${newest}`, /access_records_flow/],
        [sql`select * from access_records where status = ${500} ${newest}`, /access_records_status/],
        [
          sql`select * from access_records where client_id = ${'c'} and time >= ${frozen} and time < ${frozen + 1000} and (time, id) < (${frozen + 10}, ${5}) ${newest}`,
          /access_records_client/,
        ],
        [
          sql`delete from access_records where id in (select id from access_records where time < ${frozen} limit 2000)`,
          /access_records_time/,
        ],
      ]
      try {
        const plans = await db.connection().execute(async (connection) => {
          if (opened.url !== '') {
            // A table this small is scanned whatever its indexes; what matters is that one is there to use.
            await sql`set enable_seqscan = off`.execute(connection)
          }
          const explained: string[] = []
          for (const [statement] of statements) {
            const { rows } =
              opened.url === ''
                ? await sql<Record<string, string>>`explain query plan ${statement}`.execute(connection)
                : await sql<Record<string, string>>`explain ${statement}`.execute(connection)
            explained.push(rows.map((row) => row.detail ?? row['QUERY PLAN']).join(' / '))
          }
          return explained
        })
        statements.forEach(([, index], n) => {
          assert.match(plans[n] ?? '', index)
          assert.doesNotMatch(
            plans[n] ?? '',
            /(^|\/ )SCAN access_records( \/|$)|Seq Scan|USE TEMP B-TREE|Sort/,
          )
        })
      } finally {
        await db.destroy()
        await dialect.close(db)
      }
    })

    test('access records: batches that overlap in time come back merged, newest first, ties in write order', async () => {
      const at = (offset: number, index: number): AccessRecord => ({
        ...accessRecord(index),
        time: frozen + offset,
      })
      // The first two batches are written in one call; their time spans overlap, and times repeat
      // across and within batches.
      const first = [at(5, 1), at(1, 2), at(3, 3), at(3, 4)]
      const second = [at(4, 5), at(3, 6), at(6, 7)]
      const third = [at(2, 8), at(5, 9)]
      await store.insertAccessRecordBatches([encodeAccessRecords(first), encodeAccessRecords(second)])
      await store.insertAccessRecords(third)
      const expected = [
        at(6, 7),
        at(5, 9),
        at(5, 1),
        at(4, 5),
        at(3, 6),
        at(3, 4),
        at(3, 3),
        at(2, 8),
        at(1, 2),
      ]
      assert.deepEqual(await store.queryAccessRecords({}), { items: expected, next: null })
      for (const limit of [1, 2, 4]) {
        const seen: AccessRecord[] = []
        let cursor: string | null = null
        do {
          const page: Awaited<ReturnType<Store['queryAccessRecords']>> = await store.queryAccessRecords({
            limit,
            cursor,
          })
          assert.ok(page.items.length <= limit)
          seen.push(...page.items)
          cursor = page.next
        } while (cursor !== null)
        assert.deepEqual(seen, expected, `pages of ${limit}`)
      }
      assert.deepEqual(await store.queryAccessRecords({ from: frozen + 3, to: frozen + 5 }), {
        items: [at(4, 5), at(3, 6), at(3, 4), at(3, 3)],
        next: null,
      })
      // accessRecord(index): client-even for even indexes, status 403 for multiples of 7.
      const firstEven = await store.queryAccessRecords({ clientId: 'client-even', limit: 2 })
      assert.deepEqual(firstEven.items, [at(3, 6), at(3, 4)])
      assert.deepEqual(
        await store.queryAccessRecords({ clientId: 'client-even', limit: 2, cursor: firstEven.next }),
        { items: [at(2, 8), at(1, 2)], next: null },
      )
      const even = await store.queryAccessRecords({ clientId: 'client-even' })
      assert.deepEqual(even, { items: [at(3, 6), at(3, 4), at(2, 8), at(1, 2)], next: null })
      assert.deepEqual(await store.queryAccessRecords({ status: 403 }), { items: [at(6, 7)], next: null })
      assert.deepEqual(await store.queryAccessRecords({ status: 404 }), { items: [], next: null })
      assert.deepEqual(await store.queryAccessRecords({ flow: '/unknown' }), { items: [], next: null })
    })

    test('access records: retention deletes by time, keeps newer records and counts each record once', async () => {
      const at = (offset: number, index: number): AccessRecord => ({
        ...accessRecord(index),
        time: frozen + offset,
      })
      await store.insertAccessRecords([at(1, 1), at(10, 2), at(2, 3), at(20, 4)])
      await store.insertAccessRecords([at(30, 5)])
      assert.equal(await store.deleteAccessRecordsBefore(frozen + 5), 2)
      assert.deepEqual(await store.queryAccessRecords({}), {
        items: [at(30, 5), at(20, 4), at(10, 2)],
        next: null,
      })
      assert.deepEqual(await store.queryAccessRecords({ to: frozen + 15 }), {
        items: [at(10, 2)],
        next: null,
      })
      assert.equal(await store.deleteAccessRecordsBefore(frozen + 5), 0)
      assert.equal(await store.deleteAccessRecordsBefore(frozen + 15), 1)
      assert.equal(await store.deleteAccessRecordsBefore(frozen + 21), 1)
      assert.deepEqual(await store.queryAccessRecords({}), { items: [at(30, 5)], next: null })
      assert.deepEqual(await store.queryAccessRecords({ clientId: 'client-even' }), { items: [], next: null })
      assert.deepEqual(await store.queryAccessRecords({ clientId: 'client-odd' }), {
        items: [at(30, 5)],
        next: null,
      })
      assert.equal(await store.deleteAccessRecordsBefore(frozen + 31), 1)
      assert.deepEqual(await store.queryAccessRecords({}), { items: [], next: null })
    })

    test('access records: rows of the first schema survive every migration, blocks (0002) and back to rows (0004)', async () => {
      const unmigrated = await backend.open({ migrate: false, now: () => clock })
      try {
        const { db, dialect } =
          unmigrated.url === ''
            ? openSqliteDatabase(unmigrated.dataDir)
            : await openPostgresDatabase({ url: unmigrated.url, poolSize: 1 })
        // The first schema had no message-processing-log id.
        const records = Array.from({ length: 2500 }, (_, index) => ({ ...accessRecord(index), mplId: null }))
        try {
          const migrator = new Migrator({
            db,
            provider: migrationProvider(dialect.name),
            migrationTableName: migrationTable,
            migrationLockTableName: migrationLockTable,
          })
          assert.equal((await migrator.migrateTo('0001-initial')).error, undefined)
          // The rows as migration 0001's table held them, in an order that is not their time order.
          const rows = records.map((record) => ({
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
          }))
          const shuffled = [...rows.slice(1250), ...rows.slice(0, 1250)]
          for (let start = 0; start < shuffled.length; start += 500) {
            await db
              .insertInto('access_records' as never)
              .values(shuffled.slice(start, start + 500) as never)
              .execute()
          }
        } finally {
          await db.destroy()
          await dialect.close(db)
        }
        await unmigrated.store.migrate()
        const expected = [...records.slice(1250), ...records.slice(0, 1250)]
          .map((record, written) => ({ record, written }))
          .sort((a, b) => b.record.time - a.record.time || b.written - a.written)
          .map(({ record }) => record)
        const seen: AccessRecord[] = []
        let cursor: string | null = null
        do {
          const page: Awaited<ReturnType<Store['queryAccessRecords']>> =
            await unmigrated.store.queryAccessRecords({
              limit: 1000,
              cursor,
            })
          seen.push(...page.items)
          cursor = page.next
        } while (cursor !== null)
        assert.deepEqual(seen, expected)
        assert.deepEqual(
          await unmigrated.store.queryAccessRecords({ status: 403, from: frozen + 800, to: frozen + 810 }),
          {
            items: expected.filter(
              (r) => r.status === 403 && r.time >= frozen + 800 && r.time < frozen + 810,
            ),
            next: null,
          },
        )
        assert.equal(await unmigrated.store.deleteAccessRecordsBefore(frozen + 1000), 2500)
      } finally {
        await unmigrated.drop()
      }
    })

    test('access records: blocks (0002) become rows in write order, without what retention had cut off', async () => {
      const unmigrated = await backend.open({ migrate: false, now: () => clock })
      const at = (offset: number, index: number) => {
        const { mplId: _mplId, ...record } = { ...accessRecord(index), time: frozen + offset }
        return record
      }
      // Two blocks that overlap in time; retention had cut the first at frozen + 3.
      const first = [at(1, 1), at(5, 2), at(3, 3), at(2, 4)]
      const second = [at(4, 5), at(5, 6)]
      try {
        const { db, dialect } =
          unmigrated.url === ''
            ? openSqliteDatabase(unmigrated.dataDir)
            : await openPostgresDatabase({ url: unmigrated.url, poolSize: 1 })
        try {
          const migrator = new Migrator({
            db,
            provider: migrationProvider(dialect.name),
            migrationTableName: migrationTable,
            migrationLockTableName: migrationLockTable,
          })
          assert.equal((await migrator.migrateTo('0003-access-record-blocks-first-time')).error, undefined)
          for (const [records, cutoff, removed] of [
            [first, frozen + 3, 2],
            [second, frozen + 4, 0],
          ] as const) {
            const block = blockOfRecords(records)
            await db
              .insertInto('access_record_blocks' as never)
              .values({
                first_time: block.firstTime,
                last_time: block.lastTime,
                record_count: block.count,
                cutoff,
                removed,
                records: block.data,
              } as never)
              .execute()
          }
        } finally {
          await db.destroy()
          await dialect.close(db)
        }
        await unmigrated.store.migrate()
        assert.deepEqual(await unmigrated.store.queryAccessRecords({}), {
          items: [at(5, 6), at(5, 2), at(4, 5), at(3, 3)].map((record) => ({ ...record, mplId: null })),
          next: null,
        })
      } finally {
        await unmigrated.drop()
      }
    })
  })
}

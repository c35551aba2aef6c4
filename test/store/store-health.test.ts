import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import type BetterSqlite3 from 'better-sqlite3'
import { sql } from 'kysely'
import { verifyAuditChain } from '../../src/audit/chain.ts'
import { FlowgateError } from '../../src/lib/errors.ts'
import { translateStoreError } from '../../src/store/error-translation.ts'
import { openStore } from '../../src/store/open-store.ts'
import { openPostgresDatabase } from '../../src/store/postgres/postgres-database.ts'
import { setSqliteConnectionHookForTests } from '../../src/store/sqlite/sqlite-database.ts'
import { capturedLogger } from '../helpers/captured-logger.ts'
import { postgresAdminUrl } from '../helpers/databases.ts'
import { proxiedPostgres } from '../helpers/tcp-proxy.ts'

const role = (name: string) => ({ name, description: 'x'.repeat(300), builtIn: false, createdAt: 1 })
const actor = { actor: 'test', sourceAddress: null }

/** A migrated SQLite store whose connection a test can limit with max_page_count. */
async function limitableStore(t: { after: (fn: () => unknown) => void }) {
  const dataDir = mkdtempSync(join(tmpdir(), 'flowgate-health-'))
  t.after(() => rmSync(dataDir, { recursive: true, force: true }))
  let connection: BetterSqlite3.Database | undefined
  setSqliteConnectionHookForTests((database) => {
    connection = database
  })
  const { logger, lines } = capturedLogger()
  const store = await openStore({ url: '', dataDir, logger }).finally(() =>
    setSqliteConnectionHookForTests(undefined),
  )
  t.after(() => store.close())
  await store.migrate()
  assert.ok(connection !== undefined)
  return { store, connection, lines, dataDir }
}

/** A role and its audit event, committed together. */
function createAudited(store: Awaited<ReturnType<typeof openStore>>, n: number): Promise<void> {
  return store.transaction(async (tx) => {
    await tx.createRole(role(`Fill.${n}`))
    await tx.appendAudit({ ...actor, action: 'role.create', target: `role:Fill.${n}` }, 1)
  })
}

/** Creates roles until one is refused; the database cannot grow after `pragma max_page_count = 1`. */
async function fill(store: Awaited<ReturnType<typeof openStore>>): Promise<{ error: unknown; n: number }> {
  for (let n = 0; n < 1000; n++) {
    try {
      await createAudited(store, n)
    } catch (error) {
      return { error, n }
    }
  }
  assert.fail('the database never filled up')
}

describe('store health', () => {
  test('max_page_count is a setting of one connection: a second connection to the same file is not limited', async (t) => {
    const { store, connection, dataDir } = await limitableStore(t)
    connection.exec('pragma max_page_count = 1')
    const { error, n } = await fill(store)
    assert.equal((error as FlowgateError).code, 'ERR_STORE_FULL')
    // What the limited connection could not write, another connection to the same file can.
    const other = await openStore({ url: '', dataDir })
    t.after(() => other.close())
    await createAudited(other, n)
    assert.equal((await store.getRole(`Fill.${n}`))?.name, `Fill.${n}`)
  })

  test('SQLite full: a transaction fails with ERR_STORE_FULL and its cause, not "cannot rollback"; the connection stays usable', async (t) => {
    const { store, connection, lines } = await limitableStore(t)
    const before = await verifyAuditChain(store.iterateAuditEvents())
    connection.exec('pragma max_page_count = 1')
    const { error, n } = await fill(store)
    assert.ok(error instanceof FlowgateError)
    assert.deepEqual(
      {
        code: error.code,
        status: error.status,
        headers: error.headers,
        cause: (error.cause as { code?: string }).code,
      },
      { code: 'ERR_STORE_FULL', status: 503, headers: { 'retry-after': '60' }, cause: 'SQLITE_FULL' },
    )
    assert.equal(connection.inTransaction, false)
    // Reads go on; the next write is refused the same way; logged once.
    assert.equal((await store.getRole('Fill.0'))?.name, 'Fill.0')
    await assert.rejects(createAudited(store, n), { code: 'ERR_STORE_FULL' })
    assert.equal(await store.health(), 'full')
    assert.deepEqual(
      lines().map(({ level, code, msg }) => ({ level, code, msg })),
      [
        {
          level: 50,
          code: 'ERR_STORE_FULL',
          msg: 'store out of space: changes are refused (503 ERR_STORE_FULL) until space is freed; tokens and runtime calls continue',
        },
      ],
    )
    // Space again: the probe writes, the store is healthy, and nothing committed was lost.
    connection.exec('pragma max_page_count = 1073741823')
    assert.equal(await store.health(), 'ok')
    assert.equal(lines().at(-1)?.msg, 'store available again')
    await store.createRole(role('Fill.after'))
    const after = await verifyAuditChain(store.iterateAuditEvents())
    assert.equal(after.ok, true)
    assert.ok(after.count > before.count)
    const roles = (await store.listRoles()).filter((entry) => entry.name.startsWith('Fill.'))
    assert.equal(roles.length, after.count - before.count + 1)
  })

  test('PostgreSQL: SQLSTATE 53100 disk_full is ERR_STORE_FULL; other class 53 errors stay ERR_STORE_UNAVAILABLE', async () => {
    const { db, dialect } = await openPostgresDatabase({ url: postgresAdminUrl, poolSize: 1 })
    try {
      const diskFull = Object.assign(new Error('could not extend file: No space left on device'), {
        code: '53100',
      })
      const tooMany = Object.assign(new Error('sorry, too many clients already'), { code: '53300' })
      const full = translateStoreError(dialect, diskFull) as FlowgateError
      const busy = translateStoreError(dialect, tooMany) as FlowgateError
      assert.deepEqual(
        [full.code, full.status, full.headers, busy.code, busy.status],
        ['ERR_STORE_FULL', 503, { 'retry-after': '60' }, 'ERR_STORE_UNAVAILABLE', 503],
      )
    } finally {
      // Kysely ends the pool only once it has used it.
      await sql`select 1`.execute(db)
      await db.destroy()
    }
  })

  test('PostgreSQL: a connection lost inside a transaction fails with ERR_STORE_UNAVAILABLE, not the failed ROLLBACK', async (t) => {
    const { opened, proxy, url: proxied } = await proxiedPostgres(t)
    const { logger, lines } = capturedLogger()
    const store = await openStore({ url: proxied, dataDir: '', poolSize: 1, logger })
    t.after(() => store.close())
    await assert.rejects(
      store.transaction(async (tx) => {
        await tx.getRole('ESBMessaging.send')
        await proxy.cut()
        await tx.createRole(role('Custom.Lost'))
      }),
      (error: FlowgateError) => {
        assert.equal(error.code, 'ERR_STORE_UNAVAILABLE')
        return true
      },
    )
    assert.equal(await store.health(), 'unavailable')
    await proxy.restore()
    assert.equal(await store.health(), 'ok')
    assert.equal(await opened.store.getRole('Custom.Lost'), undefined)
    assert.deepEqual(
      lines().map(({ level, msg }) => ({ level, msg })),
      [
        {
          level: 50,
          msg: 'store unavailable: changes are refused (503 ERR_STORE_UNAVAILABLE) until it is back; tokens and runtime calls continue from memory',
        },
        { level: 40, msg: 'store available again' },
      ],
    )
  })
})

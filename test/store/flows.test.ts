import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, test } from 'node:test'
import { Migrator } from 'kysely/migration'
import {
  migrationLockTable,
  migrationProvider,
  migrationTable,
} from '../../src/store/migrations/migrations.ts'
import { openPostgresDatabase } from '../../src/store/postgres/postgres-database.ts'
import { openSqliteDatabase } from '../../src/store/sqlite/sqlite-database.ts'
import type { Store } from '../../src/store/types.ts'
import { type OpenedBackend, storeBackends } from '../helpers/databases.ts'
import { changesAfter, connection, flow, frozen, rejectsWith } from './store-fixtures.ts'

for (const backend of storeBackends()) {
  describe(`flows and upstream connections on ${backend.name}`, () => {
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

    test('connections and flows: CRUD, references, uniqueness, change rows', async () => {
      const mark = await store.latestChange()
      const cpi = connection()
      const open = connection({ name: 'Anon', type: 'none', settings: {}, secretEncrypted: null })
      await store.createConnection(cpi)
      await store.createConnection(open)
      assert.deepEqual(await store.listConnections(), [open, cpi])
      assert.deepEqual(await store.getConnection('cpi'), cpi)
      assert.equal(await store.getConnection('absent'), undefined)
      await rejectsWith(
        store.createConnection(cpi),
        'ERR_ALREADY_EXISTS',
        'upstream connection cpi already exists',
      )
      const changed = {
        ...cpi,
        type: 'oauth2-client-credentials' as const,
        settings: { tokenUrl: 'https://t' },
        updatedAt: frozen + 1,
      }
      await store.updateConnection(changed)
      assert.deepEqual(await store.getConnection('cpi'), changed)
      await rejectsWith(
        store.updateConnection(connection({ name: 'absent' })),
        'ERR_NOT_FOUND',
        'upstream connection not found',
      )

      const orders = flow({ connection: 'cpi' })
      const wildcard = flow({ id: 'f-2', address: '/b2b/*', methods: ['PUT'], csrf: false, maxBodyBytes: 0 })
      await store.createFlow(orders)
      await store.createFlow(wildcard)
      assert.deepEqual(await store.getFlow('f-1'), orders)
      assert.deepEqual(await store.getFlowByAddress('/b2b/*'), wildcard)
      assert.equal(await store.getFlow('absent'), undefined)
      assert.equal(await store.getFlowByAddress('/absent'), undefined)
      assert.deepEqual(await store.listFlows(), [wildcard, orders])
      await rejectsWith(
        store.createFlow(flow({ id: 'f-3' })),
        'ERR_ALREADY_EXISTS',
        'a flow already has the address /orders',
      )
      await rejectsWith(
        store.createFlow(flow({ id: 'f-3', address: '/x', role: 'Unknown.role' })),
        'ERR_UNKNOWN_ROLE',
        'unknown role Unknown.role',
      )
      await rejectsWith(
        store.createFlow(flow({ id: 'f-3', address: '/x', connection: 'absent' })),
        'ERR_UNKNOWN_CONNECTION',
        'unknown upstream connection absent',
      )
      await rejectsWith(
        store.updateFlow({ ...wildcard, address: '/orders' }),
        'ERR_ALREADY_EXISTS',
        'a flow already has the address /orders',
      )
      await rejectsWith(
        store.updateFlow(flow({ id: 'absent', address: '/new' })),
        'ERR_NOT_FOUND',
        'flow not found',
      )
      await rejectsWith(
        store.deleteConnection('cpi'),
        'ERR_CONFLICT',
        'upstream connection cpi is used by flow /orders',
      )

      const moved = {
        ...orders,
        connection: 'Anon',
        upstream: 'https://cpi2.example.com/x',
        updatedAt: frozen + 2,
      }
      await store.updateFlow(moved)
      assert.deepEqual(await store.getFlow('f-1'), moved)
      assert.equal(await store.deleteConnection('cpi'), true)
      assert.equal(await store.deleteConnection('cpi'), false)
      assert.equal(await store.deleteFlow('f-2'), true)
      assert.equal(await store.deleteFlow('f-2'), false)
      assert.deepEqual(await store.listFlows(), [moved])
      assert.deepEqual(await store.listConnections(), [open])
      assert.deepEqual(await changesAfter(store, mark), [
        ['connection', 'cpi', frozen],
        ['connection', 'Anon', frozen],
        ['connection', 'cpi', frozen],
        ['flow', 'f-1', frozen],
        ['flow', 'f-2', frozen],
        ['flow', 'f-1', frozen],
        ['connection', 'cpi', frozen],
        ['flow', 'f-2', frozen],
      ])
    })

    test('a flow keeps its request-header policy; flows stored before migration 0005 keep the deny-list', async () => {
      const allowList = flow({
        requestHeaders: { mode: 'allow-list', allow: ['sap_applicationid', 'x-custom'] },
      })
      await store.createFlow(allowList)
      assert.deepEqual(await store.getFlow('f-1'), allowList)
      const emptyList = {
        ...allowList,
        requestHeaders: { mode: 'allow-list', allow: [] },
        updatedAt: frozen + 1,
      } as const
      await store.updateFlow(emptyList)
      assert.deepEqual(await store.listFlows(), [emptyList])
      const denyList = { ...allowList, requestHeaders: { mode: 'deny-list' }, updatedAt: frozen + 2 } as const
      await store.updateFlow(denyList)
      assert.deepEqual(await store.getFlowByAddress('/orders'), denyList)

      const unmigrated = await backend.open({ migrate: false, now: () => clock })
      try {
        const { db, dialect } =
          unmigrated.url === ''
            ? openSqliteDatabase(unmigrated.dataDir)
            : await openPostgresDatabase({ url: unmigrated.url, poolSize: 1 })
        const { requestHeaders: _policy, ...before } = flow()
        try {
          const migrator = new Migrator({
            db,
            provider: migrationProvider(dialect.name),
            migrationTableName: migrationTable,
            migrationLockTableName: migrationLockTable,
          })
          assert.equal((await migrator.migrateTo('0004-access-record-rows')).error, undefined)
          // The row as migration 0001's flows table held it.
          await db
            .insertInto('flows' as never)
            .values({
              id: before.id,
              address: before.address,
              upstream: before.upstream,
              role: before.role,
              methods: JSON.stringify(before.methods),
              csrf: dialect.boolean(before.csrf),
              max_body_bytes: before.maxBodyBytes,
              timeout_ms: before.timeoutMs,
              connection: before.connection,
              created_at: before.createdAt,
              updated_at: before.updatedAt,
            } as never)
            .execute()
        } finally {
          await db.destroy()
          await dialect.close(db)
        }
        await unmigrated.store.migrate()
        assert.deepEqual(await unmigrated.store.listFlows(), [
          { ...before, requestHeaders: { mode: 'deny-list' } },
        ])
      } finally {
        await unmigrated.drop()
      }
    })
  })
}

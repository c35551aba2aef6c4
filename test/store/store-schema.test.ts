import assert from 'node:assert/strict'
import { createServer, type Socket, connect as tcpConnect } from 'node:net'
import { afterEach, beforeEach, describe, test } from 'node:test'
import { FlowgateError } from '../../src/lib/errors.ts'
import { openStore } from '../../src/store/open-store.ts'
import type { Store } from '../../src/store/types.ts'
import { type OpenedBackend, postgresDatabaseUrl, storeBackends } from '../helpers/databases.ts'
import { frozen, migrateInChild, rejectsWith } from './store-fixtures.ts'

for (const backend of storeBackends()) {
  describe(`the schema on ${backend.name}`, () => {
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

    test('dialect, ping and a migrated schema with the built-in roles', async () => {
      assert.equal(store.dialect, backend.name)
      await store.ping()
      assert.equal(await store.isMigrated(), true)
      const roles = await store.listRoles()
      assert.deepEqual(
        roles.map(({ createdAt: _createdAt, ...role }) => role),
        [
          {
            name: 'ESBMessaging.send',
            description: 'Call integration flows through the runtime URL',
            builtIn: true,
          },
          {
            name: 'Flowgate.Admin',
            description: 'Read and change everything through the admin API',
            builtIn: true,
          },
          {
            name: 'Flowgate.Viewer',
            description: 'Read everything through the admin API, change nothing',
            builtIn: true,
          },
        ],
      )
      for (const role of roles) assert.equal(typeof role.createdAt, 'number')
      assert.equal(await store.latestChange(), 0)
    })

    test('migrations: not applied until migrate(), idempotent, safe when processes migrate at once', async () => {
      const fresh = await backend.open({ migrate: false })
      try {
        assert.equal(await fresh.store.isMigrated(), false)
        // Separate processes, as a gateway and `flowgate init` would be: SQLite's file lock and
        // PostgreSQL's advisory lock must both serialise them.
        const results = await Promise.all([
          migrateInChild(fresh),
          migrateInChild(fresh),
          migrateInChild(fresh),
        ])
        assert.deepEqual(results, [
          { code: 0, output: 'migrated\n' },
          { code: 0, output: 'migrated\n' },
          { code: 0, output: 'migrated\n' },
        ])
        assert.equal(await fresh.store.isMigrated(), true)
        await Promise.all([fresh.store.migrate(), fresh.store.migrate()])
        assert.deepEqual(
          (await fresh.store.listRoles()).map((role) => role.name),
          ['ESBMessaging.send', 'Flowgate.Admin', 'Flowgate.Viewer'],
        )
      } finally {
        await fresh.drop()
      }
    })
  })
}

describe('opening stores', () => {
  test('an unreachable PostgreSQL fails with ERR_STORE_UNAVAILABLE and no password anywhere', async () => {
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const { port } = closed.address() as { port: number }
    await new Promise<void>((resolve) => closed.close(() => resolve()))
    const url = `postgres://flowgate:s3cr3t-pw@127.0.0.1:${port}/flowgate`
    await assert.rejects(openStore({ url, dataDir: '' }), (error: unknown) => {
      assert.ok(error instanceof FlowgateError)
      assert.equal(error.code, 'ERR_STORE_UNAVAILABLE')
      assert.equal(error.message, 'store unavailable')
      assert.match(
        error.detail ?? '',
        new RegExp(
          `^cannot connect to PostgreSQL at postgres://flowgate:\\*\\*\\*@127\\.0\\.0\\.1:${port}/flowgate: `,
        ),
      )
      assert.doesNotMatch(JSON.stringify(error), /s3cr3t/)
      assert.doesNotMatch(String(error.stack), /s3cr3t/)
      return true
    })
  })

  test('ping fails with ERR_STORE_UNAVAILABLE once PostgreSQL becomes unreachable', async () => {
    const backend = storeBackends().find((candidate) => candidate.name === 'postgres')
    assert.ok(backend)
    const opened = await backend.open({ migrate: false })
    // A loopback relay in front of PostgreSQL that can be cut, as a network failure would.
    const target = new URL(opened.url)
    const sockets = new Set<Socket>()
    const relay = createServer((client) => {
      const upstream = tcpConnect(Number(target.port || 5432), target.hostname)
      sockets.add(client).add(upstream)
      client.pipe(upstream).pipe(client)
      client.on('error', () => upstream.destroy())
      upstream.on('error', () => client.destroy())
    })
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve))
    const { port } = relay.address() as { port: number }
    const relayed = new URL(postgresDatabaseUrl(target.pathname.slice(1)))
    relayed.port = String(port)
    relayed.password = 'pw-not-needed'
    const store = await openStore({ url: relayed.toString(), dataDir: '', poolSize: 1 })
    try {
      await store.ping()
      const closed = new Promise<void>((resolve) => relay.close(() => resolve()))
      for (const socket of sockets) socket.destroy()
      await closed
      await assert.rejects(store.ping(), (error: unknown) => {
        assert.ok(error instanceof FlowgateError)
        assert.equal(error.code, 'ERR_STORE_UNAVAILABLE')
        assert.equal(error.message, 'store unavailable')
        assert.doesNotMatch(JSON.stringify(error), /pw-not-needed/)
        return true
      })
      await assert.rejects(store.listRoles(), (error: unknown) => {
        assert.ok(error instanceof FlowgateError)
        assert.equal(error.code, 'ERR_STORE_UNAVAILABLE')
        return true
      })
    } finally {
      await store.close()
      await opened.drop()
    }
  })

  test('options are checked before anything is opened', async () => {
    await rejectsWith(
      openStore({ url: 'mysql://root:hunter2@db/flowgate', dataDir: '/tmp' }),
      'ERR_CONFIG_INVALID',
      'invalid configuration: store.url must be empty (SQLite) or a postgres:// URL, not mysql://root:***@db/flowgate',
    )
    await rejectsWith(
      openStore({ url: '', dataDir: '/tmp', poolSize: 0 }),
      'ERR_CONFIG_INVALID',
      'invalid configuration: store.poolSize must be an integer from 1 to 100',
    )
    await rejectsWith(
      openStore({ url: '', dataDir: '' }),
      'ERR_CONFIG_INVALID',
      'invalid configuration: dataDir must be set for the embedded SQLite store',
    )
  })
})

import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { afterEach, beforeEach, describe, test } from 'node:test'
import { createLogger } from '../../src/lib/logger.ts'
import { startStoreMaintenance } from '../../src/store/store-maintenance.ts'
import type { Store } from '../../src/store/types.ts'
import { type OpenedBackend, storeBackends } from '../helpers/databases.ts'
import { frozen } from './store-fixtures.ts'

const logger = createLogger('silent', new Writable({ write: (_chunk, _encoding, done) => done() }))
const windowMs = 60_000

for (const backend of storeBackends()) {
  describe(`store maintenance on ${backend.name}`, () => {
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

    test('change rows and revoked tokens older than the window go; newer ones stay', async () => {
      const role = (name: string) => ({ name, description: null, builtIn: false, createdAt: frozen })
      const token = (jti: string, expiresAt: number) => ({ jti, clientId: 'c', expiresAt, revokedAt: frozen })
      // Written at `frozen`, and a window and more later.
      await store.createRole(role('Old.a'))
      await store.revokeToken(token('expired-long-ago', frozen + 1000))
      clock = frozen + 2 * windowMs
      await store.createRole(role('New.b'))
      await store.revokeToken(token('expired-recently', clock - 1000))
      await store.revokeToken(token('valid', clock + windowMs))

      const maintenance = startStoreMaintenance({
        store,
        logger,
        windowMs,
        intervalMs: 600_000,
        now: () => clock,
      })
      try {
        assert.deepEqual(await maintenance.runOnce(), { changes: 2, revokedTokens: 1 })
        assert.deepEqual(
          (await store.changesSince(0)).map((change) => [change.kind, change.entityId, change.time]),
          [
            ['role', 'New.b', clock],
            ['revoked-token', 'expired-recently', clock],
            ['revoked-token', 'valid', clock],
          ],
        )
        assert.equal(await store.getRevokedToken('expired-long-ago'), undefined)
        assert.notEqual(await store.getRevokedToken('expired-recently'), undefined)
        assert.notEqual(await store.getRevokedToken('valid'), undefined)
        // Nothing more to prune at the same time; the newest change row is never pruned.
        assert.deepEqual(await maintenance.runOnce(), { changes: 0, revokedTokens: 0 })
        clock += 10 * windowMs
        assert.deepEqual(await maintenance.runOnce(), { changes: 2, revokedTokens: 2 })
        assert.deepEqual(
          (await store.changesSince(0)).map((change) => change.entityId),
          ['valid'],
        )
      } finally {
        await maintenance.stop()
      }
    })
  })
}

test('store maintenance: options are checked, and a failing run is logged and counts nothing', async () => {
  const failing = {
    deleteChangesBefore: async () => {
      throw new Error('database went away')
    },
    pruneRevokedTokens: async () => 0,
  }
  assert.throws(() => startStoreMaintenance({ store: failing, logger, windowMs: 0 }), {
    name: 'RangeError',
    message: 'windowMs must be a positive integer',
  })
  const maintenance = startStoreMaintenance({ store: failing, logger })
  assert.deepEqual(await maintenance.runOnce(), { changes: 0, revokedTokens: 0 })
  await maintenance.stop()
})

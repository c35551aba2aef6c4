import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, test } from 'node:test'
import type { RevokedToken, Store } from '../../src/store/types.ts'
import { type OpenedBackend, storeBackends } from '../helpers/databases.ts'
import { changesAfter, frozen, rejectsWith, signingKey } from './store-fixtures.ts'

for (const backend of storeBackends()) {
  describe(`signing keys and revoked tokens on ${backend.name}`, () => {
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

    test('signing keys: insert, list by creation, update, delete, duplicates, change rows', async () => {
      const active = signingKey()
      const next = signingKey({ kid: 'kid-0', state: 'next', createdAt: frozen + 1, activatedAt: null })
      await store.insertSigningKey(next)
      await store.insertSigningKey(active)
      assert.deepEqual(await store.listSigningKeys(), [active, next])
      await rejectsWith(
        store.insertSigningKey(active),
        'ERR_ALREADY_EXISTS',
        'signing key kid-1 already exists',
      )
      const retired = {
        ...active,
        state: 'retired' as const,
        retiredAt: frozen + 9,
        publishUntil: frozen + 99,
      }
      await store.updateSigningKey(retired)
      await rejectsWith(
        store.updateSigningKey(signingKey({ kid: 'absent' })),
        'ERR_NOT_FOUND',
        'signing key not found',
      )
      assert.deepEqual(await store.listSigningKeys(), [retired, next])
      assert.equal(await store.deleteSigningKey('kid-1'), true)
      assert.equal(await store.deleteSigningKey('kid-1'), false)
      assert.deepEqual(await store.listSigningKeys(), [next])
      assert.deepEqual(await changesAfter(store, 0), [
        ['signing-key', 'kid-0', frozen],
        ['signing-key', 'kid-1', frozen],
        ['signing-key', 'kid-1', frozen],
        ['signing-key', 'kid-1', frozen],
      ])
    })

    test('revoked tokens: idempotent revoke, unexpired listing, lookup, pruning without change rows', async () => {
      const early: RevokedToken = {
        jti: 'j-early',
        clientId: 'c1',
        expiresAt: frozen + 10,
        revokedAt: frozen,
      }
      const late: RevokedToken = {
        jti: 'j-late',
        clientId: 'c2',
        expiresAt: frozen + 1000,
        revokedAt: frozen + 1,
      }
      await store.revokeToken(early)
      await store.revokeToken(late)
      await store.revokeToken({ ...early, revokedAt: frozen + 500 })
      assert.deepEqual(await store.getRevokedToken('j-early'), early)
      assert.equal(await store.getRevokedToken('absent'), undefined)
      assert.deepEqual(await store.listRevokedTokens(frozen), [early, late])
      assert.deepEqual(await store.listRevokedTokens(frozen + 10), [late])
      assert.equal(await store.pruneRevokedTokens(frozen + 11), 1)
      assert.equal(await store.pruneRevokedTokens(frozen + 11), 0)
      assert.equal(await store.getRevokedToken('j-early'), undefined)
      assert.deepEqual(await store.listRevokedTokens(0), [late])
      assert.deepEqual(await changesAfter(store, 0), [
        ['revoked-token', 'j-early', frozen],
        ['revoked-token', 'j-late', frozen],
      ])
    })
  })
}

import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, test } from 'node:test'
import { verifyAuditChain } from '../../src/audit/chain.ts'
import type { Store } from '../../src/store/types.ts'
import { type OpenedBackend, storeBackends } from '../helpers/databases.ts'
import { drain, frozen, rejectsWith } from './store-fixtures.ts'

for (const backend of storeBackends()) {
  describe(`audit events on ${backend.name}`, () => {
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

    test('audit: appended events link, list with filters and paging, iterate, and verify', async () => {
      const first = await store.appendAudit(
        {
          actor: 'admin-1',
          sourceAddress: '192.0.2.7',
          action: 'role.create',
          target: 'role:A',
          after: { name: 'A' },
        },
        frozen,
      )
      assert.deepEqual(first, {
        seq: 1,
        time: frozen,
        actor: 'admin-1',
        sourceAddress: '192.0.2.7',
        action: 'role.create',
        target: 'role:A',
        after: { name: 'A' },
        prevHash: '0'.repeat(64),
        hash: first.hash,
      })
      assert.match(first.hash, /^[0-9a-f]{64}$/)
      // Values are stored as JSON: what is hashed is what is read back (undefined members dropped, dates as strings).
      const second = await store.appendAudit(
        {
          actor: 'cli',
          sourceAddress: null,
          action: 'role.delete',
          target: 'role:A',
          before: { name: 'A', gone: undefined, at: new Date(frozen) },
          after: null,
        },
        frozen + 1,
      )
      assert.deepEqual(second, {
        seq: 2,
        time: frozen + 1,
        actor: 'cli',
        sourceAddress: null,
        action: 'role.delete',
        target: 'role:A',
        before: { name: 'A', at: new Date(frozen).toISOString() },
        after: null,
        prevHash: first.hash,
        hash: second.hash,
      })
      for (let index = 3; index <= 7; index += 1) {
        await store.appendAudit(
          { actor: 'admin-2', sourceAddress: null, action: 'flow.update', target: `flow:/f${index}` },
          frozen + index,
        )
      }
      const all = await store.listAuditEvents({})
      assert.equal(all.next, null)
      assert.deepEqual(all.items.slice(0, 2), [first, second])
      assert.deepEqual(
        all.items.map((event) => event.seq),
        [1, 2, 3, 4, 5, 6, 7],
      )
      assert.deepEqual(await drain(store.iterateAuditEvents(2)), all.items)

      const page1 = await store.listAuditEvents({ actor: 'admin-2', limit: 2 })
      assert.deepEqual(
        page1.items.map((event) => event.seq),
        [3, 4],
      )
      assert.ok(page1.next !== null)
      const page2 = await store.listAuditEvents({ actor: 'admin-2', limit: 2, cursor: page1.next })
      const page3 = await store.listAuditEvents({ actor: 'admin-2', limit: 2, cursor: page2.next })
      assert.deepEqual(
        [...page2.items, ...page3.items].map((event) => event.seq),
        [5, 6, 7],
      )
      assert.equal(page3.next, null)
      assert.deepEqual((await store.listAuditEvents({ action: 'role.delete' })).items, [second])
      assert.deepEqual(
        (await store.listAuditEvents({ from: frozen + 1, to: frozen + 4 })).items.map((event) => event.seq),
        [2, 3],
      )
      assert.deepEqual(
        (await store.listAuditEvents({ afterSeq: 5 })).items.map((event) => event.seq),
        [6, 7],
      )
      await rejectsWith(
        store.listAuditEvents({ limit: 0 }),
        'ERR_VALIDATION',
        'invalid limit: must be an integer from 1 to 1000',
      )
      await rejectsWith(
        store.listAuditEvents({ limit: 1001 }),
        'ERR_VALIDATION',
        'invalid limit: must be an integer from 1 to 1000',
      )
      await rejectsWith(store.listAuditEvents({ cursor: 'not-a-cursor' }), 'ERR_VALIDATION', 'invalid cursor')
      assert.deepEqual(await verifyAuditChain(store.iterateAuditEvents(3)), { ok: true, count: 7 })
      // Audit events are not entity changes.
      assert.equal(await store.latestChange(), 0)
    })

    test('audit: 20 concurrent transactions never fork the chain', async () => {
      await Promise.all(
        Array.from({ length: 20 }, (_, index) =>
          store.transaction(async (tx) => {
            await tx.revokeToken({
              jti: `j-${index}`,
              clientId: 'c',
              expiresAt: frozen + 1,
              revokedAt: frozen,
            })
            await tx.appendAudit(
              { actor: 'system', sourceAddress: null, action: 'token.revoke', target: `token:j-${index}` },
              frozen + index,
            )
          }),
        ),
      )
      const events = await drain(store.iterateAuditEvents())
      assert.deepEqual(
        events.map((event) => event.seq),
        Array.from({ length: 20 }, (_, index) => index + 1),
      )
      assert.deepEqual(await verifyAuditChain(store.iterateAuditEvents(7)), { ok: true, count: 20 })
      const changes = await store.changesSince(0)
      assert.equal(changes.length, 20)
      assert.deepEqual(
        changes.map((change) => change.seq),
        [...changes.map((change) => change.seq)].sort((x, y) => x - y),
      )
    })
  })
}

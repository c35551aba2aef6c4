import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, test } from 'node:test'
import { FlowgateError } from '../../src/lib/errors.ts'
import type { Store } from '../../src/store/types.ts'
import { type OpenedBackend, storeBackends } from '../helpers/databases.ts'
import { changesAfter, drain, frozen, instance, rejectsWith, serviceKey } from './store-fixtures.ts'

for (const backend of storeBackends()) {
  describe(`transactions on ${backend.name}`, () => {
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

    test('transaction: everything commits together, including audit events and change rows', async () => {
      const result = await store.transaction(async (tx) => {
        await tx.createInstance(instance())
        await tx.createServiceKey(serviceKey())
        // Reads inside the transaction see its own writes.
        assert.deepEqual(await tx.getServiceKeyByClientId(serviceKey().clientId), serviceKey())
        await tx.appendAudit(
          { actor: 'cli', sourceAddress: null, action: 'instance.create', target: 'instance:partner-a' },
          frozen,
        )
        return 'done'
      })
      assert.equal(result, 'done')
      assert.deepEqual(await store.listServiceKeys(), [serviceKey()])
      assert.deepEqual(await changesAfter(store, 0), [
        ['instance', instance().id, frozen],
        ['service-key', 'k-1', frozen],
      ])
      assert.equal((await store.listAuditEvents({})).items.length, 1)
    })

    test('transaction: a failure rolls back every row, change row and audit event', async () => {
      await store.createRole({ name: 'Kept.role', description: null, builtIn: false, createdAt: frozen })
      await store.appendAudit(
        { actor: 'cli', sourceAddress: null, action: 'role.create', target: 'role:Kept.role' },
        frozen,
      )
      const mark = await store.latestChange()
      const failure = new Error('abort on purpose')
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.createInstance(instance())
          await tx.createServiceKey(serviceKey())
          await tx.deleteRole('Kept.role')
          await tx.revokeToken({ jti: 'j', clientId: 'c', expiresAt: frozen + 1, revokedAt: frozen })
          await tx.appendAudit({ actor: 'cli', sourceAddress: null, action: 'x', target: 'y' }, frozen)
          throw failure
        }),
        (error) => error === failure,
      )
      assert.deepEqual(await store.listInstances(), [])
      assert.deepEqual(await store.listServiceKeys(), [])
      assert.notEqual(await store.getRole('Kept.role'), undefined)
      assert.equal(await store.getRevokedToken('j'), undefined)
      assert.equal(await store.latestChange(), mark)
      assert.deepEqual(await store.changesSince(mark), [])
      const audit = await store.listAuditEvents({})
      assert.deepEqual(
        audit.items.map((event) => event.action),
        ['role.create'],
      )
      // A store error inside the transaction rolls back the earlier writes too.
      await rejectsWith(
        store.transaction(async (tx) => {
          await tx.createInstance(instance({ id: 'i-9', name: 'partner-z' }))
          await tx.createRole({ name: 'Kept.role', description: null, builtIn: false, createdAt: frozen })
        }),
        'ERR_ALREADY_EXISTS',
        'role Kept.role already exists',
      )
      assert.equal(await store.getInstance('i-9'), undefined)
      assert.equal(await store.latestChange(), mark)
    })

    test('transaction: the tx object can be passed around; using the store itself inside fails loudly', async () => {
      const createBoth = async (ops: Pick<Store, 'createInstance' | 'createServiceKey'>) => {
        await ops.createInstance(instance())
        await ops.createServiceKey(serviceKey())
      }
      await store.transaction(async (tx) => {
        await createBoth(tx)
        assert.equal((await drain(tx.iterateAuditEvents())).length, 0)
      })
      assert.equal((await store.listServiceKeys()).length, 1)

      await assert.rejects(
        store.transaction(async () => {
          await store.getRole('ESBMessaging.send')
        }),
        (error: unknown) => {
          assert.ok(error instanceof FlowgateError)
          assert.equal(error.code, 'ERR_INTERNAL')
          assert.equal(
            error.detail,
            "store.getRole() called inside store.transaction(); use the transaction's operations",
          )
          return true
        },
      )
      await assert.rejects(
        store.transaction(() => store.transaction(async () => 1)),
        (error: unknown) => error instanceof FlowgateError && error.code === 'ERR_INTERNAL',
      )
      // After the transaction the store is usable again from the same async context.
      assert.equal((await store.getRole('ESBMessaging.send'))?.name, 'ESBMessaging.send')
    })
  })
}

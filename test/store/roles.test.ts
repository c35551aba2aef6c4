import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, test } from 'node:test'
import type { Store } from '../../src/store/types.ts'
import { type OpenedBackend, storeBackends } from '../helpers/databases.ts'
import { changesAfter, flow, frozen, instance, rejectsWith } from './store-fixtures.ts'

for (const backend of storeBackends()) {
  describe(`roles on ${backend.name}`, () => {
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

    test('roles: create, read, list in byte order, duplicates, built-in and absent deletes, change rows', async () => {
      const mark = await store.latestChange()
      await store.createRole({ name: 'Zeta.role', description: 'z', builtIn: false, createdAt: frozen })
      await store.createRole({
        name: 'Partner_A.send',
        description: null,
        builtIn: false,
        createdAt: frozen + 1,
      })
      assert.deepEqual(await store.getRole('Partner_A.send'), {
        name: 'Partner_A.send',
        description: null,
        builtIn: false,
        createdAt: frozen + 1,
      })
      assert.equal(await store.getRole('nope'), undefined)
      assert.deepEqual(
        (await store.listRoles()).map((role) => role.name),
        ['ESBMessaging.send', 'Flowgate.Admin', 'Flowgate.Viewer', 'Partner_A.send', 'Zeta.role'],
      )
      await rejectsWith(
        store.createRole({ name: 'Zeta.role', description: null, builtIn: false, createdAt: frozen }),
        'ERR_ALREADY_EXISTS',
        'role Zeta.role already exists',
      )
      await rejectsWith(
        store.deleteRole('ESBMessaging.send'),
        'ERR_ROLE_BUILT_IN',
        'built-in role ESBMessaging.send cannot be deleted',
      )
      assert.equal(await store.deleteRole('Zeta.role'), true)
      assert.equal(await store.deleteRole('Zeta.role'), false)
      assert.equal(await store.getRole('Zeta.role'), undefined)
      assert.deepEqual(await changesAfter(store, mark), [
        ['role', 'Zeta.role', frozen],
        ['role', 'Partner_A.send', frozen],
        ['role', 'Zeta.role', frozen],
      ])
    })

    test('roles: a role named by an instance or a flow cannot be deleted', async () => {
      await store.createRole({ name: 'Orders.send', description: null, builtIn: false, createdAt: frozen })
      await store.createRole({ name: 'Orders_send', description: null, builtIn: false, createdAt: frozen })
      await store.createInstance(
        instance({
          parameters: {
            roles: ['ESBMessaging.send', 'Orders.send'],
            grantTypes: ['client_credentials'],
            tokenValidity: 60,
          },
        }),
      )
      await rejectsWith(
        store.deleteRole('Orders.send'),
        'ERR_ROLE_IN_USE',
        'role Orders.send is assigned to instance partner-a',
      )
      // `_` is a LIKE wildcard, so Orders_send's pre-filter also matches "Orders.send": the parsed roles decide.
      assert.equal(await store.deleteRole('Orders_send'), true)

      await store.createRole({ name: 'Flow.role', description: null, builtIn: false, createdAt: frozen })
      await store.createFlow(flow({ role: 'Flow.role' }))
      await rejectsWith(
        store.deleteRole('Flow.role'),
        'ERR_ROLE_IN_USE',
        'role Flow.role is required by flow /orders',
      )
      assert.notEqual(await store.getRole('Flow.role'), undefined)
    })
  })
}

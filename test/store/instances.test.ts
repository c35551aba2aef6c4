import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, test } from 'node:test'
import type { Store } from '../../src/store/types.ts'
import { type OpenedBackend, storeBackends } from '../helpers/databases.ts'
import { changesAfter, frozen, instance, rejectsWith, serviceKey } from './store-fixtures.ts'

for (const backend of storeBackends()) {
  describe(`instances and service keys on ${backend.name}`, () => {
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

    test('instances: create, read by id and name, list, update, rename conflicts, delete, change rows', async () => {
      const mark = await store.latestChange()
      const a = instance()
      const b = instance({ id: 'i-2', name: 'partner-b', plan: 'api' })
      await store.createInstance(b)
      await store.createInstance(a)
      assert.deepEqual(await store.getInstance(a.id), a)
      assert.deepEqual(await store.getInstanceByName('partner-b'), b)
      assert.equal(await store.getInstance('absent'), undefined)
      assert.equal(await store.getInstanceByName('absent'), undefined)
      assert.deepEqual(await store.listInstances(), [a, b])

      await rejectsWith(
        store.createInstance(instance({ id: 'i-3' })),
        'ERR_ALREADY_EXISTS',
        'instance partner-a already exists',
      )
      await rejectsWith(
        store.createInstance(instance({ name: 'other' })),
        'ERR_ALREADY_EXISTS',
        `an instance with id ${a.id} already exists`,
      )
      const updated = instance({
        parameters: { roles: [], grantTypes: ['client_credentials'], tokenValidity: 120 },
        updatedAt: frozen + 10,
      })
      await store.updateInstance(updated)
      assert.deepEqual(await store.getInstance(a.id), updated)
      await rejectsWith(
        store.updateInstance({ ...updated, name: 'partner-b' }),
        'ERR_ALREADY_EXISTS',
        'instance partner-b already exists',
      )
      await rejectsWith(
        store.updateInstance(instance({ id: 'absent', name: 'x' })),
        'ERR_NOT_FOUND',
        'instance not found',
      )

      assert.equal(await store.deleteInstance(b.id), true)
      assert.equal(await store.deleteInstance(b.id), false)
      assert.deepEqual(await store.listInstances(), [updated])
      assert.deepEqual(await changesAfter(store, mark), [
        ['instance', 'i-2', frozen],
        ['instance', a.id, frozen],
        ['instance', a.id, frozen],
        ['instance', 'i-2', frozen],
      ])
    })

    test('service keys: create, read every way, uniqueness, update, delete, change rows', async () => {
      await store.createInstance(instance())
      await store.createInstance(instance({ id: 'i-2', name: 'partner-b' }))
      const mark = await store.latestChange()
      const k1 = serviceKey()
      const k2 = serviceKey({
        id: 'k-2',
        name: 'cert',
        clientId: 'client-2',
        keyType: 'certificate',
        secretHash: null,
        secretPrefix: null,
        certificatePem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
        certificateFingerprint: 'cd'.repeat(32),
        expiresAt: frozen + 86_400_000,
      })
      const k3 = serviceKey({ id: 'k-3', instanceId: 'i-2', name: 'key1', clientId: 'client-3' })
      await store.createServiceKey(k1)
      await store.createServiceKey(k2)
      await store.createServiceKey(k3)
      assert.deepEqual(await store.getServiceKey('k-2'), k2)
      assert.deepEqual(await store.getServiceKeyByName(k1.instanceId, 'key1'), k1)
      assert.deepEqual(await store.getServiceKeyByClientId('client-3'), k3)
      assert.equal(await store.getServiceKey('absent'), undefined)
      assert.equal(await store.getServiceKeyByName('i-2', 'cert'), undefined)
      assert.equal(await store.getServiceKeyByClientId('absent'), undefined)
      assert.deepEqual(await store.listServiceKeys(k1.instanceId), [k2, k1])
      assert.deepEqual(await store.listServiceKeys(), [k2, k1, k3])

      await rejectsWith(
        store.createServiceKey(serviceKey({ id: 'k-4', name: 'other' })),
        'ERR_ALREADY_EXISTS',
        `a service key with client id ${k1.clientId} already exists`,
      )
      await rejectsWith(
        store.createServiceKey(serviceKey({ id: 'k-4', clientId: 'client-4' })),
        'ERR_ALREADY_EXISTS',
        'service key key1 already exists in instance partner-a',
      )
      await rejectsWith(
        store.createServiceKey(serviceKey({ id: 'k-1', name: 'n', clientId: 'c' })),
        'ERR_ALREADY_EXISTS',
        'a service key with id k-1 already exists',
      )
      await rejectsWith(
        store.createServiceKey(serviceKey({ id: 'k-5', instanceId: 'absent', clientId: 'c5' })),
        'ERR_NOT_FOUND',
        'instance not found',
      )

      const rotated = {
        ...k1,
        secretHash: 'ef'.repeat(32),
        secretPrefix: 'Q1w',
        previousSecretHash: k1.secretHash,
        previousSecretPrefix: k1.secretPrefix,
        previousSecretValidUntil: frozen + 3_600_000,
        updatedAt: frozen + 5,
      }
      await store.updateServiceKey(rotated)
      assert.deepEqual(await store.getServiceKeyByClientId(k1.clientId), rotated)
      await rejectsWith(
        store.updateServiceKey({ ...rotated, clientId: 'client-2' }),
        'ERR_ALREADY_EXISTS',
        'a service key with client id client-2 already exists',
      )
      await rejectsWith(
        store.updateServiceKey(serviceKey({ id: 'absent', name: 'x', clientId: 'x' })),
        'ERR_NOT_FOUND',
        'service key not found',
      )
      assert.equal(await store.deleteServiceKey('k-2'), true)
      assert.equal(await store.deleteServiceKey('k-2'), false)
      assert.deepEqual(await store.listServiceKeys(k1.instanceId), [rotated])
      assert.deepEqual(await changesAfter(store, mark), [
        ['service-key', 'k-1', frozen],
        ['service-key', 'k-2', frozen],
        ['service-key', 'k-3', frozen],
        ['service-key', 'k-1', frozen],
        ['service-key', 'k-2', frozen],
      ])
    })

    test('deleting an instance deletes its keys and records a change for each of them', async () => {
      await store.createInstance(instance())
      await store.createInstance(instance({ id: 'i-2', name: 'partner-b' }))
      await store.createServiceKey(serviceKey())
      await store.createServiceKey(serviceKey({ id: 'k-2', name: 'key2', clientId: 'client-2' }))
      const other = serviceKey({ id: 'k-3', instanceId: 'i-2', clientId: 'client-3' })
      await store.createServiceKey(other)
      const mark = await store.latestChange()
      clock = frozen + 1000
      assert.equal(await store.deleteInstance(instance().id), true)
      assert.equal(await store.getServiceKey('k-1'), undefined)
      assert.equal(await store.getServiceKeyByClientId('client-2'), undefined)
      assert.deepEqual(await store.listServiceKeys(), [other])
      assert.deepEqual(await changesAfter(store, mark), [
        ['service-key', 'k-1', frozen + 1000],
        ['service-key', 'k-2', frozen + 1000],
        ['instance', instance().id, frozen + 1000],
      ])
    })

    test('nextKeyNumber is monotonic, also under concurrency, and records no change', async () => {
      assert.equal(await store.nextKeyNumber(), 1)
      assert.equal(await store.nextKeyNumber(), 2)
      const numbers = await Promise.all(Array.from({ length: 10 }, () => store.nextKeyNumber()))
      assert.deepEqual(
        numbers.sort((x, y) => x - y),
        [3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
      )
      assert.equal(await store.latestChange(), 0)
    })
  })
}

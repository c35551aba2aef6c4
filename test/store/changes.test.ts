import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, test } from 'node:test'
import type { Store } from '../../src/store/types.ts'
import { type OpenedBackend, storeBackends } from '../helpers/databases.ts'
import { frozen } from './store-fixtures.ts'

for (const backend of storeBackends()) {
  describe(`the change log on ${backend.name}`, () => {
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

    test('change log: latest, paging by limit, pruning by age', async () => {
      clock = frozen
      await store.createRole({ name: 'A.a', description: null, builtIn: false, createdAt: frozen })
      clock = frozen + 100
      await store.createRole({ name: 'B.b', description: null, builtIn: false, createdAt: frozen })
      await store.createRole({ name: 'C.c', description: null, builtIn: false, createdAt: frozen })
      const all = await store.changesSince(0)
      assert.equal(await store.latestChange(), all.at(-1)?.seq)
      assert.deepEqual(
        all.map(({ seq: _seq, ...change }) => change),
        [
          { kind: 'role', entityId: 'A.a', time: frozen },
          { kind: 'role', entityId: 'B.b', time: frozen + 100 },
          { kind: 'role', entityId: 'C.c', time: frozen + 100 },
        ],
      )
      assert.deepEqual(await store.changesSince(all[0]?.seq ?? 0, 1), [all[1]])
      assert.equal(await store.deleteChangesBefore(frozen + 100), 1)
      assert.deepEqual(await store.changesSince(0), all.slice(1))
      assert.equal(await store.latestChange(), all.at(-1)?.seq)
    })
  })
}

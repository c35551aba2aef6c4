import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { afterEach, beforeEach, describe, test } from 'node:test'
import { createLogger } from '../../src/lib/logger.ts'
import { type ChangeFeed, createChangeFeed } from '../../src/store/change-feed.ts'
import { openStore } from '../../src/store/open-store.ts'
import type { Change, Store } from '../../src/store/types.ts'
import { type OpenedBackend, storeBackends } from '../helpers/databases.ts'

const frozen = 1_750_000_000_000

function captureLogs(): {
  logger: ReturnType<typeof createLogger>
  lines: () => Array<Record<string, unknown>>
} {
  const chunks: string[] = []
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      chunks.push(String(chunk))
      callback()
    },
  })
  return {
    logger: createLogger('debug', stream),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  }
}

function role(name: string) {
  return { name, description: null, builtIn: false, createdAt: frozen }
}

/** Resolves with the next batch a feed delivers (fails the test after 5 s instead of hanging). */
function nextBatch(feed: ChangeFeed): Promise<Change[]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no change delivered within 5 s')), 5000)
    const unsubscribe = feed.subscribe((changes) => {
      clearTimeout(timer)
      unsubscribe()
      resolve(changes)
    })
  })
}

const strip = (changes: Change[]) => changes.map(({ seq: _seq, ...change }) => change)

for (const backend of storeBackends()) {
  describe(`change feed on ${backend.name}`, () => {
    let opened: OpenedBackend
    let otherNode: Store
    let feed: ChangeFeed | undefined

    beforeEach(async () => {
      opened = await backend.open({ now: () => frozen })
      // A second node sharing the database.
      otherNode = await openStore({
        url: opened.url,
        dataDir: opened.dataDir,
        poolSize: 2,
        now: () => frozen + 1,
      })
    })
    afterEach(async () => {
      await feed?.stop()
      feed = undefined
      await otherNode.close()
      await opened.drop()
    })

    test("start() skips what is already loaded; the timer delivers another node's changes", async () => {
      await opened.store.createRole(role('Before.start'))
      const { logger } = captureLogs()
      feed = createChangeFeed(opened.store, { intervalMs: 20, logger })
      await feed.start()
      const delivered = nextBatch(feed)
      await otherNode.createRole(role('Other.node'))
      await otherNode.deleteRole('Other.node')
      const first = await delivered
      const all = first.length === 2 ? first : [...first, ...(await nextBatch(feed))]
      assert.deepEqual(strip(all), [
        { kind: 'role', entityId: 'Other.node', time: frozen + 1 },
        { kind: 'role', entityId: 'Other.node', time: frozen + 1 },
      ])
    })

    test('a node whose unseen changes were pruned gets one reload, then the changes after it', async () => {
      const { logger } = captureLogs()
      feed = createChangeFeed(opened.store, { intervalMs: 600_000, logger })
      await feed.start()
      const received: Change[][] = []
      feed.subscribe((changes) => {
        received.push(changes)
      })
      // While this node does not poll, another node changes three things (at frozen + 1) and the
      // log is pruned of all but the newest row.
      for (const name of ['Gone.a', 'Gone.b', 'Kept.c']) await otherNode.createRole(role(name))
      assert.equal(await opened.store.deleteChangesBefore(frozen + 2), 2)
      const latest = await opened.store.latestChange()
      await feed.poke()
      assert.deepEqual(received, [[{ seq: latest, kind: 'reload', entityId: '', time: frozen + 1 }]])
      // Then only what follows, as usual.
      await otherNode.createRole(role('After.reload'))
      await feed.poke()
      assert.deepEqual(strip(received[1] ?? []), [
        { kind: 'role', entityId: 'After.reload', time: frozen + 1 },
      ])
      assert.equal(received.length, 2)
    })

    test('a node that had seen every pruned change gets no reload', async () => {
      const { logger } = captureLogs()
      feed = createChangeFeed(opened.store, { intervalMs: 600_000, logger })
      await feed.start()
      const received: Change[][] = []
      feed.subscribe((changes) => {
        received.push(changes)
      })
      for (const name of ['Seen.a', 'Seen.b']) await otherNode.createRole(role(name))
      await feed.poke()
      assert.equal(await opened.store.deleteChangesBefore(frozen + 2), 1)
      await otherNode.createRole(role('Next.c'))
      await feed.poke()
      assert.deepEqual(received.map(strip), [
        [
          { kind: 'role', entityId: 'Seen.a', time: frozen + 1 },
          { kind: 'role', entityId: 'Seen.b', time: frozen + 1 },
        ],
        [{ kind: 'role', entityId: 'Next.c', time: frozen + 1 }],
      ])
    })

    test('poke() has delivered a local change when it resolves; unsubscribe stops delivery', async () => {
      const { logger } = captureLogs()
      // An interval far longer than the test: only poke() polls.
      feed = createChangeFeed(opened.store, { intervalMs: 600_000, logger, batchSize: 2 })
      await feed.start()
      const received: Change[][] = []
      const unsubscribe = feed.subscribe((changes) => {
        received.push(changes)
      })
      await opened.store.createRole(role('A.a'))
      await opened.store.createRole(role('B.b'))
      await opened.store.createRole(role('C.c'))
      await feed.poke()
      // Batches of at most batchSize, in sequence order, all read in one poll.
      assert.deepEqual(
        received.map((batch) => strip(batch)),
        [
          [
            { kind: 'role', entityId: 'A.a', time: frozen },
            { kind: 'role', entityId: 'B.b', time: frozen },
          ],
          [{ kind: 'role', entityId: 'C.c', time: frozen }],
        ],
      )
      unsubscribe()
      await opened.store.createRole(role('D.d'))
      await feed.poke()
      assert.equal(received.length, 2)
      await feed.poke()
      assert.equal(received.length, 2)
    })

    test('a failing listener is logged and does not stop the others or the feed', async () => {
      const { logger, lines } = captureLogs()
      feed = createChangeFeed(opened.store, { intervalMs: 600_000, logger })
      await feed.start()
      const received: string[] = []
      feed.subscribe(() => {
        throw new Error('listener bug')
      })
      feed.subscribe((changes) => {
        received.push(...changes.map((change) => change.entityId))
      })
      await opened.store.createRole(role('A.a'))
      await feed.poke()
      await opened.store.createRole(role('B.b'))
      await feed.poke()
      assert.deepEqual(received, ['A.a', 'B.b'])
      const errors = lines().filter((line) => line.msg === 'change listener failed')
      assert.equal(errors.length, 2)
      assert.equal((errors[0]?.err as { message?: string } | undefined)?.message, 'listener bug')
    })
  })
}

describe('change feed polling', () => {
  let opened: OpenedBackend
  beforeEach(async () => {
    const sqlite = storeBackends().find((backend) => backend.name === 'sqlite')
    assert.ok(sqlite)
    opened = await sqlite.open()
  })
  afterEach(async () => {
    await opened.drop()
  })

  test('store errors in timer polls are logged and polling continues; stop() ends it', async () => {
    let calls = 0
    let failing = true
    const flaky: Pick<Store, 'latestChange' | 'changesSince' | 'oldestChange'> = {
      latestChange: () => opened.store.latestChange(),
      oldestChange: () => opened.store.oldestChange(),
      changesSince: (seq, limit) => {
        calls += 1
        return failing
          ? Promise.reject(new Error('database went away'))
          : opened.store.changesSince(seq, limit)
      },
    }
    const { logger, lines } = captureLogs()
    const feed = createChangeFeed(flaky, { intervalMs: 10, logger })
    await feed.start()
    const delivered = nextBatch(feed)
    await opened.store.createRole(role('After.outage'))
    while (calls < 3) await new Promise((resolve) => setTimeout(resolve, 10))
    failing = false
    assert.deepEqual(strip(await delivered), [
      { kind: 'role', entityId: 'After.outage', time: (await opened.store.changesSince(0))[0]?.time },
    ])
    const warnings = lines().filter((line) => line.msg === 'change feed poll failed; retrying')
    assert.ok(warnings.length >= 3)
    assert.equal((warnings[0]?.err as { message?: string } | undefined)?.message, 'database went away')

    await feed.stop()
    const after = calls
    await new Promise((resolve) => setTimeout(resolve, 60))
    assert.equal(calls, after)
  })

  test('poke() logs a store error instead of rejecting; a poke during a poll waits for a fresh poll', async () => {
    let release: (() => void) | undefined
    let calls = 0
    const gated: Pick<Store, 'latestChange' | 'changesSince' | 'oldestChange'> = {
      latestChange: async () => 0,
      oldestChange: () => opened.store.oldestChange(),
      changesSince: async (seq, limit) => {
        calls += 1
        if (calls === 1) await new Promise<void>((resolve) => (release = resolve))
        if (calls === 3) throw new Error('boom')
        return opened.store.changesSince(seq, limit)
      },
    }
    const { logger, lines } = captureLogs()
    const feed = createChangeFeed(gated, { intervalMs: 600_000, logger })
    await feed.start()
    const first = feed.poke()
    const second = feed.poke()
    const third = feed.poke()
    while (release === undefined) await new Promise((resolve) => setTimeout(resolve, 1))
    release()
    await Promise.all([first, second, third])
    // The second and third pokes shared one poll, queued behind the first.
    assert.equal(calls, 2)
    // A failing poke is logged, never rejected: callers fire and forget it.
    await feed.poke()
    assert.deepEqual(
      lines()
        .filter((line) => line.msg === 'change feed poll failed; retrying')
        .map((line) => (line.err as { message?: string } | undefined)?.message),
      ['boom'],
    )
    await feed.poke()
    assert.equal(calls, 4)
    await feed.stop()
  })

  test('options are checked when the feed is created', () => {
    const { logger } = captureLogs()
    assert.throws(() => createChangeFeed(opened.store, { intervalMs: 0, logger }), {
      name: 'RangeError',
      message: 'intervalMs must be a positive integer',
    })
    assert.throws(() => createChangeFeed(opened.store, { intervalMs: 10, logger, batchSize: 0 }), {
      name: 'RangeError',
      message: 'batchSize must be a positive integer',
    })
  })
})

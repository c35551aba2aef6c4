import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { createBruteForceGuard, createMemoryFailureCounter } from '../../src/oauth/brute-force.ts'

const bruteForce = { windowSeconds: 60, maxFailuresPerClient: 3, maxFailuresPerAddress: 5, blockSeconds: 30 }

describe('brute-force guard', () => {
  test('blocks a client id after its limit within one window, for blockSeconds only', async () => {
    let time = 1_000_000
    const guard = createBruteForceGuard({ config: { bruteForce }, now: () => time })
    for (let i = 0; i < 2; i++) await guard.recordFailure('client-a', `10.0.0.${i}`)
    assert.equal(await guard.retryAfter('client-a', '10.0.0.9'), 0)
    await guard.recordFailure('client-a', '10.0.0.3')
    assert.equal(await guard.retryAfter('client-a', '10.0.0.9'), 30)
    assert.equal(
      await guard.retryAfter('client-b', '10.0.0.9'),
      0,
      'another client from another address is not blocked',
    )
    time += 12_500
    assert.equal(await guard.retryAfter('client-a', '10.0.0.9'), 18)
    time += 17_500
    assert.equal(await guard.retryAfter('client-a', '10.0.0.9'), 0, 'the block ends after blockSeconds')
  })

  test('failures spread over more than one window do not add up', async () => {
    let time = 0
    const guard = createBruteForceGuard({ config: { bruteForce }, now: () => time })
    await guard.recordFailure('client-a', '10.0.0.1')
    await guard.recordFailure('client-a', '10.0.0.1')
    time += 60_000
    await guard.recordFailure('client-a', '10.0.0.1')
    assert.equal(await guard.retryAfter('client-a', '10.0.0.2'), 0)
  })

  test('blocks an address spraying many client ids, whatever client id it uses next', async () => {
    const guard = createBruteForceGuard({ config: { bruteForce }, now: () => 5000 })
    for (let i = 0; i < 5; i++) await guard.recordFailure(`guess-${i}`, '192.0.2.7')
    assert.equal(await guard.retryAfter('brand-new', '192.0.2.7'), 30)
    assert.equal(await guard.retryAfter(undefined, '192.0.2.7'), 30)
    assert.equal(await guard.retryAfter('brand-new', '192.0.2.8'), 0)
  })

  test('the local counter stays bounded', async () => {
    const counter = createMemoryFailureCounter({ windowMs: 60_000, blockMs: 1000, maxEntries: 100 })
    for (let i = 0; i < 1000; i++) await counter.fail(`address:${i}`, 10, 1000)
    assert.ok(counter.size() <= 100)
    // The most recently touched entries survive.
    await counter.fail('address:999', 2, 1000)
    assert.equal(await counter.blockedFor('address:999', 1000), 1000)
  })

  test('refuses nonsensical options at construction', () => {
    assert.throws(() => createMemoryFailureCounter({ windowMs: 0, blockMs: 1 }), RangeError)
  })
})

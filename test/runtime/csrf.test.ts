import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, test } from 'node:test'
import { createCsrf } from '../../src/runtime/csrf.ts'

describe('createCsrf', () => {
  const key = randomBytes(32)
  let time = Date.UTC(2026, 0, 1)
  const csrf = createCsrf({ key, validitySeconds: 1800, now: () => time })

  test('a token is 54 base64url characters and verifies for its client and flow', () => {
    const token = csrf.issue('sb-1!b1|it-rt-flowgate!b1', '/orders')
    assert.match(token, /^[A-Za-z0-9_-]{54}$/)
    assert.equal(csrf.verify(token, 'sb-1!b1|it-rt-flowgate!b1', '/orders'), true)
  })

  test('it is refused for another client, another flow, or once expired', () => {
    time = Date.UTC(2026, 0, 1)
    const token = csrf.issue('client-a', '/orders')
    assert.equal(csrf.verify(token, 'client-b', '/orders'), false)
    assert.equal(csrf.verify(token, 'client-a', '/orders/*'), false)
    // The separator keeps `a` + `\0b` apart from `a\0` + `b`.
    assert.equal(csrf.verify(csrf.issue('a', 'b/c'), 'a', 'b/c'), true)
    assert.equal(csrf.verify(csrf.issue('a', 'b'), 'a\u0000b', ''), false)
    time += 1_799_000
    assert.equal(csrf.verify(token, 'client-a', '/orders'), true)
    time += 1000
    assert.equal(csrf.verify(token, 'client-a', '/orders'), false)
  })

  test('another node with the same key accepts the token; a node with another key does not', () => {
    time = Date.UTC(2026, 0, 1)
    const token = csrf.issue('client-a', '/orders')
    assert.equal(
      createCsrf({ key, validitySeconds: 60, now: () => time }).verify(token, 'client-a', '/orders'),
      true,
    )
    const other = createCsrf({ key: randomBytes(32), validitySeconds: 1800, now: () => time })
    assert.equal(other.verify(token, 'client-a', '/orders'), false)
  })

  test('garbage, truncated, altered and absent tokens are refused', () => {
    time = Date.UTC(2026, 0, 1)
    const token = csrf.issue('client-a', '/orders')
    const altered = `${token.slice(0, 20)}${token[20] === 'A' ? 'B' : 'A'}${token.slice(21)}`
    for (const candidate of [
      undefined,
      '',
      'Fetch',
      'Required',
      token.slice(0, 53),
      `${token}A`,
      altered,
      '!'.repeat(54),
    ]) {
      assert.equal(csrf.verify(candidate, 'client-a', '/orders'), false, String(candidate))
    }
  })

  test('options are checked once, in the factory', () => {
    assert.throws(() => createCsrf({ key: Buffer.alloc(8), validitySeconds: 60 }), TypeError)
    assert.throws(() => createCsrf({ key, validitySeconds: 0 }), TypeError)
  })
})

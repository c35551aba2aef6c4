import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { isCleanPath } from '../../src/runtime/path-hygiene.ts'

describe('isCleanPath', () => {
  const clean = [
    '/http',
    '/http/',
    '/http/orders',
    '/http/orders/',
    '/http/Orders/2024/42',
    '/http/orders/a-b_c~d.e',
    '/http/orders/%20space',
    '/http/orders/%C3%A9t%C3%A9',
    '/http/orders/..a',
    '/http/orders/a..',
    '/http/orders/.well-known',
  ]
  for (const path of clean) {
    test(`accepts ${path}`, () => assert.equal(isCleanPath(path), true))
  }

  const refused: [string, string][] = [
    ['', 'empty'],
    ['http/orders', 'no leading slash'],
    ['http://evil.example/http/orders', 'absolute-form'],
    ['*', 'asterisk-form'],
    ['/http/../admin', 'dot-dot segment'],
    ['/http/orders/..', 'trailing dot-dot'],
    ['/http/./orders', 'dot segment'],
    ['/http/orders/.', 'trailing dot'],
    ['/http//orders', 'empty segment'],
    ['//http/orders', 'leading double slash'],
    ['/http/orders//', 'trailing double slash'],
    ['/http/%2e%2e/admin', 'encoded dots (lower)'],
    ['/http/%2E%2E/admin', 'encoded dots (upper)'],
    ['/http/.%2e/admin', 'mixed encoded dot'],
    ['/http/orders%2fadmin', 'encoded slash (lower)'],
    ['/http/orders%2Fadmin', 'encoded slash (upper)'],
    ['/http/orders%5cadmin', 'encoded backslash (lower)'],
    ['/http/orders%5Cadmin', 'encoded backslash (upper)'],
    ['/http/%252e%252e/admin', 'double-encoded dot'],
    ['/http/orders%252fadmin', 'double-encoded slash'],
    ['/http/orders%25', 'encoded percent'],
    ['/http/orders\\admin', 'backslash'],
    ['/http/orders;jsessionid=1', 'path parameter'],
    ['/http/orders%3bx', 'encoded semicolon'],
    ['/http/orders%00', 'encoded NUL'],
    ['/http/orders\u0000', 'NUL'],
    ['/http/orders\t', 'control character'],
    ['/http/orders x', 'space'],
    ['/http/orders#frag', 'fragment'],
    ['/http/ordérs', 'raw non-ASCII'],
    ['/http/orders%', 'truncated escape'],
    ['/http/orders%2', 'truncated escape'],
    ['/http/orders%zz', 'malformed escape'],
  ]
  for (const [path, why] of refused) {
    test(`refuses ${JSON.stringify(path)} (${why})`, () => assert.equal(isCleanPath(path), false))
  }
})

import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { readBearer } from '../../src/lib/bearer.ts'

const token = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln-_~+/=='

function read(...headers: string[]) {
  return readBearer({ rawHeaders: headers })
}

describe('readBearer: the one bearer parser of the runtime and the admin API', () => {
  test('a token68 after a case-insensitive scheme, spaces around it ignored', () => {
    for (const value of [`Bearer ${token}`, `bearer ${token}`, `BEARER   ${token}  `]) {
      assert.deepEqual(read('Host', 'x', 'Authorization', value), { token, problem: null })
    }
  })

  const refused: [string, string[], 'missing' | 'multiple' | 'malformed'][] = [
    ['no Authorization header', ['Host', 'x'], 'missing'],
    ['another scheme', ['Authorization', 'Basic YTpi'], 'missing'],
    ['the scheme alone', ['Authorization', 'Bearer'], 'missing'],
    ['only spaces after the scheme', ['Authorization', 'Bearer    '], 'malformed'],
    ['characters outside token68', ['Authorization', `Bearer ${token}"`], 'malformed'],
    ['padding in the middle', ['Authorization', 'Bearer ab=c'], 'malformed'],
    ['two tokens in one header', ['Authorization', `Bearer ${token}, Bearer ${token}`], 'multiple'],
    ['a space inside', ['Authorization', `Bearer ${token} ${token}`], 'multiple'],
    [
      'two Authorization headers',
      ['authorization', `Bearer ${token}`, 'Authorization', `Bearer ${token}`],
      'multiple',
    ],
  ]
  for (const [name, headers, problem] of refused) {
    test(`${name}: ${problem}`, () => {
      assert.deepEqual(read(...headers), { token: null, problem })
    })
  }
})

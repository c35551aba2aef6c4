import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, test } from 'node:test'
import {
  createSecretVerifier,
  generateClientSecret,
  secretPrefixOf,
} from '../../src/identity/client-secret.ts'
import { createSecretHasher, masterKeyFromBytes } from '../../src/secrets/master-key.ts'
import type { ServiceKey } from '../../src/store/types.ts'

const hash = createSecretHasher(masterKeyFromBytes(randomBytes(32)))
const verify = createSecretVerifier(hash)
const now = 1_750_000_000_000

function key(overrides: Partial<ServiceKey>): ServiceKey {
  return {
    id: 'k1',
    instanceId: 'i1',
    name: 'key',
    clientId: 'sb-i1!b1|it-rt-flowgate!b1',
    keyType: 'clientsecret',
    secretHash: null,
    secretPrefix: null,
    previousSecretHash: null,
    previousSecretPrefix: null,
    previousSecretValidUntil: null,
    certificatePem: null,
    certificateFingerprint: null,
    expiresAt: null,
    createdAt: now,
    updatedAt: now,
    ...overrides,
  }
}

describe('client secrets', () => {
  test('256 random bits, base64url, distinct, short prefix', () => {
    const a = generateClientSecret()
    assert.match(a, /^[A-Za-z0-9_-]{43}$/)
    assert.equal(Buffer.from(a, 'base64url').length, 32)
    assert.notEqual(a, generateClientSecret())
    assert.equal(secretPrefixOf(a), a.slice(0, 6))
  })

  test('current secret, previous secret until its time, nothing else', () => {
    const current = generateClientSecret()
    const previous = generateClientSecret()
    const rotating = key({
      secretHash: hash(current),
      previousSecretHash: hash(previous),
      previousSecretValidUntil: now + 1000,
    })
    assert.equal(verify(current, rotating, now), true)
    assert.equal(verify(previous, rotating, now), true)
    assert.equal(verify(previous, rotating, now + 1000), false)
    assert.equal(verify(generateClientSecret(), rotating, now), false)
    assert.equal(verify(current, undefined, now), false)
    assert.equal(verify('', key({ secretHash: hash(current) }), now), false)
  })

  test('a certificate key (no hash) never matches a secret', () => {
    assert.equal(verify(generateClientSecret(), key({ keyType: 'certificate' }), now), false)
  })
})

import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  connectionSecretPlace,
  createSecretBox,
  masterKeyFromBytes,
  signingKeyPlace,
} from '../../src/secrets/master-key.ts'
import { sealV1 } from './legacy-seal.ts'

const masterKey = masterKeyFromBytes(Buffer.alloc(32, 3))
const box = createSecretBox(masterKey)
const place = connectionSecretPlace('cpi')
const plaintext = '{"password":"s3cret-pa55"}'

function parts(sealed: string): [string, string, string, string] {
  return sealed.split('.') as [string, string, string, string]
}

function refused(run: () => unknown, detail: RegExp): void {
  assert.throws(run, (error: { code?: string; status?: number; detail?: string; message?: string }) => {
    assert.equal(error.code, 'ERR_DECRYPT')
    assert.equal(error.status, 500)
    assert.match(error.detail ?? '', detail)
    assert.ok(!String(error.message).includes('s3cret'))
    return true
  })
}

describe('secret box: the full GCM tag and the row the value belongs to', () => {
  test('seals as v2 with a 12-byte IV and a 16-byte tag; opens in its own place', () => {
    const sealed = box.seal(plaintext, place)
    const [version, iv, tag] = parts(sealed)
    assert.equal(version, 'v2')
    assert.equal(Buffer.from(iv, 'base64url').length, 12)
    assert.equal(Buffer.from(tag, 'base64url').length, 16)
    assert.ok(!sealed.includes('s3cret'))
    assert.equal(box.open(sealed, place), plaintext)
    assert.notEqual(box.seal(plaintext, place), sealed, 'a fresh IV every time')
  })

  test('a truncated tag is refused before GCM sees it, whatever its length', () => {
    const [version, iv, tag, body] = parts(box.seal(plaintext, place))
    const full = Buffer.from(tag, 'base64url')
    for (const length of [0, 4, 8, 12, 15]) {
      const truncated = `${version}.${iv}.${full.subarray(0, length).toString('base64url')}.${body}`
      refused(() => box.open(truncated, place), /tag length/)
    }
    const longer = `${version}.${iv}.${Buffer.concat([full, Buffer.alloc(1)]).toString('base64url')}.${body}`
    refused(() => box.open(longer, place), /tag length/)
  })

  test('a truncated tag of a v1 value is refused too when it is re-sealed', () => {
    const [version, iv, tag, body] = parts(sealV1(masterKey, plaintext))
    const truncated = `${version}.${iv}.${Buffer.from(tag, 'base64url').subarray(0, 4).toString('base64url')}.${body}`
    refused(() => box.reseal(truncated, place), /tag length/)
  })

  test('a value copied to another row, or another kind of row, does not open', () => {
    const sealed = box.seal(plaintext, place)
    refused(() => box.open(sealed, connectionSecretPlace('other')), /another row/)
    refused(() => box.open(sealed, signingKeyPlace('cpi')), /another row/)
    const privateKey = box.seal('-----BEGIN PRIVATE KEY-----', signingKeyPlace('kid-1'))
    refused(() => box.open(privateKey, signingKeyPlace('kid-2')), /another row/)
    assert.equal(box.open(privateKey, signingKeyPlace('kid-1')), '-----BEGIN PRIVATE KEY-----')
  })

  test('altered data, another master key and malformed values are refused', () => {
    const sealed = box.seal(plaintext, place)
    const [version, iv, tag, body] = parts(sealed)
    const flipped = Buffer.from(body, 'base64url')
    flipped[0] = (flipped[0] as number) ^ 1
    refused(() => box.open(`${version}.${iv}.${tag}.${flipped.toString('base64url')}`, place), /altered/)
    const other = createSecretBox(masterKeyFromBytes(Buffer.alloc(32, 4)))
    refused(() => other.open(sealed, place), /wrong master key/)
    refused(() => box.open(`${version}.${iv}.${tag}!.${body}`, place), /encoding/)
    refused(() => box.open(`${version}.${iv}.${tag}`, place), /format/)
    refused(() => box.open(`v3.${iv}.${tag}.${body}`, place), /format/)
  })

  test('a v1 value is not opened as such: only re-sealed, then bound to its row', () => {
    const legacy = sealV1(masterKey, plaintext)
    assert.equal(box.isCurrent(legacy), false)
    refused(() => box.open(legacy, place), /v1 format/)
    const resealed = box.reseal(legacy, place)
    assert.equal(box.isCurrent(resealed), true)
    assert.equal(box.open(resealed, place), plaintext)
    refused(() => box.open(resealed, connectionSecretPlace('other')), /another row/)
    refused(() => box.reseal(resealed, place), /not in the v1 format/)
  })
})

import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  connectionSecretPlace,
  createSecretBox,
  masterKeyFromBytes,
  signingKeyPlace,
} from '../../src/secrets/master-key.ts'
import { resealSecrets } from '../../src/secrets/reseal-secrets.ts'
import type { SigningKey, UpstreamConnection } from '../../src/store/types.ts'
import { capturedLogger } from '../helpers/captured-logger.ts'
import { type OpenedBackend, storeBackends } from '../helpers/databases.ts'
import { sealV1 } from './legacy-seal.ts'

const masterKey = masterKeyFromBytes(Buffer.alloc(32, 9))
const box = createSecretBox(masterKey)
const t0 = Date.UTC(2026, 0, 5)

function connection(name: string, secretEncrypted: string | null): UpstreamConnection {
  return {
    name,
    type: secretEncrypted === null ? 'none' : 'basic',
    settings: secretEncrypted === null ? {} : { username: name },
    secretEncrypted,
    createdAt: t0,
    updatedAt: t0,
  }
}

function signingKey(kid: string, privateKeyEncrypted: string): SigningKey {
  return {
    kid,
    alg: 'ES256',
    state: 'active',
    publicJwk: { kty: 'EC', kid },
    privateKeyEncrypted,
    createdAt: t0,
    activatedAt: t0,
    retiredAt: null,
    publishUntil: null,
  }
}

for (const backend of storeBackends()) {
  describe(`re-sealing v1 secrets at start-up (${backend.name})`, () => {
    let opened: OpenedBackend

    before(async () => {
      opened = await backend.open()
      const { store } = opened
      // As an earlier release left the store: every secret in the unbound v1 format.
      await store.createConnection(connection('cpi-a', sealV1(masterKey, '{"password":"pa55-a"}')))
      await store.createConnection(connection('cpi-b', sealV1(masterKey, '{"password":"pa55-b"}')))
      await store.createConnection(connection('open', null))
      await store.insertSigningKey(signingKey('kid-1', sealV1(masterKey, 'PRIVATE KEY 1')))
    })
    after(() => opened.drop())

    test('old v1 values are sealed again as v2, bound to their rows, and still open; one audit event', async () => {
      const { store } = opened
      const { logger, lines } = capturedLogger()
      const result = await resealSecrets({ store, masterKey, logger, now: () => t0 + 1 })
      assert.deepEqual(result, { connections: ['cpi-a', 'cpi-b'], signingKeys: ['kid-1'] })

      const a = (await store.getConnection('cpi-a'))?.secretEncrypted as string
      const b = (await store.getConnection('cpi-b'))?.secretEncrypted as string
      const key = (await store.listSigningKeys())[0] as SigningKey
      assert.match(a, /^v2\./)
      assert.match(key.privateKeyEncrypted, /^v2\./)
      assert.equal(box.open(a, connectionSecretPlace('cpi-a')), '{"password":"pa55-a"}')
      assert.equal(box.open(b, connectionSecretPlace('cpi-b')), '{"password":"pa55-b"}')
      assert.equal(box.open(key.privateKeyEncrypted, signingKeyPlace('kid-1')), 'PRIVATE KEY 1')
      assert.equal((await store.getConnection('open'))?.secretEncrypted, null)
      // Only the sealed value changed: not the connection's own update time.
      assert.deepEqual(await store.getConnection('cpi-a'), connection('cpi-a', a))

      const events = (await store.listAuditEvents({ action: 'secrets.reseal', limit: 10 })).items
      assert.deepEqual(
        events.map(({ actor, sourceAddress, action, target, after: done, time }) => ({
          actor,
          sourceAddress,
          action,
          target,
          after: done,
          time,
        })),
        [
          {
            actor: 'system',
            sourceAddress: null,
            action: 'secrets.reseal',
            target: 'secrets',
            after: { connections: ['cpi-a', 'cpi-b'], signingKeys: ['kid-1'] },
            time: t0 + 1,
          },
        ],
      )
      const text = JSON.stringify(lines())
      assert.ok(text.includes('secrets at rest sealed again'))
      assert.ok(!text.includes('pa55') && !text.includes('PRIVATE KEY'))
    })

    test('the re-seal is idempotent: a second run writes nothing', async () => {
      const { store } = opened
      const before = {
        connections: await store.listConnections(),
        keys: await store.listSigningKeys(),
        change: await store.latestChange(),
      }
      const { logger, lines } = capturedLogger()
      assert.deepEqual(await resealSecrets({ store, masterKey, logger }), {
        connections: [],
        signingKeys: [],
      })
      assert.deepEqual(await store.listConnections(), before.connections)
      assert.deepEqual(await store.listSigningKeys(), before.keys)
      assert.equal(await store.latestChange(), before.change)
      assert.equal((await store.listAuditEvents({ action: 'secrets.reseal', limit: 10 })).items.length, 1)
      assert.deepEqual(lines(), [])
    })

    test('a value swapped into another row does not open', async () => {
      const { store } = opened
      const a = (await store.getConnection('cpi-a')) as UpstreamConnection
      await store.updateConnection({ ...connection('cpi-b', a.secretEncrypted) })
      const swapped = (await store.getConnection('cpi-b'))?.secretEncrypted as string
      assert.throws(() => box.open(swapped, connectionSecretPlace('cpi-b')), { code: 'ERR_DECRYPT' })
      assert.equal(box.open(swapped, connectionSecretPlace('cpi-a')), '{"password":"pa55-a"}')
    })

    test('a stored value with a truncated tag does not open', async () => {
      const { store } = opened
      const current = (await store.getConnection('cpi-a')) as UpstreamConnection
      const [version, iv, tag, body] = (current.secretEncrypted as string).split('.')
      const short = Buffer.from(tag as string, 'base64url')
        .subarray(0, 4)
        .toString('base64url')
      await store.updateConnection(connection('cpi-a', `${version}.${iv}.${short}.${body}`))
      const stored = (await store.getConnection('cpi-a'))?.secretEncrypted as string
      assert.throws(() => box.open(stored, connectionSecretPlace('cpi-a')), {
        code: 'ERR_DECRYPT',
        detail: 'sealed value is malformed (IV, tag length or encoding)',
      })
    })

    test('a v1 value that does not open fails the run and nothing is written', async () => {
      const { store } = opened
      const other = masterKeyFromBytes(Buffer.alloc(32, 10))
      await store.createConnection(connection('foreign', sealV1(other, '{"password":"x"}')))
      await store.createConnection(connection('later', sealV1(masterKey, '{"password":"y"}')))
      const change = await store.latestChange()
      const { logger, lines } = capturedLogger()
      await assert.rejects(resealSecrets({ store, masterKey, logger }), {
        code: 'ERR_DECRYPT',
        detail:
          'connection:foreign:secret cannot be re-sealed: authentication of a sealed value failed (wrong master key, another row, or altered data)',
      })
      const logged = lines()
      assert.equal(logged.length, 1)
      const [line] = logged as [Record<string, unknown>]
      assert.equal(line.level, 50)
      const err = line.err as { code: string; detail: string; stack: string }
      assert.equal(err.code, 'ERR_DECRYPT')
      assert.match(err.detail, /^connection:foreign:secret cannot be re-sealed/)
      assert.match(err.stack, /caused by/, 'a failure, not a refusal: logged with its stack and cause')
      assert.match((await store.getConnection('later'))?.secretEncrypted as string, /^v1\./)
      assert.equal(await store.latestChange(), change)
      assert.equal((await store.listAuditEvents({ action: 'secrets.reseal', limit: 10 })).items.length, 1)
    })
  })
}

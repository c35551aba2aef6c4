import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { FlowgateError } from '../../src/lib/errors.ts'
import { createLogger } from '../../src/lib/logger.ts'
import { createChangeFeed } from '../../src/store/change-feed.ts'
import { type OpenedBackend, storeBackends } from '../helpers/databases.ts'
import { type OAuthHarness, startOAuthHarness, testClock } from '../helpers/oauth-harness.ts'

const actor = { actor: 'admin-1', sourceAddress: '192.0.2.1' }
const hourMs = 3_600_000

for (const backendType of storeBackends()) {
  describe(`key ring (${backendType.name})`, () => {
    let backend: OpenedBackend
    const clock = testClock()
    let node: OAuthHarness

    before(async () => {
      backend = await backendType.open()
      node = await startOAuthHarness(backend.store, {
        clock,
        overrides: { 'tokens.maxValiditySeconds': 3600, 'tokens.signingKeyLifetimeDays': 1 },
      })
    })
    after(async () => {
      await node.close()
      await backend.drop()
    })

    async function states(): Promise<Record<string, string[]>> {
      const byState: Record<string, string[]> = { next: [], active: [], retired: [] }
      for (const key of await backend.store.listSigningKeys()) byState[key.state]?.push(key.kid)
      return byState
    }

    async function audits(action: string) {
      return (await backend.store.listAuditEvents({ action, limit: 100 })).items
    }

    test('first start: one active and one next ES256 key (the default), both published, private keys sealed', async () => {
      const keys = await backend.store.listSigningKeys()
      const { active, next } = await states()
      assert.equal(active?.length, 1)
      assert.equal(next?.length, 1)
      assert.equal(node.identity.keyRing.signer().kid, active?.[0])
      const published = JSON.parse(node.identity.keyRing.jwksJson()) as {
        keys: Array<Record<string, unknown>>
      }
      assert.deepEqual(
        published.keys.map((jwk) => jwk.kid).sort(),
        [...(active ?? []), ...(next ?? [])].sort(),
      )
      for (const jwk of published.keys) {
        assert.deepEqual(Object.keys(jwk).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y'])
        assert.equal(jwk.alg, 'ES256')
        assert.equal(jwk.crv, 'P-256')
        assert.equal(jwk.use, 'sig')
      }
      for (const key of keys) {
        assert.match(key.privateKeyEncrypted, /^v2\./)
        assert.ok(!key.privateKeyEncrypted.includes('PRIVATE KEY'))
      }
      assert.equal((await audits('signing-key.create')).length, 2)
    })

    test('a second node on the same database adds no keys', async () => {
      const second = await startOAuthHarness(backend.store, { clock })
      try {
        assert.equal((await backend.store.listSigningKeys()).length, 2)
        assert.equal(second.identity.keyRing.signer().kid, node.identity.keyRing.signer().kid)
      } finally {
        await second.close()
      }
    })

    test('rotation: next → active, active → retired and published until its last token expired', async () => {
      const before = await states()
      const result = await node.identity.service.rotateSigningKey(actor)
      const after = await states()
      assert.deepEqual(after.active, before.next)
      assert.deepEqual(after.retired, before.active)
      assert.equal(after.next?.length, 1)
      assert.deepEqual(result, { active: before.next?.[0], next: after.next?.[0], retired: before.active })
      assert.equal(node.identity.keyRing.signer().kid, before.next?.[0])
      const retired = (await backend.store.listSigningKeys()).find((key) => key.state === 'retired')
      assert.equal(retired?.publishUntil, clock.now() + (3600 + 30) * 1000)
      assert.equal(node.identity.keyRing.publishedKeys().length, 3)
      const [event] = await audits('signing-key.rotate')
      assert.equal(event?.actor, 'admin-1')
      assert.equal(event?.sourceAddress, '192.0.2.1')
      assert.deepEqual(event?.before, { active: before.active, next: before.next?.[0] })
      assert.ok(!JSON.stringify(event).includes('v1.'), 'no sealed private key in the audit trail')

      clock.advance((3600 + 30) * 1000 - 1)
      await node.identity.keyRing.maintain()
      assert.equal(
        node.identity.keyRing.publishedKeys().length,
        3,
        'still published one ms before publishUntil',
      )
      clock.advance(1)
      await node.identity.keyRing.maintain()
      assert.deepEqual(
        node.identity.keyRing
          .publishedKeys()
          .map((jwk) => jwk.kid)
          .sort(),
        [...(after.active ?? []), ...(after.next ?? [])].sort(),
      )
      assert.deepEqual((await states()).retired, [])
      assert.equal((await audits('signing-key.delete')).length, 1)
    })

    test('automatic rotation once the active key is older than signingKeyLifetimeDays', async () => {
      const active = node.identity.keyRing.signer().kid
      const activatedAt = (await backend.store.listSigningKeys()).find(
        (key) => key.kid === active,
      )?.activatedAt
      clock.set((activatedAt as number) + 24 * hourMs - 1)
      await node.identity.keyRing.maintain()
      assert.equal(node.identity.keyRing.signer().kid, active, 'not yet due')
      clock.advance(1)
      await node.identity.keyRing.maintain()
      assert.notEqual(node.identity.keyRing.signer().kid, active)
      assert.equal((await audits('signing-key.rotate')).at(-1)?.actor, 'system')
    })

    test('other nodes learn of a rotation through the change feed', async () => {
      const feed = createChangeFeed(backend.store, { intervalMs: 60_000, logger: createLogger('silent') })
      const other = await startOAuthHarness(backend.store, { clock, feed })
      await feed.start()
      try {
        await node.identity.service.rotateSigningKey(actor)
        assert.notEqual(other.identity.keyRing.signer().kid, node.identity.keyRing.signer().kid)
        await feed.poke()
        assert.equal(other.identity.keyRing.signer().kid, node.identity.keyRing.signer().kid)
      } finally {
        await feed.stop()
        await other.close()
      }
    })

    test('an unknown kid reloads the ring at most once per cooldown, never before', async () => {
      const other = await startOAuthHarness(backend.store, { clock })
      try {
        await node.identity.service.createInstance('kid-partner', 'integration-flow', {}, actor)
        const key = await node.identity.service.createServiceKey('kid-partner', 'k1', {}, actor)
        // No change feed here: the other node learns of the new key by reloading its index.
        await other.identity.index.load()
        const issue = async () => {
          const entry = node.identity.index.client(key.oauth.clientid)!
          return (await node.identity.issuer.issue({ key: entry.key, instance: entry.instance, roles: [] }))
            .accessToken
        }
        // Twice: the first new active key was already published to the other node as `next`.
        await node.identity.service.rotateSigningKey(actor)
        await node.identity.service.rotateSigningKey(actor)
        const first = await issue()
        // The other node reloaded at start: within the cooldown it does not go to the store again.
        await assert.rejects(
          async () => other.identity.authenticator.authenticate(first),
          (error: unknown) => error instanceof FlowgateError && error.detail === 'unknown kid',
        )
        clock.advance(30_000)
        assert.equal((await other.identity.authenticator.authenticate(first)).clientId, key.oauth.clientid)
        await node.identity.service.rotateSigningKey(actor)
        await node.identity.service.rotateSigningKey(actor)
        const second = await issue()
        await assert.rejects(async () => other.identity.authenticator.authenticate(second))
        clock.advance(30_000)
        assert.equal((await other.identity.authenticator.authenticate(second)).clientId, key.oauth.clientid)
      } finally {
        await other.close()
      }
    })
  })
}

for (const algorithm of ['RS256', 'EdDSA'] as const) {
  describe(`signing algorithm ${algorithm}`, () => {
    let backend: OpenedBackend
    let node: OAuthHarness
    before(async () => {
      backend = await (storeBackends()[0] as ReturnType<typeof storeBackends>[number]).open()
      node = await startOAuthHarness(backend.store, { overrides: { 'tokens.algorithm': algorithm } })
    })
    after(async () => {
      await node.close()
      await backend.drop()
    })

    test('keys, tokens and verification use it', async () => {
      const published = node.identity.keyRing.publishedKeys()
      assert.deepEqual(
        published.map((jwk) => [jwk.alg, jwk.kty, jwk.crv]),
        algorithm === 'RS256'
          ? [
              ['RS256', 'RSA', undefined],
              ['RS256', 'RSA', undefined],
            ]
          : [
              ['EdDSA', 'OKP', 'Ed25519'],
              ['EdDSA', 'OKP', 'Ed25519'],
            ],
      )
      await node.identity.service.createInstance('p', 'integration-flow', {}, actor)
      const key = await node.identity.service.createServiceKey('p', 'k', {}, actor)
      const entry = node.identity.index.client(key.oauth.clientid)!
      const { accessToken } = await node.identity.issuer.issue({ ...entry, roles: ['ESBMessaging.send'] })
      const header = JSON.parse(Buffer.from(accessToken.split('.')[0] as string, 'base64url').toString())
      assert.equal(header.alg, algorithm)
      assert.deepEqual(
        (await node.identity.authenticator.authenticate(accessToken)).roles,
        new Set(['ESBMessaging.send']),
      )
    })
  })
}

describe('a configured algorithm other than the ring keys', () => {
  let backend: OpenedBackend
  before(async () => {
    backend = await (storeBackends()[0] as ReturnType<typeof storeBackends>[number]).open()
  })
  after(async () => {
    await backend.drop()
  })

  test('existing keys keep theirs; the new one arrives as next, and signs only after the next rotation', async () => {
    const clock = testClock()
    const rsa = await startOAuthHarness(backend.store, { clock, overrides: { 'tokens.algorithm': 'RS256' } })
    await rsa.close()
    const byState = async () => {
      const keys = await backend.store.listSigningKeys()
      const of = (state: string) => keys.filter((key) => key.state === state).map((key) => key.alg)
      return { active: of('active'), next: of('next'), retired: of('retired') }
    }

    // The default (ES256) configured over a ring of RS256 keys: nothing is generated, RS256 signs.
    const node = await startOAuthHarness(backend.store, { clock })
    try {
      assert.equal(node.config.tokens.algorithm, 'ES256')
      assert.deepEqual(await byState(), { active: ['RS256'], next: ['RS256'], retired: [] })
      assert.equal(node.identity.keyRing.signer().alg, 'RS256')

      await node.identity.service.rotateSigningKey(actor)
      assert.deepEqual(await byState(), { active: ['RS256'], next: ['ES256'], retired: ['RS256'] })
      assert.equal(node.identity.keyRing.signer().alg, 'RS256')

      await node.identity.service.rotateSigningKey(actor)
      assert.deepEqual(await byState(), {
        active: ['ES256'],
        next: ['ES256'],
        retired: ['RS256', 'RS256'],
      })
      await node.identity.service.createInstance('p', 'integration-flow', {}, actor)
      const key = await node.identity.service.createServiceKey('p', 'k', {}, actor)
      const entry = node.identity.index.client(key.oauth.clientid)!
      const { accessToken } = await node.identity.issuer.issue({ ...entry, roles: [] })
      const header = JSON.parse(Buffer.from(accessToken.split('.')[0] as string, 'base64url').toString())
      assert.equal(header.alg, 'ES256')
      assert.equal((await node.identity.authenticator.authenticate(accessToken)).clientId, key.oauth.clientid)
    } finally {
      await node.close()
    }
  })
})

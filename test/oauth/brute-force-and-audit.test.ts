import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { SapServiceKey } from '../../src/identity/identity-service.ts'
import { createLogger } from '../../src/lib/logger.ts'
import { createFailureAudit } from '../../src/oauth/failure-audit.ts'
import { type OpenedBackend, storeBackends } from '../helpers/databases.ts'
import { type OAuthHarness, startOAuthHarness, testClock } from '../helpers/oauth-harness.ts'

const actor = { actor: 'cli', sourceAddress: null }

function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`
}

describe('brute-force protection and failure audit over HTTPS', () => {
  let backend: OpenedBackend
  let harness: OAuthHarness
  let key: SapServiceKey

  before(async () => {
    backend = await (storeBackends()[0] as ReturnType<typeof storeBackends>[number]).open()
    harness = await startOAuthHarness(backend.store, {
      clock: testClock(Date.UTC(2025, 6, 2, 0, 0, 0)),
      overrides: {
        'bruteForce.maxFailuresPerClient': 3,
        'bruteForce.maxFailuresPerAddress': 5,
        'bruteForce.blockSeconds': 20,
        'bruteForce.windowSeconds': 60,
      },
    })
    await harness.identity.service.createInstance('partner-a', 'integration-flow', {}, actor)
    key = await harness.identity.service.createServiceKey('partner-a', 'k1', {}, actor)
  })
  after(async () => {
    await harness.close()
    await backend.drop()
  })

  const ask = (secret: string, clientAddress: string, clientId = key.oauth.clientid) =>
    harness.request('/oauth/token?grant_type=client_credentials', {
      method: 'POST',
      headers: { authorization: basic(clientId, secret) },
      clientAddress,
    })

  test('a client id over its limit gets 429 with Retry-After, even with the right secret, then recovers', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await ask('wrong', `203.0.113.${i}`)).status, 401)
    const blocked = await ask(key.oauth.clientsecret, '203.0.113.50')
    assert.equal(blocked.status, 429)
    assert.equal(blocked.headers['retry-after'], '20')
    assert.deepEqual(blocked.json(), {
      error: 'slow_down',
      error_description: 'too many failed attempts, retry later',
      code: 'ERR_OAUTH_SLOW_DOWN',
      correlation_id: blocked.headers['x-correlation-id'],
    })
    assert.ok(!blocked.text.includes('access_token'))
    harness.clock.advance(20_000)
    assert.equal((await ask(key.oauth.clientsecret, '203.0.113.50')).status, 200)
  })

  test('an address spraying client ids is blocked, other addresses are not', async () => {
    for (let i = 0; i < 5; i++) {
      assert.equal((await ask('guess', '192.0.2.66', `sb-guess-${i}!b1|it-rt-flowgate!b1`)).status, 401)
    }
    assert.equal((await ask(key.oauth.clientsecret, '192.0.2.66')).status, 429)
    assert.equal((await ask(key.oauth.clientsecret, '192.0.2.67')).status, 200)
    // A success elsewhere did not reset the spraying address.
    assert.equal((await ask(key.oauth.clientsecret, '192.0.2.66')).status, 429)
  })

  test('failures become one token.failures audit event per client and window, with counts by reason', async () => {
    harness.clock.advance(60_000)
    await harness.endpoints.close()
    const events = (await backend.store.listAuditEvents({ action: 'token.failures', limit: 100 })).items
    const forKey = events.filter((event) => event.target === `client:${key.oauth.clientid}`)
    assert.equal(forKey.length, 1)
    assert.equal(forKey[0]?.actor, key.oauth.clientid)
    const after = forKey[0]?.after as Record<string, unknown>
    // Three wrong secrets; one blocked attempt in the first test and two from the blocked address.
    assert.deepEqual(after.reasons, { ERR_OAUTH_INVALID_CLIENT: 3, ERR_OAUTH_SLOW_DOWN: 3 })
    assert.equal(after.failures, 6)
    const sprayer = events.find((event) => event.target === 'address:192.0.2.66')
    assert.equal(sprayer?.actor, 'unknown')
    assert.equal(sprayer?.sourceAddress, '192.0.2.66')
    assert.deepEqual((sprayer?.after as Record<string, unknown> | undefined)?.reasons, {
      ERR_OAUTH_INVALID_CLIENT: 5,
    })
    assert.ok(!JSON.stringify(events).includes(key.oauth.clientsecret))
  })
})

describe('failure audit', () => {
  test('keeps aggregates the store could not take and writes them later; never drops them', async () => {
    const backendType = storeBackends()[0] as ReturnType<typeof storeBackends>[number]
    const backend = await backendType.open()
    let time = Date.UTC(2025, 0, 1)
    let storeDown = true
    const lines: string[] = []
    const logger = createLogger('info', {
      write: (line: string) => {
        lines.push(line)
        return true
      },
    } as unknown as NodeJS.WritableStream)
    const audit = createFailureAudit({
      store: {
        appendAudit: (event, at) =>
          storeDown ? Promise.reject(new Error('connection refused')) : backend.store.appendAudit(event, at),
      },
      logger,
      windowMs: 60_000,
      now: () => time,
    })
    try {
      audit.record({ clientId: 'client-1', address: '10.0.0.1', reason: 'ERR_OAUTH_INVALID_CLIENT' })
      audit.record({ clientId: 'client-1', address: '10.0.0.2', reason: 'ERR_OAUTH_INVALID_CLIENT' })
      audit.record({ clientId: undefined, address: '10.0.0.3', reason: 'ERR_OAUTH_INVALID_REQUEST' })
      await audit.flush()
      assert.equal(audit.pending(), 2, 'the window has not ended: nothing written yet')
      time += 60_000
      await audit.flush()
      assert.equal(audit.pending(), 2, 'store down: kept')
      assert.ok(
        lines.some((line) => line.includes('"pendingAggregates":2')),
        'the count is logged',
      )
      storeDown = false
      await audit.flush()
      assert.equal(audit.pending(), 0)
      const events = (await backend.store.listAuditEvents({ action: 'token.failures', limit: 10 })).items
      assert.deepEqual(
        events.map((event) => [event.actor, event.target, event.sourceAddress, event.after]),
        [
          [
            'client-1',
            'client:client-1',
            null,
            {
              windowStart: Date.UTC(2025, 0, 1),
              windowEnd: Date.UTC(2025, 0, 1) + 60_000,
              failures: 2,
              reasons: { ERR_OAUTH_INVALID_CLIENT: 2 },
              addresses: ['10.0.0.1', '10.0.0.2'],
              addressesTruncated: false,
            },
          ],
          [
            'unknown',
            'address:10.0.0.3',
            '10.0.0.3',
            {
              windowStart: Date.UTC(2025, 0, 1),
              windowEnd: Date.UTC(2025, 0, 1) + 60_000,
              failures: 1,
              reasons: { ERR_OAUTH_INVALID_REQUEST: 1 },
              addresses: ['10.0.0.3'],
              addressesTruncated: false,
            },
          ],
        ],
      )
    } finally {
      await audit.close()
      await backend.drop()
    }
  })

  test('beyond its bound, new sources are counted in one overflow aggregate', async () => {
    const written: unknown[] = []
    const audit = createFailureAudit({
      store: {
        appendAudit: async (event) => {
          written.push(event)
          return undefined as never
        },
      },
      logger: createLogger('silent'),
      windowMs: 60_000,
      maxAggregates: 2,
      now: () => 0,
    })
    for (let i = 0; i < 5; i++) audit.record({ clientId: undefined, address: `10.0.1.${i}`, reason: 'R' })
    assert.equal(audit.pending(), 3)
    await audit.close()
    assert.deepEqual(
      written.map((event) => {
        const { target, after } = event as { target: string; after: { failures: number } }
        return [target, after.failures]
      }),
      [
        ['address:10.0.1.0', 1],
        ['address:10.0.1.1', 1],
        ['overflow', 3],
      ],
    )
  })
})

import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { assertError, frozenIso } from '../admin/admin-api-assertions.ts'
import { type AdminHarness, startAdminHarness } from '../helpers/admin-harness.ts'
import { type OpenedBackend, storeBackends } from '../helpers/databases.ts'

const t0 = Date.parse(frozenIso)
const day = 86_400_000

describe('service key expiry through the admin API: a passed expiry is final', () => {
  let backend: OpenedBackend
  let harness: AdminHarness
  let token: string

  before(async () => {
    backend = await (storeBackends()[0] as ReturnType<typeof storeBackends>[number]).open()
    harness = await startAdminHarness(backend.store)
    token = (await harness.token('admins', 'api', ['Flowgate.Admin'])).token
    assert.equal((await call('POST', '/admin/v1/instances', { name: 'acme' })).status, 201)
  })
  after(async () => {
    await harness.close()
    await backend.drop()
  })

  function call(method: string, path: string, body?: unknown) {
    return harness.call(method, path, body === undefined ? { token } : { token, body })
  }

  async function createKey(name: string): Promise<{ clientid: string; clientsecret: string }> {
    const created = await call('POST', '/admin/v1/instances/acme/keys', { name })
    assert.equal(created.status, 201, created.text)
    return (created.body as { oauth: { clientid: string; clientsecret: string } }).oauth
  }

  function tokenStatus(key: { clientid: string; clientsecret: string }): Promise<number> {
    const credentials = Buffer.from(
      `${encodeURIComponent(key.clientid)}:${encodeURIComponent(key.clientsecret)}`,
    ).toString('base64')
    return harness.oauth
      .request('/oauth/token?grant_type=client_credentials', {
        method: 'POST',
        headers: { authorization: `Basic ${credentials}` },
      })
      .then((response) => response.status)
  }

  async function expiryEvents(key: string) {
    const events = await backend.store.listAuditEvents({ action: 'key.expire', limit: 100 })
    return events.items
      .filter((event) => event.target === `key:acme/${key}`)
      .map((event) => ({
        before: (event.before as { expiresAt: number | null }).expiresAt,
        after: (event.after as { expiresAt: number | null }).expiresAt,
      }))
  }

  test('an expired key cannot be brought back by a later expiry: 409, nothing written', async () => {
    const key = await createKey('expired')
    assert.equal(
      (await call('POST', '/admin/v1/instances/acme/keys/expired/expire', {})).status,
      200,
      'expiring now is allowed',
    )
    assert.equal(await tokenStatus(key), 401)
    const later = new Date(t0 + 30 * day).toISOString()
    harness.clock.advance(1000)
    const refused = await call('POST', '/admin/v1/instances/acme/keys/expired/expire', { at: later })
    assertError(refused, 409, 'ERR_KEY_EXPIRED', 'the service key has expired; expiry is final')
    const shown = await call('GET', '/admin/v1/instances/acme/keys/expired')
    assert.equal((shown.body as { expiresAt: string }).expiresAt, frozenIso)
    assert.equal((shown.body as { expired: boolean }).expired, true)
    assert.equal(await tokenStatus(key), 401, 'the key still gets no token')
    assert.deepEqual(await expiryEvents('expired'), [{ before: null, after: t0 }], 'no second event')
  })

  test('a future expiry may be moved, each move audited; once it has passed it is final', async () => {
    const key = await createKey('moving')
    const start = harness.clock.now()
    const first = start + day
    const second = start + 2 * day
    const expire = (at: number) =>
      call('POST', '/admin/v1/instances/acme/keys/moving/expire', { at: new Date(at).toISOString() })
    assert.equal((await expire(first)).status, 200)
    const moved = await expire(second)
    assert.equal(moved.status, 200)
    assert.equal((moved.body as { expiresAt: string }).expiresAt, new Date(second).toISOString())
    assert.equal(await tokenStatus(key), 200)
    assert.deepEqual(await expiryEvents('moving'), [
      { before: null, after: first },
      { before: first, after: second },
    ])

    harness.clock.set(second)
    // The administrator's own token has expired meanwhile too.
    token = (await harness.token('admins-later', 'api', ['Flowgate.Admin'])).token
    assert.equal(await tokenStatus(key), 401)
    assertError(
      await expire(second + 7 * day),
      409,
      'ERR_KEY_EXPIRED',
      'the service key has expired; expiry is final',
    )
    assert.equal(await tokenStatus(key), 401)
    assert.equal((await expiryEvents('moving')).length, 2)
  })
})

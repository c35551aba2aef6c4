import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { type AdminHarness, startAdminHarness } from '../helpers/admin-harness.ts'
import { type OpenedBackend, storeBackends } from '../helpers/databases.ts'
import { assertError, assertJson } from './admin-api-assertions.ts'

describe('admin API authentication and authorization', () => {
  let backend: OpenedBackend
  let harness: AdminHarness
  let admin: { token: string; clientId: string }
  let viewer: { token: string; clientId: string }
  let runtime: { token: string; clientId: string }

  before(async () => {
    backend = await (storeBackends()[0] as ReturnType<typeof storeBackends>[number]).open()
    harness = await startAdminHarness(backend.store)
    admin = await harness.token('admins', 'api', ['Flowgate.Admin'])
    viewer = await harness.token('auditors', 'api', ['Flowgate.Viewer'])
    runtime = await harness.token('partner', 'integration-flow', ['ESBMessaging.send'])
  })
  after(async () => {
    await harness.close()
    await backend.drop()
  })

  test('no token: 401 with a Bearer challenge, and nothing is created', async () => {
    const response = await harness.call('POST', '/admin/v1/roles', { body: { name: 'Sneaky.Role' } })
    assertError(response, 401, 'ERR_TOKEN_MISSING', 'authentication required')
    assert.equal(response.headers['www-authenticate'], 'Bearer realm="flowgate-admin"')
    assert.equal(await backend.store.getRole('Sneaky.Role'), undefined)
  })

  test('a Basic header is not a token: 401', async () => {
    const response = await harness.call('GET', '/admin/v1/roles', {
      headers: { authorization: 'Basic YTpi' },
    })
    assertError(response, 401, 'ERR_TOKEN_MISSING', 'authentication required')
    assert.equal(response.headers['www-authenticate'], 'Bearer realm="flowgate-admin"')
  })

  test('a forged token: 401 invalid_token', async () => {
    const forged = `${admin.token.slice(0, -4)}AAAA`
    const response = await harness.call('GET', '/admin/v1/roles', { token: forged })
    assertError(response, 401, 'ERR_TOKEN_INVALID', 'invalid token', 'invalid_token')
    assert.equal(
      response.headers['www-authenticate'],
      'Bearer realm="flowgate-admin", error="invalid_token", error_description="invalid token"',
    )
  })

  test('authentication runs before the body is looked at: unknown fields without a token are 401', async () => {
    const response = await harness.call('POST', '/admin/v1/roles', { body: { name: 'X', surprise: true } })
    assertError(response, 401, 'ERR_TOKEN_MISSING', 'authentication required')
  })

  test('a runtime (plan integration-flow) token is refused with 403 even for reading', async () => {
    const response = await harness.call('GET', '/admin/v1/roles', { token: runtime.token })
    const description = 'forbidden: runtime credentials cannot use the admin API'
    assertError(response, 403, 'ERR_FORBIDDEN', description)
    assert.equal(
      response.headers['www-authenticate'],
      `Bearer realm="flowgate-admin", error="insufficient_scope", error_description="${description}"`,
    )
  })

  test('a viewer reads but cannot write; nothing is written', async () => {
    const read = await harness.call('GET', '/admin/v1/flows', { token: viewer.token })
    assertJson(read, 200, { items: [] })
    const write = await harness.call('POST', '/admin/v1/roles', {
      token: viewer.token,
      body: { name: 'Viewer.Made' },
    })
    assertError(write, 403, 'ERR_FORBIDDEN', 'forbidden: changes need the Flowgate.Admin role')
    assert.equal(await backend.store.getRole('Viewer.Made'), undefined)
    const remove = await harness.call('DELETE', '/admin/v1/instances/partner', { token: viewer.token })
    assertError(remove, 403, 'ERR_FORBIDDEN', 'forbidden: changes need the Flowgate.Admin role')
    assert.notEqual(await backend.store.getInstanceByName('partner'), undefined)
  })

  test('an admin writes, and the audit event names its client id and source address', async () => {
    const response = await harness.call('POST', '/admin/v1/roles', {
      token: admin.token,
      body: { name: 'Partner.Orders', description: 'orders' },
    })
    assertJson(response, 201, {
      name: 'Partner.Orders',
      description: 'orders',
      builtIn: false,
      createdAt: '2025-07-02T00:17:31.000Z',
    })
    const page = await backend.store.listAuditEvents({ action: 'role.create' })
    const event = page.items.at(-1)
    assert.equal(event?.actor, admin.clientId)
    assert.equal(event?.sourceAddress, '127.0.0.1')
    assert.equal(event?.target, 'role:Partner.Orders')
  })

  test('public endpoints need no token', async () => {
    assertJson(await harness.call('GET', '/livez'), 200, { status: 'ok' })
    assertJson(await harness.call('GET', '/readyz'), 200, { status: 'ready' })
    harness.setReady(false)
    assertJson(await harness.call('GET', '/readyz'), 503, { status: 'unavailable' })
    harness.setReady(true)
  })

  test('unknown paths are 404 in the error shape', async () => {
    assertError(
      await harness.call('GET', '/admin/v1/nothing-here', { token: admin.token }),
      404,
      'ERR_NOT_FOUND',
      'not found',
    )
  })

  test('refusals are aggregated into audit events when the window closes (no token ever logged)', async () => {
    // Close the server: it flushes every open window.
    await harness.admin.close()
    const events = (await backend.store.listAuditEvents({ limit: 1000 })).items.filter((event) =>
      event.action.startsWith('admin.'),
    )
    const summary = events.map((event) => ({
      actor: event.actor,
      action: event.action,
      source: event.sourceAddress,
      code: (event.after as { code: string }).code,
      count: (event.after as { count: number }).count,
    }))
    assert.deepEqual(
      summary.sort((a, b) => `${a.actor}${a.code}`.localeCompare(`${b.actor}${b.code}`)),
      [
        {
          actor: 'anonymous',
          action: 'admin.authentication-failure',
          source: '127.0.0.1',
          code: 'ERR_TOKEN_INVALID',
          count: 1,
        },
        {
          actor: 'anonymous',
          action: 'admin.authentication-failure',
          source: '127.0.0.1',
          code: 'ERR_TOKEN_MISSING',
          count: 3,
        },
        {
          actor: runtime.clientId,
          action: 'admin.authorization-failure',
          source: '127.0.0.1',
          code: 'ERR_FORBIDDEN',
          count: 1,
        },
        {
          actor: viewer.clientId,
          action: 'admin.authorization-failure',
          source: '127.0.0.1',
          code: 'ERR_FORBIDDEN',
          count: 2,
        },
      ].sort((a, b) => `${a.actor}${a.code}`.localeCompare(`${b.actor}${b.code}`)),
    )
    for (const secret of [admin.token, viewer.token, runtime.token]) {
      assert.equal(harness.logText().includes(secret), false)
      assert.equal(JSON.stringify(events).includes(secret), false)
    }
  })
})

describe('admin API bearer parsing', () => {
  let backend: OpenedBackend
  let harness: AdminHarness

  before(async () => {
    backend = await (storeBackends()[0] as ReturnType<typeof storeBackends>[number]).open()
    harness = await startAdminHarness(backend.store)
  })
  after(async () => {
    await harness.close()
    await backend.drop()
  })

  test('the runtime parser reads admin tokens: two Authorization headers are no token, even with a valid first', async () => {
    const admin = await harness.token('admins', 'api', ['Flowgate.Admin'])
    assertJson(await harness.call('GET', '/admin/v1/flows', { token: admin.token }), 200, { items: [] })
    const twice = [`Bearer ${admin.token}`, `Bearer ${admin.token}`] as unknown as string
    const response = await harness.call('GET', '/admin/v1/flows', { headers: { authorization: twice } })
    assertError(response, 401, 'ERR_TOKEN_MISSING', 'authentication required')
    assert.equal(response.headers['www-authenticate'], 'Bearer realm="flowgate-admin"')
    const lowerScheme = await harness.call('GET', '/admin/v1/flows', {
      headers: { authorization: `bearer   ${admin.token}  ` },
    })
    assertJson(lowerScheme, 200, { items: [] })
  })
})

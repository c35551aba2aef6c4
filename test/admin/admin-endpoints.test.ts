import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { after, before, describe, test } from 'node:test'
import { openApiText } from '../../src/admin/write-openapi.ts'
import { type AdminHarness, type AdminResponse, startAdminHarness } from '../helpers/admin-harness.ts'
import { type OpenedBackend, storeBackends } from '../helpers/databases.ts'
import { assertError, assertJson, assertNoContent, frozenIso, uuid } from './admin-api-assertions.ts'

const t0 = Date.parse(frozenIso)

describe('admin API endpoints', () => {
  let backend: OpenedBackend
  let harness: AdminHarness
  let token: string
  let adminClient: string

  before(async () => {
    backend = await (storeBackends()[0] as ReturnType<typeof storeBackends>[number]).open()
    harness = await startAdminHarness(backend.store)
    const admin = await harness.token('admins', 'api', ['Flowgate.Admin'])
    token = admin.token
    adminClient = admin.clientId
  })
  after(async () => {
    await harness.close()
    await backend.drop()
  })

  const call = (method: string, path: string, body?: unknown) =>
    harness.call(method, path, body === undefined ? { token } : { token, body })

  test('roles: create, show, list, conflicts, delete', async () => {
    assertJson(await call('POST', '/admin/v1/roles', { name: 'Partner.Orders' }), 201, {
      name: 'Partner.Orders',
      description: null,
      builtIn: false,
      createdAt: frozenIso,
    })
    assertJson(await call('GET', '/admin/v1/roles/Partner.Orders'), 200, {
      name: 'Partner.Orders',
      description: null,
      builtIn: false,
      createdAt: frozenIso,
    })
    assertError(
      await call('POST', '/admin/v1/roles', { name: 'Partner.Orders' }),
      409,
      'ERR_ALREADY_EXISTS',
      'role "Partner.Orders" already exists',
    )
    assertError(
      await call('POST', '/admin/v1/roles', { name: 'bad name' }),
      400,
      'ERR_VALIDATION',
      'body.name must match pattern "^[A-Za-z0-9_.]+$"',
    )
    assertError(
      await call('POST', '/admin/v1/roles', { name: 'A', colour: 'red' }),
      400,
      'ERR_UNKNOWN_FIELD',
      'unknown field "colour" in body',
    )
    const list = await call('GET', '/admin/v1/roles')
    assert.deepEqual(
      (list.body as { items: { name: string; builtIn: boolean }[] }).items.map((role) => [
        role.name,
        role.builtIn,
      ]),
      [
        ['ESBMessaging.send', true],
        ['Flowgate.Admin', true],
        ['Flowgate.Viewer', true],
        ['Partner.Orders', false],
      ],
    )
    assertError(
      await call('DELETE', '/admin/v1/roles/Flowgate.Admin'),
      409,
      'ERR_ROLE_BUILT_IN',
      'role "Flowgate.Admin" is built in',
    )
    assertNoContent(await call('DELETE', '/admin/v1/roles/Partner.Orders'))
    assertError(await call('GET', '/admin/v1/roles/Partner.Orders'), 404, 'ERR_NOT_FOUND', 'role not found')
  })

  test('instances: create with SAP parameters, show, update, validation, delete', async () => {
    await call('POST', '/admin/v1/roles', { name: 'Partner.Invoices' })
    const created = await call('POST', '/admin/v1/instances', {
      name: 'acme',
      parameters: { roles: ['Partner.Invoices'], 'token-validity': 600 },
    })
    const id = (created.body as { id: string }).id
    assert.match(id, uuid)
    const expected = {
      id,
      name: 'acme',
      plan: 'integration-flow',
      parameters: {
        roles: ['Partner.Invoices'],
        'grant-types': ['client_credentials'],
        'token-validity': 600,
      },
      createdAt: frozenIso,
      updatedAt: frozenIso,
    }
    assertJson(created, 201, expected)
    assertJson(await call('GET', '/admin/v1/instances/acme'), 200, expected)
    assertJson(
      await call('PATCH', '/admin/v1/instances/acme', { parameters: { 'token-validity': 900 } }),
      200,
      {
        ...expected,
        parameters: { ...expected.parameters, 'token-validity': 900 },
      },
    )
    assertError(
      await call('POST', '/admin/v1/instances', { name: 'x', parameters: { roles: ['Nope'] } }),
      400,
      'ERR_UNKNOWN_ROLE',
      'unknown role "Nope": create it first',
    )
    assertError(
      await call('POST', '/admin/v1/instances', { name: 'x', parameters: { 'grant-types': ['password'] } }),
      400,
      'ERR_UNSUPPORTED_GRANT_TYPE_PARAMETER',
      'unsupported grant type "password": only "client_credentials" is supported',
    )
    assertError(
      await call('POST', '/admin/v1/instances', { name: 'x', parameters: { role: ['A'] } }),
      400,
      'ERR_UNKNOWN_FIELD',
      'unknown field "role" in body.parameters',
    )
    const names = (await call('GET', '/admin/v1/instances')).body as { items: { name: string }[] }
    assert.deepEqual(names.items.map((item) => item.name).sort(), ['acme', 'admins'])
    assertNoContent(await call('DELETE', '/admin/v1/instances/acme'))
    assertError(await call('GET', '/admin/v1/instances/acme'), 404, 'ERR_NOT_FOUND', 'instance not found')
  })

  test('404s do not echo the name asked for: two unknown names get the same body apart from the correlation id', async () => {
    const withoutCorrelation = (response: AdminResponse) => {
      const { correlation_id: _, ...rest } = response.body as Record<string, unknown>
      return { status: response.status, body: rest }
    }
    for (const [first, second] of [
      ['/admin/v1/instances/nobody', '/admin/v1/instances/somebody-else'],
      ['/admin/v1/instances/admins/keys/k-one', '/admin/v1/instances/admins/keys/k-two'],
      ['/admin/v1/instances/nobody/keys/k-one', '/admin/v1/instances/somebody-else/keys/k-two'],
    ] as const) {
      const a = await call('GET', first)
      const b = await call('GET', second)
      assert.deepEqual(withoutCorrelation(a), withoutCorrelation(b))
      assert.equal(a.status, 404)
      assert.doesNotMatch(a.text, /nobody|somebody|k-one|k-two/)
    }
  })

  test("keys: create returns SAP's JSON once; list, show, rotate, expire, delete never show a secret", async () => {
    await call('POST', '/admin/v1/instances', { name: 'globex' })
    const created = await call('POST', '/admin/v1/instances/globex/keys', {
      name: 'k1',
      parameters: { validity: 30 },
    })
    const key = (created.body as { oauth: { clientid: string; clientsecret: string } }).oauth
    assert.match(key.clientid, /^sb-[0-9a-f-]{36}!b\d+\|it-rt-flowgate!b1$/)
    assert.ok(key.clientsecret.length >= 22)
    assertJson(created, 201, {
      oauth: {
        clientid: key.clientid,
        clientsecret: key.clientsecret,
        url: 'https://gateway.example.test',
        createdate: frozenIso,
        tokenurl: 'https://gateway.example.test/oauth/token',
      },
    })
    const summary = {
      name: 'k1',
      instance: 'globex',
      clientId: key.clientid,
      keyType: 'clientsecret',
      secretPrefix: key.clientsecret.slice(0, 6),
      rotation: null,
      expiresAt: new Date(t0 + 30 * 86_400_000).toISOString(),
      expired: false,
      createdAt: frozenIso,
    }
    const list = await call('GET', '/admin/v1/instances/globex/keys')
    assertJson(list, 200, { items: [summary] })
    assertJson(await call('GET', '/admin/v1/instances/globex/keys/k1'), 200, summary)
    assert.equal(list.text.includes(key.clientsecret), false)

    const rotated = await call('POST', '/admin/v1/instances/globex/keys/k1/rotate', { overlapSeconds: 60 })
    const newSecret = (rotated.body as { oauth: { clientsecret: string } }).oauth.clientsecret
    assert.notEqual(newSecret, key.clientsecret)
    assertJson(rotated, 200, {
      oauth: {
        clientid: key.clientid,
        clientsecret: newSecret,
        url: 'https://gateway.example.test',
        createdate: frozenIso,
        tokenurl: 'https://gateway.example.test/oauth/token',
      },
    })
    assertJson(await call('GET', '/admin/v1/instances/globex/keys/k1'), 200, {
      ...summary,
      secretPrefix: newSecret.slice(0, 6),
      rotation: {
        previousSecretPrefix: key.clientsecret.slice(0, 6),
        validUntil: new Date(t0 + 60_000).toISOString(),
      },
    })
    assertJson(await call('POST', '/admin/v1/instances/globex/keys/k1/expire', {}), 200, {
      ...summary,
      secretPrefix: newSecret.slice(0, 6),
      rotation: {
        previousSecretPrefix: key.clientsecret.slice(0, 6),
        validUntil: new Date(t0 + 60_000).toISOString(),
      },
      expiresAt: frozenIso,
      expired: true,
    })
    assertError(
      await call('POST', '/admin/v1/instances/globex/keys/k1/rotate', { overlap: 5 }),
      400,
      'ERR_UNKNOWN_FIELD',
      'unknown field "overlap" in body',
    )
    assertNoContent(await call('DELETE', '/admin/v1/instances/globex/keys/k1'))
    assertError(
      await call('GET', '/admin/v1/instances/globex/keys/k1'),
      404,
      'ERR_NOT_FOUND',
      'service key not found',
    )
    const audit = JSON.stringify((await backend.store.listAuditEvents({ limit: 1000 })).items)
    assert.equal(audit.includes(key.clientsecret), false)
    assert.equal(audit.includes(newSecret), false)
  })

  test('token revoke: the token stops working at once; revoking again is a no-op', async () => {
    const partner = await harness.token('revoked-partner', 'api', ['Flowgate.Viewer'])
    assertJson(await harness.call('GET', '/admin/v1/flows', { token: partner.token }), 200, { items: [] })
    assertNoContent(await call('POST', '/admin/v1/tokens/revoke', { token: partner.token }))
    assertError(
      await harness.call('GET', '/admin/v1/flows', { token: partner.token }),
      401,
      'ERR_TOKEN_REVOKED',
      'invalid token',
      'invalid_token',
    )
    assertNoContent(await call('POST', '/admin/v1/tokens/revoke', { token: partner.token }))
    assertError(
      await call('POST', '/admin/v1/tokens/revoke', { token: 'not-a-jwt' }),
      400,
      'ERR_VALIDATION',
      'token is not an access token issued by this gateway',
    )
    const revocations = await backend.store.listAuditEvents({ action: 'token.revoke' })
    assert.equal(revocations.items.length, 1)
    assert.equal(revocations.items[0]?.actor, adminClient)
  })

  test('connections: secrets are accepted, stored encrypted and never returned', async () => {
    const created = await call('POST', '/admin/v1/connections', {
      name: 'cpi-basic',
      type: 'basic',
      username: 'svc',
      password: 'pa55-w0rd-secret',
    })
    const view = {
      name: 'cpi-basic',
      type: 'basic',
      settings: { username: 'svc' },
      hasSecret: true,
      createdAt: frozenIso,
      updatedAt: frozenIso,
    }
    assertJson(created, 201, view)
    assertJson(await call('GET', '/admin/v1/connections/cpi-basic'), 200, view)
    assertJson(await call('GET', '/admin/v1/connections'), 200, { items: [view] })
    assertJson(
      await call('PUT', '/admin/v1/connections/cpi-basic', {
        type: 'basic',
        username: 'svc2',
        password: 'other-secret',
      }),
      200,
      { ...view, settings: { username: 'svc2' } },
    )
    assertError(
      await call('POST', '/admin/v1/connections', {
        name: 'x',
        type: 'basic',
        username: 'u',
        pasword: 'typo',
      }),
      400,
      'ERR_UNKNOWN_FIELD',
      'unknown field "pasword" in body',
    )
    const stored = await backend.store.getConnection('cpi-basic')
    assert.equal(stored?.secretEncrypted?.includes('other-secret'), false)
    const everything =
      JSON.stringify((await backend.store.listAuditEvents({ limit: 1000 })).items) + harness.logText()
    assert.equal(everything.includes('pa55-w0rd-secret'), false)
    assert.equal(everything.includes('other-secret'), false)
  })

  test('flows: create, show by address (slashes encoded), update, delete', async () => {
    await call('POST', '/admin/v1/roles', { name: 'Partner.Flows' })
    const created = await call('POST', '/admin/v1/flows', {
      address: '/Orders/EU',
      upstream: 'https://cpi.example.test/http/orders',
      role: 'Partner.Flows',
      methods: ['POST', 'PUT'],
      connection: 'cpi-basic',
    })
    const id = (created.body as { id: string }).id
    const flow = {
      id,
      address: '/orders/eu',
      upstream: 'https://cpi.example.test/http/orders',
      role: 'Partner.Flows',
      methods: ['POST', 'PUT'],
      csrf: true,
      maxBodyBytes: 10485760,
      timeoutMs: 60000,
      connection: 'cpi-basic',
      requestHeaders: { mode: 'deny-list' },
      createdAt: frozenIso,
      updatedAt: frozenIso,
    }
    assertJson(created, 201, flow)
    assertJson(await call('GET', '/admin/v1/flows/orders%2Feu'), 200, flow)
    assertJson(await call('GET', `/admin/v1/flows/${id}`), 200, flow)
    assertError(
      await call('DELETE', '/admin/v1/connections/cpi-basic'),
      409,
      'ERR_CONFLICT',
      'upstream connection cpi-basic is used by flow /orders/eu',
    )
    assertJson(await call('PATCH', '/admin/v1/flows/orders%2Feu', { csrf: false, connection: null }), 200, {
      ...flow,
      csrf: false,
      connection: null,
    })
    assertError(
      await call('POST', '/admin/v1/flows', {
        address: '/x',
        upstream: 'https://a.test',
        role: 'Missing.Role',
      }),
      400,
      'ERR_UNKNOWN_ROLE',
      'unknown role Missing.Role',
    )
    assertError(
      await call('PATCH', '/admin/v1/flows/orders%2Feu', { method: ['GET'] }),
      400,
      'ERR_UNKNOWN_FIELD',
      'unknown field "method" in body',
    )
    assertNoContent(await call('DELETE', '/admin/v1/flows/orders%2Feu'))
    assertError(await call('GET', '/admin/v1/flows/orders%2Feu'), 404, 'ERR_NOT_FOUND', 'flow not found')
    assertNoContent(await call('DELETE', '/admin/v1/connections/cpi-basic'))
  })

  test('flows: a request-header allow-list is shown, changed and audited; invalid policies are refused', async () => {
    const created = await call('POST', '/admin/v1/flows', {
      address: '/headers',
      upstream: 'https://cpi.example.test/http/headers',
      requestHeaders: { mode: 'allow-list', allow: ['SAP_ApplicationID', 'Content-Type'] },
    })
    const allowList = { mode: 'allow-list', allow: ['sap_applicationid', 'content-type'] }
    const flow = {
      id: (created.body as { id: string }).id,
      address: '/headers',
      upstream: 'https://cpi.example.test/http/headers',
      role: 'ESBMessaging.send',
      methods: ['POST'],
      csrf: true,
      maxBodyBytes: 10485760,
      timeoutMs: 60000,
      connection: null,
      requestHeaders: allowList,
      createdAt: frozenIso,
      updatedAt: frozenIso,
    }
    assertJson(created, 201, flow)
    assertJson(await call('GET', '/admin/v1/flows/headers'), 200, flow)

    const refused: [unknown, string, string][] = [
      [
        { mode: 'deny-list', allow: ['x-a'] },
        'ERR_VALIDATION',
        'invalid flow: requestHeaders in deny-list mode takes no other property',
      ],
      [
        { mode: 'allow-list' },
        'ERR_VALIDATION',
        'invalid flow: requestHeaders.allow must be an array of header names',
      ],
      [
        { mode: 'allow-list', allow: ['Authorization'] },
        'ERR_VALIDATION',
        'invalid flow: requestHeaders.allow: authorization is always handled by Flowgate and cannot be allowed (docs/runtime.md, "Header rules")',
      ],
      [
        { mode: 'allow-list', allow: ['X-Flowgate-Roles'] },
        'ERR_VALIDATION',
        'invalid flow: requestHeaders.allow: x-flowgate-roles is always handled by Flowgate and cannot be allowed (docs/runtime.md, "Header rules")',
      ],
      [
        { mode: 'allow-list', allow: ['X-HTTP-Method-Override'] },
        'ERR_VALIDATION',
        'invalid flow: requestHeaders.allow: x-http-method-override is always handled by Flowgate and cannot be allowed (docs/runtime.md, "Header rules")',
      ],
      [
        { mode: 'allow-list', allow: ['x-a', 'X-A'] },
        'ERR_VALIDATION',
        'invalid flow: requestHeaders.allow names x-a twice',
      ],
      [
        { mode: 'allow-list', allow: ['bad name'] },
        'ERR_VALIDATION',
        'invalid flow: requestHeaders.allow: "bad name" is not a header name',
      ],
    ]
    for (const [requestHeaders, code, description] of refused) {
      assertError(await call('PATCH', '/admin/v1/flows/headers', { requestHeaders }), 400, code, description)
    }
    assertError(
      await call('PATCH', '/admin/v1/flows/headers', { requestHeaders: { mode: 'open' } }),
      400,
      'ERR_VALIDATION',
      'body.requestHeaders.mode must be one of "deny-list", "allow-list"',
    )
    assertError(
      await call('PATCH', '/admin/v1/flows/headers', {
        requestHeaders: { mode: 'allow-list', allow: Array.from({ length: 65 }, (_, i) => `x-h${i}`) },
      }),
      400,
      'ERR_VALIDATION',
      'body.requestHeaders.allow must NOT have more than 64 items',
    )
    assertJson(await call('GET', '/admin/v1/flows/headers'), 200, flow)

    assertJson(
      await call('PATCH', '/admin/v1/flows/headers', { requestHeaders: { mode: 'deny-list' } }),
      200,
      {
        ...flow,
        requestHeaders: { mode: 'deny-list' },
      },
    )
    const events = (await backend.store.listAuditEvents({ limit: 1000 })).items.filter(
      (event) => event.target === 'flow:/headers',
    )
    assert.deepEqual(
      events.map((event) => [
        event.action,
        (event.before as { requestHeaders?: unknown } | undefined)?.requestHeaders,
        (event.after as { requestHeaders?: unknown }).requestHeaders,
      ]),
      [
        ['flow.create', undefined, allowList],
        ['flow.update', allowList, { mode: 'deny-list' }],
      ],
    )
    assertNoContent(await call('DELETE', '/admin/v1/flows/headers'))
  })

  test('access records: paged and filtered by time, client, flow and status', async () => {
    const record = (n: number, overrides: Record<string, unknown> = {}) => ({
      time: t0 + n * 1000,
      correlationId: `c-${n}`,
      clientId: n % 2 === 0 ? 'client-a' : 'client-b',
      instanceId: null,
      flow: '/orders',
      method: 'POST',
      path: '/http/orders',
      status: n === 3 ? 403 : 200,
      upstreamStatus: n === 3 ? null : 200,
      bytesIn: 10,
      bytesOut: 20,
      durationMs: 5,
      upstreamDurationMs: n === 3 ? null : 4,
      reason: n === 3 ? 'ERR_INSUFFICIENT_SCOPE' : null,
      sourceAddress: '192.0.2.1',
      mplId: null,
      ...overrides,
    })
    await backend.store.insertAccessRecords([1, 2, 3, 4, 5].map((n) => record(n)))
    const view = (n: number) => ({ ...record(n), time: new Date(t0 + n * 1000).toISOString() })
    const first = await call('GET', '/admin/v1/access-records?limit=2')
    const next = (first.body as { next: string }).next
    assert.equal(typeof next, 'string')
    assertJson(first, 200, { items: [view(5), view(4)], next })
    const rest = await call('GET', `/admin/v1/access-records?limit=10&cursor=${encodeURIComponent(next)}`)
    assertJson(rest, 200, { items: [view(3), view(2), view(1)], next: null })
    assertJson(await call('GET', '/admin/v1/access-records?status=403'), 200, {
      items: [view(3)],
      next: null,
    })
    assertJson(await call('GET', '/admin/v1/access-records?clientId=client-a'), 200, {
      items: [view(4), view(2)],
      next: null,
    })
    const from = new Date(t0 + 2000).toISOString()
    const to = new Date(t0 + 4000).toISOString()
    assertJson(await call('GET', `/admin/v1/access-records?from=${from}&to=${to}&flow=/orders`), 200, {
      items: [view(3), view(2)],
      next: null,
    })
    assertError(
      await call('GET', '/admin/v1/access-records?client=a'),
      400,
      'ERR_UNKNOWN_FIELD',
      'unknown field "client" in query',
    )
    assertError(
      await call('GET', '/admin/v1/access-records?from=yesterday'),
      400,
      'ERR_VALIDATION',
      'query.from must match format "date-time"',
    )
  })

  test('audit events: paged, filtered by actor and action, chained; verify reports intact', async () => {
    const page = await call(
      'GET',
      `/admin/v1/audit-events?actor=${encodeURIComponent(adminClient)}&action=role.create`,
    )
    const items = (page.body as { items: { seq: number; hash: string; prevHash: string }[] }).items
    const names = ['Partner.Orders', 'Partner.Invoices', 'Partner.Flows']
    assert.equal(items.length, names.length)
    assertJson(page, 200, {
      items: items.map((item, index) => ({
        seq: item.seq,
        time: frozenIso,
        actor: adminClient,
        sourceAddress: '127.0.0.1',
        action: 'role.create',
        target: `role:${names[index]}`,
        after: {
          name: names[index],
          description: null,
          builtIn: false,
          createdAt: t0,
        },
        prevHash: item.prevHash,
        hash: item.hash,
      })),
      next: null,
    })
    const all = (await call('GET', '/admin/v1/audit-events?limit=1000')).body as { items: { seq: number }[] }
    assert.deepEqual(
      all.items.map((item) => item.seq),
      all.items.map((_item, index) => index + 1),
    )
    assertJson(await call('POST', '/admin/v1/audit-events/verify', {}), 200, {
      ok: true,
      events: all.items.length,
      firstBroken: null,
    })
  })

  test('signing keys: list, rotate (next becomes active), public information only', async () => {
    const before = (await call('GET', '/admin/v1/signing-keys')).body as {
      items: { kid: string; state: string }[]
    }
    const next = before.items.find((key) => key.state === 'next')?.kid
    const rotated = await call('POST', '/admin/v1/signing-keys/rotate', {})
    assert.equal(rotated.status, 200)
    const items = (rotated.body as { items: Record<string, unknown>[] }).items
    assert.equal(items.find((key) => key.state === 'active')?.kid, next)
    for (const key of items) {
      assert.deepEqual(Object.keys(key).sort(), [
        'activatedAt',
        'alg',
        'createdAt',
        'kid',
        'publishUntil',
        'retiredAt',
        'state',
      ])
    }
    const rotations = await backend.store.listAuditEvents({ action: 'signing-key.rotate' })
    assert.equal(rotations.items.at(-1)?.actor, adminClient)
  })

  test('the OpenAPI document is served and identical to docs/openapi.json', async () => {
    const served = await harness.call('GET', '/admin/v1/openapi.json')
    assert.equal(served.status, 200)
    const file = readFileSync(new URL('../../docs/openapi.json', import.meta.url), 'utf8')
    assert.equal(file, openApiText(), 'docs/openapi.json is stale: run node src/admin/write-openapi.ts')
    assert.deepEqual(served.body, JSON.parse(file))
    const document = served.body as {
      openapi: string
      paths: Record<string, Record<string, { operationId: string }>>
    }
    assert.equal(document.openapi, '3.1.0')
    assert.equal(document.paths['/admin/v1/instances/{name}/keys']?.post?.operationId, 'createKey')
  })

  test('one role-name rule: a flow may require any role an admin can create, and no longer one', async () => {
    const longest = `Partner.${'R'.repeat(92)}`
    assertJson(await call('POST', '/admin/v1/roles', { name: longest }), 201, {
      name: longest,
      description: null,
      builtIn: false,
      createdAt: frozenIso,
    })
    const created = await call('POST', '/admin/v1/flows', {
      address: '/long-role',
      upstream: 'https://cpi.example.test/http/long',
      role: longest,
    })
    assert.equal(created.status, 201, created.text)
    assert.equal((created.body as { role: string }).role, longest)
    for (const path of ['/admin/v1/roles', '/admin/v1/flows']) {
      const body =
        path === '/admin/v1/roles'
          ? { name: `${longest}X` }
          : { address: '/longer-role', upstream: 'https://cpi.example.test/x', role: `${longest}X` }
      const at = path === '/admin/v1/roles' ? 'body.name' : 'body.role'
      assertError(
        await call('POST', path, body),
        400,
        'ERR_VALIDATION',
        `${at} must NOT have more than 100 characters`,
      )
    }
    assertNoContent(await call('DELETE', '/admin/v1/flows/long-role'))
    assertNoContent(await call('DELETE', `/admin/v1/roles/${longest}`))
  })
})

import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { loadConfig } from '../../src/config/load.ts'
import { createFlowService, type FlowChange, type FlowService } from '../../src/flows/flow-service.ts'
import { FlowgateError } from '../../src/lib/errors.ts'
import { createSecretBox, masterKeyFromBytes, type SecretBox } from '../../src/secrets/master-key.ts'
import type { AuditEvent, Store } from '../../src/store/types.ts'
import { type OpenedBackend, storeBackends } from '../helpers/databases.ts'
import { testPki } from '../helpers/pki.ts'

const admin = { actor: 'sb-admin!b1|it-rt-flowgate!b1', sourceAddress: '10.0.0.9' }
const password = 'basic-Password-77'
const clientSecret = 'oauth-Secret-88'
const config = loadConfig({ env: {} })

async function rejection(promise: Promise<unknown>): Promise<{ code: string; description: string }> {
  try {
    await promise
  } catch (error) {
    assert.ok(error instanceof FlowgateError, String(error))
    return { code: error.code, description: error.description }
  }
  assert.fail('expected a FlowgateError')
}

async function auditEvents(store: Store): Promise<AuditEvent[]> {
  const events: AuditEvent[] = []
  for await (const event of store.iterateAuditEvents()) events.push(event)
  return events
}

for (const backend of storeBackends()) {
  describe(`flow service (${backend.name})`, () => {
    let opened: OpenedBackend
    let store: Store
    let flows: FlowService
    let box: SecretBox
    const changes: FlowChange[] = []
    let time = Date.UTC(2026, 2, 1)

    before(async () => {
      opened = await backend.open()
      store = opened.store
      box = createSecretBox(masterKeyFromBytes(randomBytes(32)))
      flows = createFlowService({
        store,
        secretBox: box,
        config,
        onChange: (change) => {
          changes.push(change)
        },
        now: () => time,
      })
      await store.createRole({ name: 'Partner.read', description: null, builtIn: false, createdAt: time })
    })
    after(() => opened.drop())

    test('createFlow stores the normalised flow and its audit event in one transaction', async () => {
      const auditBefore = (await auditEvents(store)).length
      const flow = await flows.createFlow(
        { address: 'Orders/', upstream: 'https://cpi.example.com/http/orders' },
        admin,
      )
      assert.deepEqual(flow, {
        id: flow.id,
        address: '/orders',
        upstream: 'https://cpi.example.com/http/orders',
        role: 'ESBMessaging.send',
        methods: ['POST'],
        csrf: true,
        maxBodyBytes: 10_485_760,
        timeoutMs: 60_000,
        connection: null,
        requestHeaders: { mode: 'deny-list' },
        createdAt: time,
        updatedAt: time,
      })
      assert.match(flow.id, /^[0-9a-f-]{36}$/)
      assert.deepEqual(await store.getFlow(flow.id), flow)
      const events = await auditEvents(store)
      assert.equal(events.length, auditBefore + 1)
      const event = events.at(-1) as AuditEvent
      assert.deepEqual(
        {
          actor: event.actor,
          sourceAddress: event.sourceAddress,
          action: event.action,
          target: event.target,
          after: event.after,
        },
        { ...admin, action: 'flow.create', target: 'flow:/orders', after: flow },
      )
      assert.deepEqual(changes.at(-1), { kind: 'flow', id: flow.id })
    })

    test('addresses are unique whatever their case; role and connection must exist; nothing is written on failure', async () => {
      const auditBefore = (await auditEvents(store)).length
      const flowCount = (await flows.listFlows()).length
      assert.deepEqual(
        await rejection(
          flows.createFlow({ address: '/ORDERS', upstream: 'https://cpi.example.com/x' }, admin),
        ),
        {
          code: 'ERR_ALREADY_EXISTS',
          description: 'a flow already has the address /orders',
        },
      )
      assert.deepEqual(
        await rejection(
          flows.createFlow({ address: '/a', upstream: 'https://cpi.example.com/x', role: 'No.such' }, admin),
        ),
        { code: 'ERR_UNKNOWN_ROLE', description: 'unknown role No.such' },
      )
      assert.deepEqual(
        await rejection(
          flows.createFlow(
            { address: '/a', upstream: 'https://cpi.example.com/x', connection: 'nope' },
            admin,
          ),
        ),
        { code: 'ERR_VALIDATION', description: 'invalid flow: upstream connection nope does not exist' },
      )
      assert.deepEqual(
        await rejection(flows.createFlow({ address: '/a', upstream: 'http://cpi.example.com/x' }, admin)),
        {
          code: 'ERR_VALIDATION',
          description:
            'invalid upstream URL: http is only allowed for loopback hosts (see upstream.unsafeAllowHttp)',
        },
      )
      assert.equal((await auditEvents(store)).length, auditBefore)
      assert.equal((await flows.listFlows()).length, flowCount)
    })

    test('getFlow finds a flow by id or by any spelling of its address', async () => {
      const flow = await flows.getFlow('/orders')
      assert.deepEqual(await flows.getFlow(flow.id), flow)
      assert.deepEqual(await flows.getFlow('ORDERS/'), flow)
      assert.deepEqual(await rejection(flows.getFlow('/missing')), {
        code: 'ERR_NOT_FOUND',
        description: 'flow not found',
      })
      assert.deepEqual(await rejection(flows.getFlow('not-an-id')), {
        code: 'ERR_NOT_FOUND',
        description: 'flow not found',
      })
    })

    test('updateFlow validates the result as a whole and audits before and after', async () => {
      const before = await flows.getFlow('/orders')
      await flows.createFlow(
        { address: '/invoices', upstream: 'https://cpi.example.com/http/invoices' },
        admin,
      )
      time += 1000
      const updated = await flows.updateFlow(
        before.id,
        { methods: ['post', 'GET'], role: 'Partner.read', csrf: false },
        admin,
      )
      assert.deepEqual(updated, {
        ...before,
        methods: ['POST', 'GET'],
        role: 'Partner.read',
        csrf: false,
        updatedAt: time,
      })
      const event = (await auditEvents(store)).at(-1) as AuditEvent
      assert.deepEqual(
        [event.action, event.target, event.before, event.after],
        ['flow.update', 'flow:/orders', before, updated],
      )
      assert.deepEqual(await rejection(flows.updateFlow(before.id, { address: '/Invoices' }, admin)), {
        code: 'ERR_ALREADY_EXISTS',
        description: 'a flow already has the address /invoices',
      })
      assert.deepEqual(await rejection(flows.updateFlow(before.id, { timeoutMs: 5 }, admin)), {
        code: 'ERR_VALIDATION',
        description: 'invalid flow: timeoutMs must be an integer from 100 to 600000',
      })
      const moved = await flows.updateFlow('/orders', { address: '/orders/*' }, admin)
      assert.equal(moved.address, '/orders/*')
      assert.deepEqual(await flows.getFlow(before.id), moved)
    })

    test('deleteFlow removes the flow and audits what it was', async () => {
      const flow = await flows.getFlow('/invoices')
      await flows.deleteFlow('/INVOICES', admin)
      assert.equal(await store.getFlow(flow.id), undefined)
      const event = (await auditEvents(store)).at(-1) as AuditEvent
      assert.deepEqual(
        [event.action, event.target, event.before, event.after],
        ['flow.delete', 'flow:/invoices', flow, undefined],
      )
      assert.deepEqual(await rejection(flows.deleteFlow(flow.id, admin)), {
        code: 'ERR_NOT_FOUND',
        description: 'flow not found',
      })
      assert.deepEqual(changes.at(-1), { kind: 'flow', id: flow.id })
    })

    test('basic connections seal the password and never return it', async () => {
      const view = await flows.createConnection(
        { name: 'cpi-basic', type: 'basic', username: 'cpi', password },
        admin,
      )
      assert.deepEqual(view, {
        name: 'cpi-basic',
        type: 'basic',
        settings: { username: 'cpi' },
        hasSecret: true,
        createdAt: time,
        updatedAt: time,
      })
      const stored = await store.getConnection('cpi-basic')
      assert.ok(stored?.secretEncrypted?.startsWith('v2.'))
      assert.equal(stored?.secretEncrypted?.includes(password), false)
      assert.deepEqual(
        JSON.parse(box.open(stored?.secretEncrypted as string, 'connection:cpi-basic:secret')),
        {
          password,
        },
      )
      assert.deepEqual(await flows.getConnection('cpi-basic'), view)
      assert.deepEqual(changes.at(-1), { kind: 'connection', id: 'cpi-basic' })
      assert.deepEqual(await rejection(flows.createConnection({ name: 'cpi-basic', type: 'none' }, admin)), {
        code: 'ERR_ALREADY_EXISTS',
        description: 'an upstream connection named cpi-basic already exists',
      })
    })

    test('oauth2-client-credentials takes an SAP service key verbatim, nested or flat', async () => {
      const nested = await flows.createConnection(
        {
          name: 'cpi-oauth',
          type: 'oauth2-client-credentials',
          serviceKey: JSON.stringify({
            oauth: {
              clientid: 'sb-1234!b5|it!b6',
              clientsecret: clientSecret,
              url: 'https://tenant.it-cpi001-rt.cfapps.eu10.hana.ondemand.com',
              createdate: '2025-07-02T00:17:31.919Z',
              tokenurl: 'https://tenant.authentication.eu10.hana.ondemand.com/oauth/token',
            },
          }),
        },
        admin,
      )
      assert.deepEqual(nested.settings, {
        clientId: 'sb-1234!b5|it!b6',
        tokenUrl: 'https://tenant.authentication.eu10.hana.ondemand.com/oauth/token',
        url: 'https://tenant.it-cpi001-rt.cfapps.eu10.hana.ondemand.com',
      })
      const stored = await store.getConnection('cpi-oauth')
      assert.deepEqual(
        JSON.parse(box.open(stored?.secretEncrypted as string, 'connection:cpi-oauth:secret')),
        {
          clientSecret,
        },
      )

      const flat = await flows.createConnection(
        {
          name: 'xsuaa-flat',
          type: 'oauth2-client-credentials',
          serviceKey: {
            clientid: 'c',
            clientsecret: 's',
            url: 'https://tenant.authentication.eu10.hana.ondemand.com/',
          },
        },
        admin,
      )
      assert.equal(flat.settings.tokenUrl, 'https://tenant.authentication.eu10.hana.ondemand.com/oauth/token')

      const cases: [unknown, string][] = [
        ['{not json', 'invalid upstream connection: serviceKey is not valid JSON'],
        [
          { oauth: { clientsecret: 's', tokenurl: 'https://a/t' } },
          'invalid upstream connection: serviceKey clientid must be a non-empty string of at most 512 characters',
        ],
        [
          { clientid: 'c', tokenurl: 'https://a/t' },
          'invalid upstream connection: serviceKey clientsecret must be a non-empty string of at most 4096 characters',
        ],
        [
          { clientid: 'c', clientsecret: 's', tokenurl: 'http://auth.example.com/t' },
          'invalid serviceKey tokenurl: http is only allowed for loopback hosts (see upstream.unsafeAllowHttp)',
        ],
        [{ clientid: 'c', clientsecret: 's' }, 'invalid serviceKey tokenurl: must be a non-empty string'],
      ]
      for (const [serviceKey, description] of cases) {
        assert.deepEqual(
          await rejection(
            flows.createConnection(
              { name: 'bad', type: 'oauth2-client-credentials', serviceKey: serviceKey as string },
              admin,
            ),
          ),
          { code: 'ERR_VALIDATION', description },
        )
      }
    })

    test('client-certificate keeps the certificate in settings and seals the key; a key that does not match is refused', async () => {
      const pki = await testPki()
      const mine = await pki.client('flowgate-to-cpi')
      const other = await pki.client('someone-else')
      const view = await flows.createConnection(
        {
          name: 'cpi-mtls',
          type: 'client-certificate',
          certificate: mine.cert,
          key: mine.key,
          ca: pki.ca.cert,
        },
        admin,
      )
      assert.equal(view.settings.certificate, mine.cert)
      assert.equal(view.settings.ca, pki.ca.cert)
      assert.equal(view.settings.subject, 'CN=flowgate-to-cpi')
      assert.match(view.settings.fingerprint256 as string, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/)
      assert.equal(JSON.stringify(view).includes('PRIVATE KEY'), false)
      const stored = await store.getConnection('cpi-mtls')
      assert.deepEqual(
        JSON.parse(box.open(stored?.secretEncrypted as string, 'connection:cpi-mtls:secret')),
        {
          privateKey: mine.key,
        },
      )
      assert.deepEqual(
        await rejection(
          flows.createConnection(
            { name: 'bad', type: 'client-certificate', certificate: mine.cert, key: other.key },
            admin,
          ),
        ),
        {
          code: 'ERR_VALIDATION',
          description: 'invalid upstream connection: key does not belong to certificate',
        },
      )
      assert.deepEqual(
        await rejection(
          flows.createConnection(
            { name: 'bad', type: 'client-certificate', certificate: 'x', key: mine.key },
            admin,
          ),
        ),
        {
          code: 'ERR_VALIDATION',
          description: 'invalid upstream connection: certificate is not a PEM X.509 certificate',
        },
      )
      assert.deepEqual(
        await rejection(
          flows.createConnection(
            { name: 'bad', type: 'basic', username: 'u', password: 'p', key: 'k' } as never,
            admin,
          ),
        ),
        {
          code: 'ERR_VALIDATION',
          description: 'invalid upstream connection: unknown property "key" for type basic',
        },
      )
    })

    test('updateConnection replaces the definition; deleteConnection refuses while a flow uses it', async () => {
      time += 1000
      const before = await flows.getConnection('cpi-basic')
      const after = await flows.updateConnection(
        'cpi-basic',
        { type: 'basic', username: 'cpi2', password: 'new-Password-99' },
        admin,
      )
      assert.deepEqual(after, { ...before, settings: { username: 'cpi2' }, updatedAt: time })
      const event = (await auditEvents(store)).at(-1) as AuditEvent
      assert.deepEqual(
        [event.action, event.target, event.before, event.after],
        ['connection.update', 'connection:cpi-basic', before, after],
      )

      await flows.createFlow(
        { address: '/uses-basic', upstream: 'https://cpi.example.com/x', connection: 'cpi-basic' },
        admin,
      )
      assert.equal((await rejection(flows.deleteConnection('cpi-basic', admin))).code, 'ERR_CONFLICT')
      await flows.deleteFlow('/uses-basic', admin)
      await flows.deleteConnection('cpi-basic', admin)
      assert.deepEqual(await rejection(flows.getConnection('cpi-basic')), {
        code: 'ERR_NOT_FOUND',
        description: 'upstream connection not found',
      })
      assert.deepEqual((await flows.listConnections()).map((connection) => connection.name).sort(), [
        'cpi-mtls',
        'cpi-oauth',
        'xsuaa-flat',
      ])
    })

    test('no secret ever reaches the audit trail', async () => {
      const trail = JSON.stringify(await auditEvents(store))
      for (const secret of [password, 'new-Password-99', clientSecret, 'PRIVATE KEY']) {
        assert.equal(trail.includes(secret), false, secret)
      }
    })
  })
}

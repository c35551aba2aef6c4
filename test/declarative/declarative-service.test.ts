import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { loadConfig } from '../../src/config/load.ts'
import {
  createDeclarativeService,
  type DeclarativeService,
} from '../../src/declarative/declarative-service.ts'
import { parseDocumentText, readDocumentFile, resolveDocument } from '../../src/declarative/read-document.ts'
import { renderDocument } from '../../src/declarative/render-document.ts'
import { createFlowService } from '../../src/flows/flow-service.ts'
import { createIdentityIndex } from '../../src/identity/identity-index.ts'
import { createIdentityService } from '../../src/identity/identity-service.ts'
import type { KeyRing } from '../../src/identity/key-ring.ts'
import type { RequestHeaderPolicy } from '../../src/model/flow.ts'
import { createSecretBox, masterKeyFromBytes } from '../../src/secrets/master-key.ts'
import type { Store } from '../../src/store/types.ts'
import { type OpenedBackend, storeBackends } from '../helpers/databases.ts'

const config = loadConfig({ env: {}, overrides: { publicUrl: 'https://gateway.example.test' } })
const masterKey = masterKeyFromBytes(Buffer.alloc(32, 3))
const secretBox = createSecretBox(masterKey)
const actor = { actor: 'sb-admin!b1|it-rt-flowgate!b1', sourceAddress: '127.0.0.1' }
const t0 = Date.UTC(2025, 6, 2)

const yaml = `
roles:
  - name: Partner.Orders
    description: may send orders
connections:
  - name: cpi
    type: basic
    username: svc-user
    passwordFrom: { env: CPI_PASSWORD }
  - name: cpi-oauth
    type: oauth2-client-credentials
    serviceKeyFrom: { file: cpi-key.json }
flows:
  - address: /Orders
    upstream: https://cpi.example.test/http/orders
    role: Partner.Orders
    methods: [POST, PUT]
    connection: cpi
  - address: /invoices/*
    upstream: https://cpi.example.test/http/invoices
    connection: cpi-oauth
    csrf: false
instances:
  - name: acme
    parameters:
      roles: [Partner.Orders]
      token-validity: 900
`

/** The services apply writes through, on the given store (its transactions included). */
function writers(store: Store) {
  const now = () => t0
  const index = createIdentityIndex({ store, now, graceMs: 0 })
  return {
    identity: createIdentityService({
      store,
      index,
      keyRing: {} as KeyRing,
      masterKey,
      config,
      now,
    }),
    flows: createFlowService({ store, secretBox, config, now }),
  }
}

const cpiKey = JSON.stringify({
  oauth: {
    clientid: 'sb-cpi!b1|it-rt-tenant!b2',
    clientsecret: 'cpi-oauth-secret-value',
    url: 'https://tenant.example.test',
    tokenurl: 'https://tenant.example.test/oauth/token',
  },
})

for (const backendFactory of storeBackends()) {
  describe(`declarative configuration (${backendFactory.name})`, () => {
    let backend: OpenedBackend
    let service: DeclarativeService
    let dir: string
    let applied: { id: string; removed: boolean }[][]
    const env = { CPI_PASSWORD: 'cpi-basic-password' }

    before(async () => {
      backend = await backendFactory.open()
      dir = await mkdtemp(join(tmpdir(), 'flowgate-declarative-'))
      await writeFile(join(dir, 'flowgate.yaml'), yaml)
      await writeFile(join(dir, 'cpi-key.json'), `${cpiKey}\n`)
      applied = []
      service = createDeclarativeService({
        store: backend.store,
        ...writers(backend.store),
        config,
        secretBox,
        now: () => t0,
        onApplied: (instances) => {
          applied.push([...instances])
        },
      })
    })
    after(async () => {
      await backend.drop()
      await rm(dir, { recursive: true, force: true })
    })

    test('a file with an inline secret is refused: secrets only by reference', () => {
      assert.throws(
        () =>
          parseDocumentText(
            'connections:\n  - name: c\n    type: basic\n    username: u\n    password: hunter2\n',
            'f.yaml',
          ),
        { code: 'ERR_VALIDATION', message: 'f.yaml: unknown key "password" in connections[0]' },
      )
    })

    test('a missing environment variable names the reference, never a value', () => {
      assert.throws(() => readDocumentFile(join(dir, 'flowgate.yaml'), {}), {
        code: 'ERR_VALIDATION',
        message: `${join(dir, 'flowgate.yaml')}: connections[0].passwordFrom: environment variable CPI_PASSWORD is not set`,
      })
    })

    test('plan shows every create and writes nothing', async () => {
      const document = readDocumentFile(join(dir, 'flowgate.yaml'), env)
      const changesBefore = await backend.store.latestChange()
      assert.deepEqual(await service.plan(document, false), {
        changes: [
          { action: 'create', kind: 'role', name: 'Partner.Orders', fields: [] },
          { action: 'create', kind: 'connection', name: 'cpi', fields: [] },
          { action: 'create', kind: 'connection', name: 'cpi-oauth', fields: [] },
          { action: 'create', kind: 'flow', name: '/orders', fields: [] },
          { action: 'create', kind: 'flow', name: '/invoices/*', fields: [] },
          { action: 'create', kind: 'instance', name: 'acme', fields: [] },
        ],
        unchanged: 0,
        applied: false,
      })
      assert.equal(await backend.store.latestChange(), changesBefore)
    })

    test('apply writes everything with audit events; applying again changes nothing', async () => {
      const document = readDocumentFile(join(dir, 'flowgate.yaml'), env)
      const result = await service.apply(document, false, actor)
      assert.equal(result.changes.length, 6)
      assert.equal(result.applied, true)
      const instance = await backend.store.getInstanceByName('acme')
      assert.deepEqual(instance?.parameters, {
        roles: ['Partner.Orders'],
        grantTypes: ['client_credentials'],
        tokenValidity: 900,
      })
      assert.deepEqual(applied, [[{ id: instance?.id, removed: false }]])
      const flow = await backend.store.getFlowByAddress('/orders')
      assert.deepEqual(
        { ...flow, id: undefined },
        {
          id: undefined,
          address: '/orders',
          upstream: 'https://cpi.example.test/http/orders',
          role: 'Partner.Orders',
          methods: ['POST', 'PUT'],
          csrf: true,
          maxBodyBytes: config.upstream.defaultMaxBodyBytes,
          timeoutMs: config.upstream.defaultTimeoutMs,
          connection: 'cpi',
          requestHeaders: { mode: 'deny-list' },
          createdAt: t0,
          updatedAt: t0,
        },
      )
      const connection = await backend.store.getConnection('cpi')
      assert.deepEqual(
        JSON.parse(secretBox.open(connection?.secretEncrypted as string, 'connection:cpi:secret')),
        {
          password: 'cpi-basic-password',
        },
      )
      const events = (await backend.store.listAuditEvents({ limit: 1000 })).items
      assert.deepEqual(
        events.map((event) => `${event.actor} ${event.action} ${event.target}`),
        [
          `${actor.actor} role.create role:Partner.Orders`,
          `${actor.actor} connection.create connection:cpi`,
          `${actor.actor} connection.create connection:cpi-oauth`,
          `${actor.actor} flow.create flow:/orders`,
          `${actor.actor} flow.create flow:/invoices/*`,
          `${actor.actor} instance.create instance:acme`,
          `${actor.actor} configuration.apply configuration`,
        ],
      )
      const trail = JSON.stringify(events)
      assert.equal(trail.includes('cpi-basic-password'), false)
      assert.equal(trail.includes('cpi-oauth-secret-value'), false)

      const again = await service.apply(readDocumentFile(join(dir, 'flowgate.yaml'), env), false, actor)
      assert.deepEqual(again, { changes: [], unchanged: 6, applied: true })
      assert.equal((await backend.store.listAuditEvents({ limit: 1000 })).items.length, events.length)
    })

    test('a changed secret is an update of field "secret", never showing it', async () => {
      const document = readDocumentFile(join(dir, 'flowgate.yaml'), { CPI_PASSWORD: 'rotated-password' })
      assert.deepEqual((await service.plan(document, false)).changes, [
        { action: 'update', kind: 'connection', name: 'cpi', fields: ['secret'] },
      ])
    })

    test('export | apply is a no-op, and the exported YAML holds no secret', async () => {
      const exported = await service.export()
      assert.deepEqual(exported, {
        roles: [{ name: 'Partner.Orders', description: 'may send orders' }],
        connections: [
          { name: 'cpi', type: 'basic', username: 'svc-user' },
          { name: 'cpi-oauth', type: 'oauth2-client-credentials' },
        ],
        flows: [
          {
            address: '/invoices/*',
            upstream: 'https://cpi.example.test/http/invoices',
            role: 'ESBMessaging.send',
            methods: ['POST'],
            csrf: false,
            maxBodyBytes: config.upstream.defaultMaxBodyBytes,
            timeoutMs: config.upstream.defaultTimeoutMs,
            connection: 'cpi-oauth',
            requestHeaders: { mode: 'deny-list' },
          },
          {
            address: '/orders',
            upstream: 'https://cpi.example.test/http/orders',
            role: 'Partner.Orders',
            methods: ['POST', 'PUT'],
            csrf: true,
            maxBodyBytes: config.upstream.defaultMaxBodyBytes,
            timeoutMs: config.upstream.defaultTimeoutMs,
            connection: 'cpi',
            requestHeaders: { mode: 'deny-list' },
          },
        ],
        instances: [
          {
            name: 'acme',
            plan: 'integration-flow',
            parameters: {
              roles: ['Partner.Orders'],
              'grant-types': ['client_credentials'],
              'token-validity': 900,
            },
          },
        ],
      })
      const text = renderDocument(exported)
      assert.equal(text.includes('cpi-basic-password'), false)
      assert.equal(text.includes('cpi-oauth-secret-value'), false)
      const reparsed = resolveDocument(parseDocumentText(text, 'export.yaml'), {
        env: {},
        baseDir: dir,
        origin: 'export.yaml',
      })
      const latest = await backend.store.latestChange()
      assert.deepEqual(await service.apply(reparsed, true, actor), {
        changes: [],
        unchanged: 6,
        applied: true,
      })
      assert.equal(await backend.store.latestChange(), latest)
    })

    test('a connection without its secret may not be created or change what the secret belongs to', async () => {
      await assert.rejects(
        service.plan({ connections: [{ name: 'new', type: 'basic', username: 'u' }] }, false),
        {
          code: 'ERR_VALIDATION',
          message: 'connection new does not exist yet: creating it needs passwordFrom',
        },
      )
      await assert.rejects(
        service.plan({ connections: [{ name: 'cpi', type: 'basic', username: 'someone-else' }] }, false),
        { code: 'ERR_VALIDATION', message: 'connection cpi: changing its username needs passwordFrom' },
      )
    })

    test('one invalid object means nothing is written (validation before any write)', async () => {
      const latest = await backend.store.latestChange()
      await assert.rejects(
        service.apply(
          {
            roles: [{ name: 'Brand.New' }],
            flows: [{ address: '/new', upstream: 'https://cpi.example.test/new', role: 'Missing.Role' }],
          },
          false,
          actor,
        ),
        {
          code: 'ERR_UNKNOWN_ROLE',
          message: 'flow /new requires role Missing.Role, which neither exists nor is in the document',
        },
      )
      assert.equal(await backend.store.getRole('Brand.New'), undefined)
      assert.equal(await backend.store.latestChange(), latest)
    })

    test('a failure inside the transaction rolls every write back', async () => {
      const latest = await backend.store.latestChange()
      const auditCount = (await backend.store.listAuditEvents({ limit: 1000 })).items.length
      // The store fails on the last write: the role and flow written before it in the same
      // transaction, and their audit events, must disappear with it.
      const failingStore: Store = {
        ...backend.store,
        transaction: (fn) =>
          backend.store.transaction((tx) =>
            fn({
              ...tx,
              createInstance: async () => {
                throw new Error('disk full')
              },
            }),
          ),
      }
      const failing = createDeclarativeService({
        store: failingStore,
        ...writers(backend.store),
        config,
        secretBox,
        now: () => t0,
      })
      await assert.rejects(
        failing.apply(
          {
            roles: [{ name: 'Rolled.Back' }],
            flows: [{ address: '/rolled-back', upstream: 'https://cpi.example.test/x', role: 'Rolled.Back' }],
            instances: [{ name: 'never', parameters: { roles: ['Rolled.Back'] } }],
          },
          false,
          actor,
        ),
        /disk full/,
      )
      assert.equal(await backend.store.getRole('Rolled.Back'), undefined)
      assert.equal(await backend.store.getFlowByAddress('/rolled-back'), undefined)
      assert.equal(await backend.store.latestChange(), latest)
      assert.equal((await backend.store.listAuditEvents({ limit: 1000 })).items.length, auditCount)
    })

    test('prune deletes what the document does not name, but never built-in roles or api instances', async () => {
      const flows = createFlowService({ store: backend.store, secretBox, config, now: () => t0 })
      await flows.createFlow({ address: '/extra', upstream: 'https://cpi.example.test/extra' }, actor)
      const admins = await backend.store.listInstances()
      assert.equal(
        admins.some((instance) => instance.plan === 'api'),
        false,
      )
      await backend.store.transaction(async (tx) => {
        await tx.createInstance({
          id: '00000000-0000-4000-8000-000000000001',
          name: 'admins',
          plan: 'api',
          parameters: { roles: ['Flowgate.Admin'], grantTypes: ['client_credentials'], tokenValidity: 3600 },
          createdAt: t0,
          updatedAt: t0,
        })
      })
      const document = { roles: [{ name: 'Partner.Orders' }], flows: [], connections: [], instances: [] }
      assert.deepEqual(await service.apply(document, false, actor), {
        changes: [],
        unchanged: 1,
        applied: true,
      })
      const pruned = await service.apply(document, true, actor)
      assert.deepEqual(pruned.changes, [
        { action: 'delete', kind: 'flow', name: '/extra', fields: [] },
        { action: 'delete', kind: 'flow', name: '/invoices/*', fields: [] },
        { action: 'delete', kind: 'flow', name: '/orders', fields: [] },
        { action: 'delete', kind: 'instance', name: 'acme', fields: [] },
        { action: 'delete', kind: 'connection', name: 'cpi', fields: [] },
        { action: 'delete', kind: 'connection', name: 'cpi-oauth', fields: [] },
      ])
      assert.deepEqual(
        (await backend.store.listInstances()).map((instance) => instance.name),
        ['admins'],
      )
      assert.deepEqual((await backend.store.listRoles()).map((role) => role.name).sort(), [
        'ESBMessaging.send',
        'Flowgate.Admin',
        'Flowgate.Viewer',
        'Partner.Orders',
      ])
    })

    test('a request-header allow-list: planned as a change of requestHeaders, applied, exported, re-applied as no change', async () => {
      const flow = { address: '/headers', upstream: 'https://cpi.example.test/http/headers' }
      const document = (requestHeaders?: RequestHeaderPolicy) => ({
        flows: [requestHeaders === undefined ? flow : { ...flow, requestHeaders }],
      })
      await service.apply(document(), false, actor)
      const allowList: RequestHeaderPolicy = {
        mode: 'allow-list',
        allow: ['SAP_ApplicationID', 'Content-Type'],
      }
      assert.deepEqual((await service.plan(document(allowList), false)).changes, [
        { action: 'update', kind: 'flow', name: '/headers', fields: ['requestHeaders'] },
      ])
      await service.apply(document(allowList), false, actor)
      const stored = { mode: 'allow-list', allow: ['sap_applicationid', 'content-type'] }
      assert.deepEqual((await backend.store.getFlowByAddress('/headers'))?.requestHeaders, stored)
      // The allow-list is a set: another order or case is no change.
      const reordered: RequestHeaderPolicy = {
        mode: 'allow-list',
        allow: ['content-type', 'SAP_APPLICATIONID'],
      }
      assert.deepEqual((await service.plan(document(reordered), false)).changes, [])

      const exported = await service.export()
      assert.deepEqual(exported.flows?.find((entry) => entry.address === '/headers')?.requestHeaders, stored)
      const text = renderDocument(exported)
      assert.match(
        text,
        /requestHeaders:\n\s+mode: allow-list\n\s+allow:\n\s+- sap_applicationid\n\s+- content-type\n/,
      )
      const reparsed = resolveDocument(parseDocumentText(text, 'export.yaml'), {
        env: {},
        baseDir: dir,
        origin: 'export.yaml',
      })
      assert.deepEqual((await service.plan(reparsed, false)).changes, [])

      assert.deepEqual((await service.plan(document({ mode: 'deny-list' }), false)).changes, [
        { action: 'update', kind: 'flow', name: '/headers', fields: ['requestHeaders'] },
      ])
      await assert.rejects(service.plan(document({ mode: 'allow-list', allow: ['Host'] }), false), {
        code: 'ERR_VALIDATION',
        message:
          'invalid flow: requestHeaders.allow: host is always handled by Flowgate and cannot be allowed (docs/runtime.md, "Header rules")',
      })
      assert.throws(
        () =>
          parseDocumentText(
            'flows:\n  - address: /x\n    upstream: https://a.test\n    requestHeaders: { mode: open }\n',
            'f.yaml',
          ),
        {
          code: 'ERR_VALIDATION',
          message: 'f.yaml: flows[0].requestHeaders.mode must be one of "deny-list", "allow-list"',
        },
      )
    })
  })
}

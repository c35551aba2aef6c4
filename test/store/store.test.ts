import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { createServer, type Socket, connect as tcpConnect } from 'node:net'
import { afterEach, beforeEach, describe, test } from 'node:test'
import { sql } from 'kysely'
import { Migrator } from 'kysely/migration'
import { verifyAuditChain } from '../../src/audit/chain.ts'
import { FlowgateError } from '../../src/lib/errors.ts'
import { encodeAccessRecords } from '../../src/store/access-record-batch.ts'
import { blockOfRecords } from '../../src/store/migrations/frozen/access-record-block-v1.ts'
import {
  migrationLockTable,
  migrationProvider,
  migrationTable,
} from '../../src/store/migrations/migrations.ts'
import { openStore } from '../../src/store/open-store.ts'
import { openPostgresDatabase } from '../../src/store/postgres/postgres-database.ts'
import { openSqliteDatabase } from '../../src/store/sqlite/sqlite-database.ts'
import type {
  AccessRecord,
  Flow,
  Instance,
  RevokedToken,
  ServiceKey,
  SigningKey,
  Store,
  UpstreamConnection,
} from '../../src/store/types.ts'
import { type OpenedBackend, postgresDatabaseUrl, storeBackends } from '../helpers/databases.ts'

const frozen = 1_750_000_000_000

function instance(overrides: Partial<Instance> = {}): Instance {
  return {
    id: 'a1b2c3d4-0000-4000-8000-000000000001',
    name: 'partner-a',
    plan: 'integration-flow',
    parameters: { roles: ['ESBMessaging.send'], grantTypes: ['client_credentials'], tokenValidity: 3600 },
    createdAt: frozen,
    updatedAt: frozen,
    ...overrides,
  }
}

function serviceKey(overrides: Partial<ServiceKey> = {}): ServiceKey {
  return {
    id: 'k-1',
    instanceId: 'a1b2c3d4-0000-4000-8000-000000000001',
    name: 'key1',
    clientId: 'sb-a1b2c3d4-0000-4000-8000-000000000001!b1|it-rt-flowgate!b1',
    keyType: 'clientsecret',
    secretHash: 'ab'.repeat(32),
    secretPrefix: 'Xy3',
    previousSecretHash: null,
    previousSecretPrefix: null,
    previousSecretValidUntil: null,
    certificatePem: null,
    certificateFingerprint: null,
    expiresAt: null,
    createdAt: frozen,
    updatedAt: frozen,
    ...overrides,
  }
}

function signingKey(overrides: Partial<SigningKey> = {}): SigningKey {
  return {
    kid: 'kid-1',
    alg: 'RS256',
    state: 'active',
    publicJwk: { kty: 'RSA', n: 'abc', e: 'AQAB', kid: 'kid-1', alg: 'RS256', use: 'sig' },
    privateKeyEncrypted: 'v1.iv.tag.body',
    createdAt: frozen,
    activatedAt: frozen,
    retiredAt: null,
    publishUntil: null,
    ...overrides,
  }
}

function flow(overrides: Partial<Flow> = {}): Flow {
  return {
    id: 'f-1',
    address: '/orders',
    upstream: 'https://cpi.example.com/http/orders',
    role: 'ESBMessaging.send',
    methods: ['POST', 'GET'],
    csrf: true,
    maxBodyBytes: 10_485_760,
    timeoutMs: 60_000,
    connection: null,
    createdAt: frozen,
    updatedAt: frozen,
    ...overrides,
  }
}

function connection(overrides: Partial<UpstreamConnection> = {}): UpstreamConnection {
  return {
    name: 'cpi',
    type: 'basic',
    settings: { username: 'cpi-user', nested: { list: [1, 'two'] } },
    secretEncrypted: 'v1.iv.tag.sealed',
    createdAt: frozen,
    updatedAt: frozen,
    ...overrides,
  }
}

function accessRecord(index: number): AccessRecord {
  return {
    time: frozen + Math.floor(index / 3),
    correlationId: `c-${index}`,
    clientId: index % 2 === 0 ? 'client-even' : 'client-odd',
    instanceId: 'i-1',
    flow: index % 5 === 0 ? '/five' : '/orders',
    method: 'POST',
    path: '/http/orders',
    status: index % 7 === 0 ? 403 : 200,
    upstreamStatus: index % 7 === 0 ? null : 200,
    bytesIn: index,
    bytesOut: 2 * index,
    durationMs: 3,
    upstreamDurationMs: index % 7 === 0 ? null : 2,
    reason: index % 7 === 0 ? 'ERR_INSUFFICIENT_SCOPE' : null,
    sourceAddress: '192.0.2.1',
    mplId: index % 3 === 0 ? null : `mpl-${index}`,
  }
}

/** Asserts a FlowgateError's code and public message. */
async function rejectsWith(promise: Promise<unknown>, code: string, message: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof FlowgateError, `expected a FlowgateError, got ${String(error)}`)
    assert.equal(error.code, code)
    assert.equal(error.message, message)
    return true
  })
}

/** The change rows after `mark`, without their sequence numbers (which are the database's). */
async function changesAfter(store: Store, mark: number): Promise<Array<[string, string, number]>> {
  return (await store.changesSince(mark)).map((change) => [change.kind, change.entityId, change.time])
}

const openStoreModule = new URL('../../src/store/open-store.ts', import.meta.url).href

/** Opens the same database in a child process and migrates it. */
function migrateInChild(opened: OpenedBackend): Promise<{ code: number | null; output: string }> {
  const script = `
    const { openStore } = await import(${JSON.stringify(openStoreModule)})
    const store = await openStore({ url: process.env.STORE_URL, dataDir: process.env.STORE_DIR, poolSize: 2 })
    try { await store.migrate(); process.stdout.write('migrated\\n') } finally { await store.close() }
  `
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      ['--input-type=module', '--eval', script],
      { env: { ...process.env, STORE_URL: opened.url, STORE_DIR: opened.dataDir }, timeout: 15_000 },
      (error, stdout, stderr) => {
        if (error !== null && typeof error.code !== 'number') reject(error)
        else resolve({ code: child.exitCode, output: stdout + stderr })
      },
    )
  })
}

async function drain<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = []
  for await (const item of iterable) items.push(item)
  return items
}

for (const backend of storeBackends()) {
  describe(`store on ${backend.name}`, () => {
    let opened: OpenedBackend
    let store: Store
    let clock = frozen

    beforeEach(async () => {
      clock = frozen
      opened = await backend.open({ now: () => clock })
      store = opened.store
    })
    afterEach(async () => {
      await opened.drop()
    })

    test('dialect, ping and a migrated schema with the built-in roles', async () => {
      assert.equal(store.dialect, backend.name)
      await store.ping()
      assert.equal(await store.isMigrated(), true)
      const roles = await store.listRoles()
      assert.deepEqual(
        roles.map(({ createdAt: _createdAt, ...role }) => role),
        [
          {
            name: 'ESBMessaging.send',
            description: 'Call integration flows through the runtime URL',
            builtIn: true,
          },
          {
            name: 'Flowgate.Admin',
            description: 'Read and change everything through the admin API',
            builtIn: true,
          },
          {
            name: 'Flowgate.Viewer',
            description: 'Read everything through the admin API, change nothing',
            builtIn: true,
          },
        ],
      )
      for (const role of roles) assert.equal(typeof role.createdAt, 'number')
      assert.equal(await store.latestChange(), 0)
    })

    test('migrations: not applied until migrate(), idempotent, safe when processes migrate at once', async () => {
      const fresh = await backend.open({ migrate: false })
      try {
        assert.equal(await fresh.store.isMigrated(), false)
        // Separate processes, as a gateway and `flowgate init` would be: SQLite's file lock and
        // PostgreSQL's advisory lock must both serialise them.
        const results = await Promise.all([
          migrateInChild(fresh),
          migrateInChild(fresh),
          migrateInChild(fresh),
        ])
        assert.deepEqual(results, [
          { code: 0, output: 'migrated\n' },
          { code: 0, output: 'migrated\n' },
          { code: 0, output: 'migrated\n' },
        ])
        assert.equal(await fresh.store.isMigrated(), true)
        await Promise.all([fresh.store.migrate(), fresh.store.migrate()])
        assert.deepEqual(
          (await fresh.store.listRoles()).map((role) => role.name),
          ['ESBMessaging.send', 'Flowgate.Admin', 'Flowgate.Viewer'],
        )
      } finally {
        await fresh.drop()
      }
    })

    test('roles: create, read, list in byte order, duplicates, built-in and absent deletes, change rows', async () => {
      const mark = await store.latestChange()
      await store.createRole({ name: 'Zeta.role', description: 'z', builtIn: false, createdAt: frozen })
      await store.createRole({
        name: 'Partner_A.send',
        description: null,
        builtIn: false,
        createdAt: frozen + 1,
      })
      assert.deepEqual(await store.getRole('Partner_A.send'), {
        name: 'Partner_A.send',
        description: null,
        builtIn: false,
        createdAt: frozen + 1,
      })
      assert.equal(await store.getRole('nope'), undefined)
      assert.deepEqual(
        (await store.listRoles()).map((role) => role.name),
        ['ESBMessaging.send', 'Flowgate.Admin', 'Flowgate.Viewer', 'Partner_A.send', 'Zeta.role'],
      )
      await rejectsWith(
        store.createRole({ name: 'Zeta.role', description: null, builtIn: false, createdAt: frozen }),
        'ERR_ALREADY_EXISTS',
        'role Zeta.role already exists',
      )
      await rejectsWith(
        store.deleteRole('ESBMessaging.send'),
        'ERR_ROLE_BUILT_IN',
        'built-in role ESBMessaging.send cannot be deleted',
      )
      assert.equal(await store.deleteRole('Zeta.role'), true)
      assert.equal(await store.deleteRole('Zeta.role'), false)
      assert.equal(await store.getRole('Zeta.role'), undefined)
      assert.deepEqual(await changesAfter(store, mark), [
        ['role', 'Zeta.role', frozen],
        ['role', 'Partner_A.send', frozen],
        ['role', 'Zeta.role', frozen],
      ])
    })

    test('roles: a role named by an instance or a flow cannot be deleted', async () => {
      await store.createRole({ name: 'Orders.send', description: null, builtIn: false, createdAt: frozen })
      await store.createRole({ name: 'Orders_send', description: null, builtIn: false, createdAt: frozen })
      await store.createInstance(
        instance({
          parameters: {
            roles: ['ESBMessaging.send', 'Orders.send'],
            grantTypes: ['client_credentials'],
            tokenValidity: 60,
          },
        }),
      )
      await rejectsWith(
        store.deleteRole('Orders.send'),
        'ERR_ROLE_IN_USE',
        'role Orders.send is assigned to instance partner-a',
      )
      // `_` is a LIKE wildcard, so Orders_send's pre-filter also matches "Orders.send": the parsed roles decide.
      assert.equal(await store.deleteRole('Orders_send'), true)

      await store.createRole({ name: 'Flow.role', description: null, builtIn: false, createdAt: frozen })
      await store.createFlow(flow({ role: 'Flow.role' }))
      await rejectsWith(
        store.deleteRole('Flow.role'),
        'ERR_ROLE_IN_USE',
        'role Flow.role is required by flow /orders',
      )
      assert.notEqual(await store.getRole('Flow.role'), undefined)
    })

    test('instances: create, read by id and name, list, update, rename conflicts, delete, change rows', async () => {
      const mark = await store.latestChange()
      const a = instance()
      const b = instance({ id: 'i-2', name: 'partner-b', plan: 'api' })
      await store.createInstance(b)
      await store.createInstance(a)
      assert.deepEqual(await store.getInstance(a.id), a)
      assert.deepEqual(await store.getInstanceByName('partner-b'), b)
      assert.equal(await store.getInstance('absent'), undefined)
      assert.equal(await store.getInstanceByName('absent'), undefined)
      assert.deepEqual(await store.listInstances(), [a, b])

      await rejectsWith(
        store.createInstance(instance({ id: 'i-3' })),
        'ERR_ALREADY_EXISTS',
        'instance partner-a already exists',
      )
      await rejectsWith(
        store.createInstance(instance({ name: 'other' })),
        'ERR_ALREADY_EXISTS',
        `an instance with id ${a.id} already exists`,
      )
      const updated = instance({
        parameters: { roles: [], grantTypes: ['client_credentials'], tokenValidity: 120 },
        updatedAt: frozen + 10,
      })
      await store.updateInstance(updated)
      assert.deepEqual(await store.getInstance(a.id), updated)
      await rejectsWith(
        store.updateInstance({ ...updated, name: 'partner-b' }),
        'ERR_ALREADY_EXISTS',
        'instance partner-b already exists',
      )
      await rejectsWith(
        store.updateInstance(instance({ id: 'absent', name: 'x' })),
        'ERR_NOT_FOUND',
        'instance not found',
      )

      assert.equal(await store.deleteInstance(b.id), true)
      assert.equal(await store.deleteInstance(b.id), false)
      assert.deepEqual(await store.listInstances(), [updated])
      assert.deepEqual(await changesAfter(store, mark), [
        ['instance', 'i-2', frozen],
        ['instance', a.id, frozen],
        ['instance', a.id, frozen],
        ['instance', 'i-2', frozen],
      ])
    })

    test('service keys: create, read every way, uniqueness, update, delete, change rows', async () => {
      await store.createInstance(instance())
      await store.createInstance(instance({ id: 'i-2', name: 'partner-b' }))
      const mark = await store.latestChange()
      const k1 = serviceKey()
      const k2 = serviceKey({
        id: 'k-2',
        name: 'cert',
        clientId: 'client-2',
        keyType: 'certificate',
        secretHash: null,
        secretPrefix: null,
        certificatePem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
        certificateFingerprint: 'cd'.repeat(32),
        expiresAt: frozen + 86_400_000,
      })
      const k3 = serviceKey({ id: 'k-3', instanceId: 'i-2', name: 'key1', clientId: 'client-3' })
      await store.createServiceKey(k1)
      await store.createServiceKey(k2)
      await store.createServiceKey(k3)
      assert.deepEqual(await store.getServiceKey('k-2'), k2)
      assert.deepEqual(await store.getServiceKeyByName(k1.instanceId, 'key1'), k1)
      assert.deepEqual(await store.getServiceKeyByClientId('client-3'), k3)
      assert.equal(await store.getServiceKey('absent'), undefined)
      assert.equal(await store.getServiceKeyByName('i-2', 'cert'), undefined)
      assert.equal(await store.getServiceKeyByClientId('absent'), undefined)
      assert.deepEqual(await store.listServiceKeys(k1.instanceId), [k2, k1])
      assert.deepEqual(await store.listServiceKeys(), [k2, k1, k3])

      await rejectsWith(
        store.createServiceKey(serviceKey({ id: 'k-4', name: 'other' })),
        'ERR_ALREADY_EXISTS',
        `a service key with client id ${k1.clientId} already exists`,
      )
      await rejectsWith(
        store.createServiceKey(serviceKey({ id: 'k-4', clientId: 'client-4' })),
        'ERR_ALREADY_EXISTS',
        'service key key1 already exists in instance partner-a',
      )
      await rejectsWith(
        store.createServiceKey(serviceKey({ id: 'k-1', name: 'n', clientId: 'c' })),
        'ERR_ALREADY_EXISTS',
        'a service key with id k-1 already exists',
      )
      await rejectsWith(
        store.createServiceKey(serviceKey({ id: 'k-5', instanceId: 'absent', clientId: 'c5' })),
        'ERR_NOT_FOUND',
        'instance not found',
      )

      const rotated = {
        ...k1,
        secretHash: 'ef'.repeat(32),
        secretPrefix: 'Q1w',
        previousSecretHash: k1.secretHash,
        previousSecretPrefix: k1.secretPrefix,
        previousSecretValidUntil: frozen + 3_600_000,
        updatedAt: frozen + 5,
      }
      await store.updateServiceKey(rotated)
      assert.deepEqual(await store.getServiceKeyByClientId(k1.clientId), rotated)
      await rejectsWith(
        store.updateServiceKey({ ...rotated, clientId: 'client-2' }),
        'ERR_ALREADY_EXISTS',
        'a service key with client id client-2 already exists',
      )
      await rejectsWith(
        store.updateServiceKey(serviceKey({ id: 'absent', name: 'x', clientId: 'x' })),
        'ERR_NOT_FOUND',
        'service key not found',
      )
      assert.equal(await store.deleteServiceKey('k-2'), true)
      assert.equal(await store.deleteServiceKey('k-2'), false)
      assert.deepEqual(await store.listServiceKeys(k1.instanceId), [rotated])
      assert.deepEqual(await changesAfter(store, mark), [
        ['service-key', 'k-1', frozen],
        ['service-key', 'k-2', frozen],
        ['service-key', 'k-3', frozen],
        ['service-key', 'k-1', frozen],
        ['service-key', 'k-2', frozen],
      ])
    })

    test('deleting an instance deletes its keys and records a change for each of them', async () => {
      await store.createInstance(instance())
      await store.createInstance(instance({ id: 'i-2', name: 'partner-b' }))
      await store.createServiceKey(serviceKey())
      await store.createServiceKey(serviceKey({ id: 'k-2', name: 'key2', clientId: 'client-2' }))
      const other = serviceKey({ id: 'k-3', instanceId: 'i-2', clientId: 'client-3' })
      await store.createServiceKey(other)
      const mark = await store.latestChange()
      clock = frozen + 1000
      assert.equal(await store.deleteInstance(instance().id), true)
      assert.equal(await store.getServiceKey('k-1'), undefined)
      assert.equal(await store.getServiceKeyByClientId('client-2'), undefined)
      assert.deepEqual(await store.listServiceKeys(), [other])
      assert.deepEqual(await changesAfter(store, mark), [
        ['service-key', 'k-1', frozen + 1000],
        ['service-key', 'k-2', frozen + 1000],
        ['instance', instance().id, frozen + 1000],
      ])
    })

    test('nextKeyNumber is monotonic, also under concurrency, and records no change', async () => {
      assert.equal(await store.nextKeyNumber(), 1)
      assert.equal(await store.nextKeyNumber(), 2)
      const numbers = await Promise.all(Array.from({ length: 10 }, () => store.nextKeyNumber()))
      assert.deepEqual(
        numbers.sort((x, y) => x - y),
        [3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
      )
      assert.equal(await store.latestChange(), 0)
    })

    test('signing keys: insert, list by creation, update, delete, duplicates, change rows', async () => {
      const active = signingKey()
      const next = signingKey({ kid: 'kid-0', state: 'next', createdAt: frozen + 1, activatedAt: null })
      await store.insertSigningKey(next)
      await store.insertSigningKey(active)
      assert.deepEqual(await store.listSigningKeys(), [active, next])
      await rejectsWith(
        store.insertSigningKey(active),
        'ERR_ALREADY_EXISTS',
        'signing key kid-1 already exists',
      )
      const retired = {
        ...active,
        state: 'retired' as const,
        retiredAt: frozen + 9,
        publishUntil: frozen + 99,
      }
      await store.updateSigningKey(retired)
      await rejectsWith(
        store.updateSigningKey(signingKey({ kid: 'absent' })),
        'ERR_NOT_FOUND',
        'signing key not found',
      )
      assert.deepEqual(await store.listSigningKeys(), [retired, next])
      assert.equal(await store.deleteSigningKey('kid-1'), true)
      assert.equal(await store.deleteSigningKey('kid-1'), false)
      assert.deepEqual(await store.listSigningKeys(), [next])
      assert.deepEqual(await changesAfter(store, 0), [
        ['signing-key', 'kid-0', frozen],
        ['signing-key', 'kid-1', frozen],
        ['signing-key', 'kid-1', frozen],
        ['signing-key', 'kid-1', frozen],
      ])
    })

    test('revoked tokens: idempotent revoke, unexpired listing, lookup, pruning without change rows', async () => {
      const early: RevokedToken = {
        jti: 'j-early',
        clientId: 'c1',
        expiresAt: frozen + 10,
        revokedAt: frozen,
      }
      const late: RevokedToken = {
        jti: 'j-late',
        clientId: 'c2',
        expiresAt: frozen + 1000,
        revokedAt: frozen + 1,
      }
      await store.revokeToken(early)
      await store.revokeToken(late)
      await store.revokeToken({ ...early, revokedAt: frozen + 500 })
      assert.deepEqual(await store.getRevokedToken('j-early'), early)
      assert.equal(await store.getRevokedToken('absent'), undefined)
      assert.deepEqual(await store.listRevokedTokens(frozen), [early, late])
      assert.deepEqual(await store.listRevokedTokens(frozen + 10), [late])
      assert.equal(await store.pruneRevokedTokens(frozen + 11), 1)
      assert.equal(await store.pruneRevokedTokens(frozen + 11), 0)
      assert.equal(await store.getRevokedToken('j-early'), undefined)
      assert.deepEqual(await store.listRevokedTokens(0), [late])
      assert.deepEqual(await changesAfter(store, 0), [
        ['revoked-token', 'j-early', frozen],
        ['revoked-token', 'j-late', frozen],
      ])
    })

    test('connections and flows: CRUD, references, uniqueness, change rows', async () => {
      const mark = await store.latestChange()
      const cpi = connection()
      const open = connection({ name: 'Anon', type: 'none', settings: {}, secretEncrypted: null })
      await store.createConnection(cpi)
      await store.createConnection(open)
      assert.deepEqual(await store.listConnections(), [open, cpi])
      assert.deepEqual(await store.getConnection('cpi'), cpi)
      assert.equal(await store.getConnection('absent'), undefined)
      await rejectsWith(
        store.createConnection(cpi),
        'ERR_ALREADY_EXISTS',
        'upstream connection cpi already exists',
      )
      const changed = {
        ...cpi,
        type: 'oauth2-client-credentials' as const,
        settings: { tokenUrl: 'https://t' },
        updatedAt: frozen + 1,
      }
      await store.updateConnection(changed)
      assert.deepEqual(await store.getConnection('cpi'), changed)
      await rejectsWith(
        store.updateConnection(connection({ name: 'absent' })),
        'ERR_NOT_FOUND',
        'upstream connection not found',
      )

      const orders = flow({ connection: 'cpi' })
      const wildcard = flow({ id: 'f-2', address: '/b2b/*', methods: ['PUT'], csrf: false, maxBodyBytes: 0 })
      await store.createFlow(orders)
      await store.createFlow(wildcard)
      assert.deepEqual(await store.getFlow('f-1'), orders)
      assert.deepEqual(await store.getFlowByAddress('/b2b/*'), wildcard)
      assert.equal(await store.getFlow('absent'), undefined)
      assert.equal(await store.getFlowByAddress('/absent'), undefined)
      assert.deepEqual(await store.listFlows(), [wildcard, orders])
      await rejectsWith(
        store.createFlow(flow({ id: 'f-3' })),
        'ERR_ALREADY_EXISTS',
        'a flow already has the address /orders',
      )
      await rejectsWith(
        store.createFlow(flow({ id: 'f-3', address: '/x', role: 'Unknown.role' })),
        'ERR_UNKNOWN_ROLE',
        'unknown role Unknown.role',
      )
      await rejectsWith(
        store.createFlow(flow({ id: 'f-3', address: '/x', connection: 'absent' })),
        'ERR_UNKNOWN_CONNECTION',
        'unknown upstream connection absent',
      )
      await rejectsWith(
        store.updateFlow({ ...wildcard, address: '/orders' }),
        'ERR_ALREADY_EXISTS',
        'a flow already has the address /orders',
      )
      await rejectsWith(
        store.updateFlow(flow({ id: 'absent', address: '/new' })),
        'ERR_NOT_FOUND',
        'flow not found',
      )
      await rejectsWith(
        store.deleteConnection('cpi'),
        'ERR_CONFLICT',
        'upstream connection cpi is used by flow /orders',
      )

      const moved = {
        ...orders,
        connection: 'Anon',
        upstream: 'https://cpi2.example.com/x',
        updatedAt: frozen + 2,
      }
      await store.updateFlow(moved)
      assert.deepEqual(await store.getFlow('f-1'), moved)
      assert.equal(await store.deleteConnection('cpi'), true)
      assert.equal(await store.deleteConnection('cpi'), false)
      assert.equal(await store.deleteFlow('f-2'), true)
      assert.equal(await store.deleteFlow('f-2'), false)
      assert.deepEqual(await store.listFlows(), [moved])
      assert.deepEqual(await store.listConnections(), [open])
      assert.deepEqual(await changesAfter(store, mark), [
        ['connection', 'cpi', frozen],
        ['connection', 'Anon', frozen],
        ['connection', 'cpi', frozen],
        ['flow', 'f-1', frozen],
        ['flow', 'f-2', frozen],
        ['flow', 'f-1', frozen],
        ['connection', 'cpi', frozen],
        ['flow', 'f-2', frozen],
      ])
    })

    test('transaction: everything commits together, including audit events and change rows', async () => {
      const result = await store.transaction(async (tx) => {
        await tx.createInstance(instance())
        await tx.createServiceKey(serviceKey())
        // Reads inside the transaction see its own writes.
        assert.deepEqual(await tx.getServiceKeyByClientId(serviceKey().clientId), serviceKey())
        await tx.appendAudit(
          { actor: 'cli', sourceAddress: null, action: 'instance.create', target: 'instance:partner-a' },
          frozen,
        )
        return 'done'
      })
      assert.equal(result, 'done')
      assert.deepEqual(await store.listServiceKeys(), [serviceKey()])
      assert.deepEqual(await changesAfter(store, 0), [
        ['instance', instance().id, frozen],
        ['service-key', 'k-1', frozen],
      ])
      assert.equal((await store.listAuditEvents({})).items.length, 1)
    })

    test('transaction: a failure rolls back every row, change row and audit event', async () => {
      await store.createRole({ name: 'Kept.role', description: null, builtIn: false, createdAt: frozen })
      await store.appendAudit(
        { actor: 'cli', sourceAddress: null, action: 'role.create', target: 'role:Kept.role' },
        frozen,
      )
      const mark = await store.latestChange()
      const failure = new Error('abort on purpose')
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.createInstance(instance())
          await tx.createServiceKey(serviceKey())
          await tx.deleteRole('Kept.role')
          await tx.revokeToken({ jti: 'j', clientId: 'c', expiresAt: frozen + 1, revokedAt: frozen })
          await tx.appendAudit({ actor: 'cli', sourceAddress: null, action: 'x', target: 'y' }, frozen)
          throw failure
        }),
        (error) => error === failure,
      )
      assert.deepEqual(await store.listInstances(), [])
      assert.deepEqual(await store.listServiceKeys(), [])
      assert.notEqual(await store.getRole('Kept.role'), undefined)
      assert.equal(await store.getRevokedToken('j'), undefined)
      assert.equal(await store.latestChange(), mark)
      assert.deepEqual(await store.changesSince(mark), [])
      const audit = await store.listAuditEvents({})
      assert.deepEqual(
        audit.items.map((event) => event.action),
        ['role.create'],
      )
      // A store error inside the transaction rolls back the earlier writes too.
      await rejectsWith(
        store.transaction(async (tx) => {
          await tx.createInstance(instance({ id: 'i-9', name: 'partner-z' }))
          await tx.createRole({ name: 'Kept.role', description: null, builtIn: false, createdAt: frozen })
        }),
        'ERR_ALREADY_EXISTS',
        'role Kept.role already exists',
      )
      assert.equal(await store.getInstance('i-9'), undefined)
      assert.equal(await store.latestChange(), mark)
    })

    test('transaction: the tx object can be passed around; using the store itself inside fails loudly', async () => {
      const createBoth = async (ops: Pick<Store, 'createInstance' | 'createServiceKey'>) => {
        await ops.createInstance(instance())
        await ops.createServiceKey(serviceKey())
      }
      await store.transaction(async (tx) => {
        await createBoth(tx)
        assert.equal((await drain(tx.iterateAuditEvents())).length, 0)
      })
      assert.equal((await store.listServiceKeys()).length, 1)

      await assert.rejects(
        store.transaction(async () => {
          await store.getRole('ESBMessaging.send')
        }),
        (error: unknown) => {
          assert.ok(error instanceof FlowgateError)
          assert.equal(error.code, 'ERR_INTERNAL')
          assert.equal(
            error.detail,
            "store.getRole() called inside store.transaction(); use the transaction's operations",
          )
          return true
        },
      )
      await assert.rejects(
        store.transaction(() => store.transaction(async () => 1)),
        (error: unknown) => error instanceof FlowgateError && error.code === 'ERR_INTERNAL',
      )
      // After the transaction the store is usable again from the same async context.
      assert.equal((await store.getRole('ESBMessaging.send'))?.name, 'ESBMessaging.send')
    })

    test('audit: appended events link, list with filters and paging, iterate, and verify', async () => {
      const first = await store.appendAudit(
        {
          actor: 'admin-1',
          sourceAddress: '192.0.2.7',
          action: 'role.create',
          target: 'role:A',
          after: { name: 'A' },
        },
        frozen,
      )
      assert.deepEqual(first, {
        seq: 1,
        time: frozen,
        actor: 'admin-1',
        sourceAddress: '192.0.2.7',
        action: 'role.create',
        target: 'role:A',
        after: { name: 'A' },
        prevHash: '0'.repeat(64),
        hash: first.hash,
      })
      assert.match(first.hash, /^[0-9a-f]{64}$/)
      // Values are stored as JSON: what is hashed is what is read back (undefined members dropped, dates as strings).
      const second = await store.appendAudit(
        {
          actor: 'cli',
          sourceAddress: null,
          action: 'role.delete',
          target: 'role:A',
          before: { name: 'A', gone: undefined, at: new Date(frozen) },
          after: null,
        },
        frozen + 1,
      )
      assert.deepEqual(second, {
        seq: 2,
        time: frozen + 1,
        actor: 'cli',
        sourceAddress: null,
        action: 'role.delete',
        target: 'role:A',
        before: { name: 'A', at: new Date(frozen).toISOString() },
        after: null,
        prevHash: first.hash,
        hash: second.hash,
      })
      for (let index = 3; index <= 7; index += 1) {
        await store.appendAudit(
          { actor: 'admin-2', sourceAddress: null, action: 'flow.update', target: `flow:/f${index}` },
          frozen + index,
        )
      }
      const all = await store.listAuditEvents({})
      assert.equal(all.next, null)
      assert.deepEqual(all.items.slice(0, 2), [first, second])
      assert.deepEqual(
        all.items.map((event) => event.seq),
        [1, 2, 3, 4, 5, 6, 7],
      )
      assert.deepEqual(await drain(store.iterateAuditEvents(2)), all.items)

      const page1 = await store.listAuditEvents({ actor: 'admin-2', limit: 2 })
      assert.deepEqual(
        page1.items.map((event) => event.seq),
        [3, 4],
      )
      assert.ok(page1.next !== null)
      const page2 = await store.listAuditEvents({ actor: 'admin-2', limit: 2, cursor: page1.next })
      const page3 = await store.listAuditEvents({ actor: 'admin-2', limit: 2, cursor: page2.next })
      assert.deepEqual(
        [...page2.items, ...page3.items].map((event) => event.seq),
        [5, 6, 7],
      )
      assert.equal(page3.next, null)
      assert.deepEqual((await store.listAuditEvents({ action: 'role.delete' })).items, [second])
      assert.deepEqual(
        (await store.listAuditEvents({ from: frozen + 1, to: frozen + 4 })).items.map((event) => event.seq),
        [2, 3],
      )
      assert.deepEqual(
        (await store.listAuditEvents({ afterSeq: 5 })).items.map((event) => event.seq),
        [6, 7],
      )
      await rejectsWith(
        store.listAuditEvents({ limit: 0 }),
        'ERR_VALIDATION',
        'invalid limit: must be an integer from 1 to 1000',
      )
      await rejectsWith(
        store.listAuditEvents({ limit: 1001 }),
        'ERR_VALIDATION',
        'invalid limit: must be an integer from 1 to 1000',
      )
      await rejectsWith(store.listAuditEvents({ cursor: 'not-a-cursor' }), 'ERR_VALIDATION', 'invalid cursor')
      assert.deepEqual(await verifyAuditChain(store.iterateAuditEvents(3)), { ok: true, count: 7 })
      // Audit events are not entity changes.
      assert.equal(await store.latestChange(), 0)
    })

    test('audit: 20 concurrent transactions never fork the chain', async () => {
      await Promise.all(
        Array.from({ length: 20 }, (_, index) =>
          store.transaction(async (tx) => {
            await tx.revokeToken({
              jti: `j-${index}`,
              clientId: 'c',
              expiresAt: frozen + 1,
              revokedAt: frozen,
            })
            await tx.appendAudit(
              { actor: 'system', sourceAddress: null, action: 'token.revoke', target: `token:j-${index}` },
              frozen + index,
            )
          }),
        ),
      )
      const events = await drain(store.iterateAuditEvents())
      assert.deepEqual(
        events.map((event) => event.seq),
        Array.from({ length: 20 }, (_, index) => index + 1),
      )
      assert.deepEqual(await verifyAuditChain(store.iterateAuditEvents(7)), { ok: true, count: 20 })
      const changes = await store.changesSince(0)
      assert.equal(changes.length, 20)
      assert.deepEqual(
        changes.map((change) => change.seq),
        [...changes.map((change) => change.seq)].sort((x, y) => x - y),
      )
    })

    test('access records: 10,000 in one call, newest first, filters, cursor paging, retention', async () => {
      const records = Array.from({ length: 10_000 }, (_, index) => accessRecord(index))
      await store.insertAccessRecords(records)
      await store.insertAccessRecords([])
      const newest = await store.queryAccessRecords({ limit: 3 })
      // Same millisecond: the later insert comes first.
      assert.deepEqual(newest.items, [records[9999], records[9998], records[9997]])
      assert.ok(newest.next !== null)

      const seen: AccessRecord[] = []
      let cursor: string | null = null
      do {
        const page: Awaited<ReturnType<Store['queryAccessRecords']>> = await store.queryAccessRecords({
          limit: 1000,
          cursor,
        })
        seen.push(...page.items)
        cursor = page.next
      } while (cursor !== null)
      assert.equal(seen.length, 10_000)
      assert.deepEqual(seen, [...records].reverse())

      const filtered = await store.queryAccessRecords({
        clientId: 'client-even',
        flow: '/five',
        status: 200,
        from: frozen + 10,
        to: frozen + 40,
        limit: 1000,
      })
      const expected = records
        .filter(
          (record) =>
            record.clientId === 'client-even' &&
            record.flow === '/five' &&
            record.status === 200 &&
            record.time >= frozen + 10 &&
            record.time < frozen + 40,
        )
        .reverse()
      assert.ok(expected.length > 0)
      assert.deepEqual(filtered, { items: expected, next: null })
      await rejectsWith(
        store.queryAccessRecords({
          cursor: (await store.listAuditEvents({ limit: 1 })).next ?? 'eyJsIjoiYXVkaXQiLCJwIjpbMV19',
        }),
        'ERR_VALIDATION',
        'invalid cursor',
      )

      assert.equal(await store.deleteAccessRecordsBefore(frozen + 1000), 3000)
      const left = await store.queryAccessRecords({ from: 0, limit: 1, cursor: null })
      assert.deepEqual(left.items, [records[9999]])
      assert.equal(await store.deleteAccessRecordsBefore(frozen + 1000), 0)
      assert.equal(await store.latestChange(), 0)
    })

    test('access records: a batch is written whole or not at all', async () => {
      const before = await store.queryAccessRecords({ limit: 1000 })
      const good = accessRecord(20_001)
      // NOT NULL violated by the second record: the first must not stay behind.
      const bad = { ...accessRecord(20_002), method: null } as unknown as AccessRecord
      await assert.rejects(store.insertAccessRecords([good, bad]))
      assert.deepEqual(await store.queryAccessRecords({ limit: 1000 }), before)
      await store.insertAccessRecords([good])
      assert.deepEqual((await store.queryAccessRecords({ limit: 1 })).items, [good])
    })

    test('access records: the batches of one call are written together or not at all', async () => {
      const batches = [[accessRecord(30_001)], [accessRecord(30_002), accessRecord(30_003)]]
      // A batch that is malformed is refused before anything is written.
      const malformed = { text: '', numbers: new Float64Array(16).fill(Number.NaN) }
      await assert.rejects(
        store.insertAccessRecordBatches([encodeAccessRecords(batches[0] ?? []), malformed]),
        { name: 'TypeError', message: 'encoded access records: record 0 lacks field 0' },
      )
      assert.deepEqual(await store.queryAccessRecords({}), { items: [], next: null })

      // A database error part-way (the last row is refused) rolls back the rows written before it.
      const { db, dialect } =
        opened.url === ''
          ? openSqliteDatabase(opened.dataDir)
          : await openPostgresDatabase({ url: opened.url, poolSize: 1 })
      try {
        if (opened.url === '') {
          await sql`create trigger refuse before insert on access_records when new.correlation_id = 'c-30003' begin select raise(abort, 'refused'); end`.execute(
            db,
          )
        } else {
          await sql`alter table access_records add constraint refuse check (correlation_id <> 'c-30003')`.execute(
            db,
          )
        }
        await assert.rejects(
          store.insertAccessRecordBatches(batches.map((batch) => encodeAccessRecords(batch))),
        )
        if (opened.url === '') await sql`drop trigger refuse`.execute(db)
        else await sql`alter table access_records drop constraint refuse`.execute(db)
      } finally {
        await db.destroy()
        await dialect.close(db)
      }
      assert.deepEqual(await store.queryAccessRecords({}), { items: [], next: null })

      await store.insertAccessRecordBatches(batches.map((batch) => encodeAccessRecords(batch)))
      const written = [accessRecord(30_003), accessRecord(30_002), accessRecord(30_001)]
      assert.deepEqual(await store.queryAccessRecords({}), { items: written, next: null })
      assert.deepEqual(await store.queryAccessRecords({ clientId: 'client-odd' }), {
        items: [accessRecord(30_003), accessRecord(30_001)],
        next: null,
      })
      await store.insertAccessRecordBatches([])
      assert.deepEqual(await store.queryAccessRecords({}), { items: written, next: null })
    })

    test('access records: every filter and retention reads through an index', async () => {
      const { db, dialect } =
        opened.url === ''
          ? openSqliteDatabase(opened.dataDir)
          : await openPostgresDatabase({ url: opened.url, poolSize: 1 })
      const newest = sql`order by time desc, id desc limit 101`
      const statements: Array<[ReturnType<typeof sql>, RegExp]> = [
        [sql`select * from access_records ${newest}`, /access_records_time/],
        [sql`select * from access_records where client_id = ${'c'} ${newest}`, /access_records_client/],
        [sql`select * from access_records where flow = ${'/f'} ${newest}`, /access_records_flow/],
        [sql`select * from access_records where status = ${500} ${newest}`, /access_records_status/],
        [
          sql`select * from access_records where client_id = ${'c'} and time >= ${frozen} and time < ${frozen + 1000} and (time, id) < (${frozen + 10}, ${5}) ${newest}`,
          /access_records_client/,
        ],
        [
          sql`delete from access_records where id in (select id from access_records where time < ${frozen} limit 2000)`,
          /access_records_time/,
        ],
      ]
      try {
        const plans = await db.connection().execute(async (connection) => {
          if (opened.url !== '') {
            // A table this small is scanned whatever its indexes; what matters is that one is there to use.
            await sql`set enable_seqscan = off`.execute(connection)
          }
          const explained: string[] = []
          for (const [statement] of statements) {
            const { rows } =
              opened.url === ''
                ? await sql<Record<string, string>>`explain query plan ${statement}`.execute(connection)
                : await sql<Record<string, string>>`explain ${statement}`.execute(connection)
            explained.push(rows.map((row) => row.detail ?? row['QUERY PLAN']).join(' / '))
          }
          return explained
        })
        statements.forEach(([, index], n) => {
          assert.match(plans[n] ?? '', index)
          assert.doesNotMatch(
            plans[n] ?? '',
            /(^|\/ )SCAN access_records( \/|$)|Seq Scan|USE TEMP B-TREE|Sort/,
          )
        })
      } finally {
        await db.destroy()
        await dialect.close(db)
      }
    })

    test('access records: batches that overlap in time come back merged, newest first, ties in write order', async () => {
      const at = (offset: number, index: number): AccessRecord => ({
        ...accessRecord(index),
        time: frozen + offset,
      })
      // The first two batches are written in one call; their time spans overlap, and times repeat
      // across and within batches.
      const first = [at(5, 1), at(1, 2), at(3, 3), at(3, 4)]
      const second = [at(4, 5), at(3, 6), at(6, 7)]
      const third = [at(2, 8), at(5, 9)]
      await store.insertAccessRecordBatches([encodeAccessRecords(first), encodeAccessRecords(second)])
      await store.insertAccessRecords(third)
      const expected = [
        at(6, 7),
        at(5, 9),
        at(5, 1),
        at(4, 5),
        at(3, 6),
        at(3, 4),
        at(3, 3),
        at(2, 8),
        at(1, 2),
      ]
      assert.deepEqual(await store.queryAccessRecords({}), { items: expected, next: null })
      for (const limit of [1, 2, 4]) {
        const seen: AccessRecord[] = []
        let cursor: string | null = null
        do {
          const page: Awaited<ReturnType<Store['queryAccessRecords']>> = await store.queryAccessRecords({
            limit,
            cursor,
          })
          assert.ok(page.items.length <= limit)
          seen.push(...page.items)
          cursor = page.next
        } while (cursor !== null)
        assert.deepEqual(seen, expected, `pages of ${limit}`)
      }
      assert.deepEqual(await store.queryAccessRecords({ from: frozen + 3, to: frozen + 5 }), {
        items: [at(4, 5), at(3, 6), at(3, 4), at(3, 3)],
        next: null,
      })
      // accessRecord(index): client-even for even indexes, status 403 for multiples of 7.
      const firstEven = await store.queryAccessRecords({ clientId: 'client-even', limit: 2 })
      assert.deepEqual(firstEven.items, [at(3, 6), at(3, 4)])
      assert.deepEqual(
        await store.queryAccessRecords({ clientId: 'client-even', limit: 2, cursor: firstEven.next }),
        { items: [at(2, 8), at(1, 2)], next: null },
      )
      const even = await store.queryAccessRecords({ clientId: 'client-even' })
      assert.deepEqual(even, { items: [at(3, 6), at(3, 4), at(2, 8), at(1, 2)], next: null })
      assert.deepEqual(await store.queryAccessRecords({ status: 403 }), { items: [at(6, 7)], next: null })
      assert.deepEqual(await store.queryAccessRecords({ status: 404 }), { items: [], next: null })
      assert.deepEqual(await store.queryAccessRecords({ flow: '/unknown' }), { items: [], next: null })
    })

    test('access records: retention deletes by time, keeps newer records and counts each record once', async () => {
      const at = (offset: number, index: number): AccessRecord => ({
        ...accessRecord(index),
        time: frozen + offset,
      })
      await store.insertAccessRecords([at(1, 1), at(10, 2), at(2, 3), at(20, 4)])
      await store.insertAccessRecords([at(30, 5)])
      assert.equal(await store.deleteAccessRecordsBefore(frozen + 5), 2)
      assert.deepEqual(await store.queryAccessRecords({}), {
        items: [at(30, 5), at(20, 4), at(10, 2)],
        next: null,
      })
      assert.deepEqual(await store.queryAccessRecords({ to: frozen + 15 }), {
        items: [at(10, 2)],
        next: null,
      })
      assert.equal(await store.deleteAccessRecordsBefore(frozen + 5), 0)
      assert.equal(await store.deleteAccessRecordsBefore(frozen + 15), 1)
      assert.equal(await store.deleteAccessRecordsBefore(frozen + 21), 1)
      assert.deepEqual(await store.queryAccessRecords({}), { items: [at(30, 5)], next: null })
      assert.deepEqual(await store.queryAccessRecords({ clientId: 'client-even' }), { items: [], next: null })
      assert.deepEqual(await store.queryAccessRecords({ clientId: 'client-odd' }), {
        items: [at(30, 5)],
        next: null,
      })
      assert.equal(await store.deleteAccessRecordsBefore(frozen + 31), 1)
      assert.deepEqual(await store.queryAccessRecords({}), { items: [], next: null })
    })

    test('access records: rows of the first schema survive every migration, blocks (0002) and back to rows (0004)', async () => {
      const unmigrated = await backend.open({ migrate: false, now: () => clock })
      try {
        const { db, dialect } =
          unmigrated.url === ''
            ? openSqliteDatabase(unmigrated.dataDir)
            : await openPostgresDatabase({ url: unmigrated.url, poolSize: 1 })
        // The first schema had no message-processing-log id.
        const records = Array.from({ length: 2500 }, (_, index) => ({ ...accessRecord(index), mplId: null }))
        try {
          const migrator = new Migrator({
            db,
            provider: migrationProvider(dialect.name),
            migrationTableName: migrationTable,
            migrationLockTableName: migrationLockTable,
          })
          assert.equal((await migrator.migrateTo('0001-initial')).error, undefined)
          // The rows as migration 0001's table held them, in an order that is not their time order.
          const rows = records.map((record) => ({
            time: record.time,
            correlation_id: record.correlationId,
            client_id: record.clientId,
            instance_id: record.instanceId,
            flow: record.flow,
            method: record.method,
            path: record.path,
            status: record.status,
            upstream_status: record.upstreamStatus,
            bytes_in: record.bytesIn,
            bytes_out: record.bytesOut,
            duration_ms: record.durationMs,
            upstream_duration_ms: record.upstreamDurationMs,
            reason: record.reason,
            source_address: record.sourceAddress,
          }))
          const shuffled = [...rows.slice(1250), ...rows.slice(0, 1250)]
          for (let start = 0; start < shuffled.length; start += 500) {
            await db
              .insertInto('access_records' as never)
              .values(shuffled.slice(start, start + 500) as never)
              .execute()
          }
        } finally {
          await db.destroy()
          await dialect.close(db)
        }
        await unmigrated.store.migrate()
        const expected = [...records.slice(1250), ...records.slice(0, 1250)]
          .map((record, written) => ({ record, written }))
          .sort((a, b) => b.record.time - a.record.time || b.written - a.written)
          .map(({ record }) => record)
        const seen: AccessRecord[] = []
        let cursor: string | null = null
        do {
          const page: Awaited<ReturnType<Store['queryAccessRecords']>> =
            await unmigrated.store.queryAccessRecords({
              limit: 1000,
              cursor,
            })
          seen.push(...page.items)
          cursor = page.next
        } while (cursor !== null)
        assert.deepEqual(seen, expected)
        assert.deepEqual(
          await unmigrated.store.queryAccessRecords({ status: 403, from: frozen + 800, to: frozen + 810 }),
          {
            items: expected.filter(
              (r) => r.status === 403 && r.time >= frozen + 800 && r.time < frozen + 810,
            ),
            next: null,
          },
        )
        assert.equal(await unmigrated.store.deleteAccessRecordsBefore(frozen + 1000), 2500)
      } finally {
        await unmigrated.drop()
      }
    })

    test('access records: blocks (0002) become rows in write order, without what retention had cut off', async () => {
      const unmigrated = await backend.open({ migrate: false, now: () => clock })
      const at = (offset: number, index: number) => {
        const { mplId: _mplId, ...record } = { ...accessRecord(index), time: frozen + offset }
        return record
      }
      // Two blocks that overlap in time; retention had cut the first at frozen + 3.
      const first = [at(1, 1), at(5, 2), at(3, 3), at(2, 4)]
      const second = [at(4, 5), at(5, 6)]
      try {
        const { db, dialect } =
          unmigrated.url === ''
            ? openSqliteDatabase(unmigrated.dataDir)
            : await openPostgresDatabase({ url: unmigrated.url, poolSize: 1 })
        try {
          const migrator = new Migrator({
            db,
            provider: migrationProvider(dialect.name),
            migrationTableName: migrationTable,
            migrationLockTableName: migrationLockTable,
          })
          assert.equal((await migrator.migrateTo('0003-access-record-blocks-first-time')).error, undefined)
          for (const [records, cutoff, removed] of [
            [first, frozen + 3, 2],
            [second, frozen + 4, 0],
          ] as const) {
            const block = blockOfRecords(records)
            await db
              .insertInto('access_record_blocks' as never)
              .values({
                first_time: block.firstTime,
                last_time: block.lastTime,
                record_count: block.count,
                cutoff,
                removed,
                records: block.data,
              } as never)
              .execute()
          }
        } finally {
          await db.destroy()
          await dialect.close(db)
        }
        await unmigrated.store.migrate()
        assert.deepEqual(await unmigrated.store.queryAccessRecords({}), {
          items: [at(5, 6), at(5, 2), at(4, 5), at(3, 3)].map((record) => ({ ...record, mplId: null })),
          next: null,
        })
      } finally {
        await unmigrated.drop()
      }
    })

    test('change log: latest, paging by limit, pruning by age', async () => {
      clock = frozen
      await store.createRole({ name: 'A.a', description: null, builtIn: false, createdAt: frozen })
      clock = frozen + 100
      await store.createRole({ name: 'B.b', description: null, builtIn: false, createdAt: frozen })
      await store.createRole({ name: 'C.c', description: null, builtIn: false, createdAt: frozen })
      const all = await store.changesSince(0)
      assert.equal(await store.latestChange(), all.at(-1)?.seq)
      assert.deepEqual(
        all.map(({ seq: _seq, ...change }) => change),
        [
          { kind: 'role', entityId: 'A.a', time: frozen },
          { kind: 'role', entityId: 'B.b', time: frozen + 100 },
          { kind: 'role', entityId: 'C.c', time: frozen + 100 },
        ],
      )
      assert.deepEqual(await store.changesSince(all[0]?.seq ?? 0, 1), [all[1]])
      assert.equal(await store.deleteChangesBefore(frozen + 100), 1)
      assert.deepEqual(await store.changesSince(0), all.slice(1))
      assert.equal(await store.latestChange(), all.at(-1)?.seq)
    })
  })
}

describe('opening stores', () => {
  test('an unreachable PostgreSQL fails with ERR_STORE_UNAVAILABLE and no password anywhere', async () => {
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const { port } = closed.address() as { port: number }
    await new Promise<void>((resolve) => closed.close(() => resolve()))
    const url = `postgres://flowgate:s3cr3t-pw@127.0.0.1:${port}/flowgate`
    await assert.rejects(openStore({ url, dataDir: '' }), (error: unknown) => {
      assert.ok(error instanceof FlowgateError)
      assert.equal(error.code, 'ERR_STORE_UNAVAILABLE')
      assert.equal(error.message, 'store unavailable')
      assert.match(
        error.detail ?? '',
        new RegExp(
          `^cannot connect to PostgreSQL at postgres://flowgate:\\*\\*\\*@127\\.0\\.0\\.1:${port}/flowgate: `,
        ),
      )
      assert.doesNotMatch(JSON.stringify(error), /s3cr3t/)
      assert.doesNotMatch(String(error.stack), /s3cr3t/)
      return true
    })
  })

  test('ping fails with ERR_STORE_UNAVAILABLE once PostgreSQL becomes unreachable', async () => {
    const backend = storeBackends().find((candidate) => candidate.name === 'postgres')
    assert.ok(backend)
    const opened = await backend.open({ migrate: false })
    // A loopback relay in front of PostgreSQL that can be cut, as a network failure would.
    const target = new URL(opened.url)
    const sockets = new Set<Socket>()
    const relay = createServer((client) => {
      const upstream = tcpConnect(Number(target.port || 5432), target.hostname)
      sockets.add(client).add(upstream)
      client.pipe(upstream).pipe(client)
      client.on('error', () => upstream.destroy())
      upstream.on('error', () => client.destroy())
    })
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve))
    const { port } = relay.address() as { port: number }
    const relayed = new URL(postgresDatabaseUrl(target.pathname.slice(1)))
    relayed.port = String(port)
    relayed.password = 'pw-not-needed'
    const store = await openStore({ url: relayed.toString(), dataDir: '', poolSize: 1 })
    try {
      await store.ping()
      const closed = new Promise<void>((resolve) => relay.close(() => resolve()))
      for (const socket of sockets) socket.destroy()
      await closed
      await assert.rejects(store.ping(), (error: unknown) => {
        assert.ok(error instanceof FlowgateError)
        assert.equal(error.code, 'ERR_STORE_UNAVAILABLE')
        assert.equal(error.message, 'store unavailable')
        assert.doesNotMatch(JSON.stringify(error), /pw-not-needed/)
        return true
      })
      await assert.rejects(store.listRoles(), (error: unknown) => {
        assert.ok(error instanceof FlowgateError)
        assert.equal(error.code, 'ERR_STORE_UNAVAILABLE')
        return true
      })
    } finally {
      await store.close()
      await opened.drop()
    }
  })

  test('options are checked before anything is opened', async () => {
    await rejectsWith(
      openStore({ url: 'mysql://root:hunter2@db/flowgate', dataDir: '/tmp' }),
      'ERR_CONFIG_INVALID',
      'invalid configuration: store.url must be empty (SQLite) or a postgres:// URL, not mysql://root:***@db/flowgate',
    )
    await rejectsWith(
      openStore({ url: '', dataDir: '/tmp', poolSize: 0 }),
      'ERR_CONFIG_INVALID',
      'invalid configuration: store.poolSize must be an integer from 1 to 100',
    )
    await rejectsWith(
      openStore({ url: '', dataDir: '' }),
      'ERR_CONFIG_INVALID',
      'invalid configuration: dataDir must be set for the embedded SQLite store',
    )
  })
})

import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { FlowgateError } from '../../src/lib/errors.ts'
import type {
  AccessRecord,
  Flow,
  Instance,
  ServiceKey,
  SigningKey,
  Store,
  UpstreamConnection,
} from '../../src/store/types.ts'
import type { OpenedBackend } from '../helpers/databases.ts'

export const frozen = 1_750_000_000_000

export function instance(overrides: Partial<Instance> = {}): Instance {
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

export function serviceKey(overrides: Partial<ServiceKey> = {}): ServiceKey {
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

export function signingKey(overrides: Partial<SigningKey> = {}): SigningKey {
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

export function flow(overrides: Partial<Flow> = {}): Flow {
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
    requestHeaders: { mode: 'deny-list' },
    createdAt: frozen,
    updatedAt: frozen,
    ...overrides,
  }
}

export function connection(overrides: Partial<UpstreamConnection> = {}): UpstreamConnection {
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

export function accessRecord(index: number): AccessRecord {
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
export async function rejectsWith(promise: Promise<unknown>, code: string, message: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof FlowgateError, `expected a FlowgateError, got ${String(error)}`)
    assert.equal(error.code, code)
    assert.equal(error.message, message)
    return true
  })
}

/** The change rows after `mark`, without their sequence numbers (which are the database's). */
export async function changesAfter(store: Store, mark: number): Promise<Array<[string, string, number]>> {
  return (await store.changesSince(mark)).map((change) => [change.kind, change.entityId, change.time])
}

const openStoreModule = new URL('../../src/store/open-store.ts', import.meta.url).href

/** Opens the same database in a child process and migrates it. */
export function migrateInChild(opened: OpenedBackend): Promise<{ code: number | null; output: string }> {
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

export async function drain<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = []
  for await (const item of iterable) items.push(item)
  return items
}

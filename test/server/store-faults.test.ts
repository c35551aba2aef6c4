import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import type BetterSqlite3 from 'better-sqlite3'
import { type Dispatcher, request } from 'undici'
import { verifyAuditChain } from '../../src/audit/chain.ts'
import { openStore } from '../../src/store/open-store.ts'
import { setSqliteConnectionHookForTests } from '../../src/store/sqlite/sqlite-database.ts'
import { clientCredentialsToken } from '../helpers/client-credentials.ts'
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { startTestSimulator } from '../helpers/simulator.ts'
import { proxiedPostgres } from '../helpers/tcp-proxy.ts'

const admin = { actor: 'test', sourceAddress: null }

/** A flow, a partner's token for it and an administrator's token. */
async function partnerAndOperator(env: TestGateway, upstream: string) {
  const { identity, flows } = env.gateway
  await flows.createFlow({ address: '/orders', upstream: `${upstream}/http/orders`, csrf: false }, admin)
  await identity.createInstance('partner', 'integration-flow', { roles: ['ESBMessaging.send'] }, admin)
  await identity.createInstance('ops', 'api', { roles: ['Flowgate.Admin'] }, admin)
  const tokenUrl = `${env.gateway.runtimeUrl}/oauth/token`
  const partnerKey = await identity.createServiceKey('partner', 'k1', {}, admin)
  const operatorKey = await identity.createServiceKey('ops', 'k1', {}, admin)
  const newPartnerToken = () => clientCredentialsToken(tokenUrl, partnerKey, env.dispatcher)
  const operator = await clientCredentialsToken(tokenUrl, operatorKey, env.dispatcher)
  return {
    partnerKey,
    newPartnerToken,
    /** A partner's call to /orders, with a token just issued. */
    forward: async () =>
      call(env.dispatcher, `${env.gateway.runtimeUrl}/http/orders`, {
        method: 'POST',
        token: await newPartnerToken(),
        body: 'order',
      }),
    /** A change through the admin API. */
    createRole: (name: string) =>
      call(env.dispatcher, `${env.gateway.adminUrl}/admin/v1/roles`, {
        method: 'POST',
        token: operator,
        json: { name, description: 'a role with a description long enough to fill pages' },
      }),
  }
}

/** Changes until the first is refused (at most `limit`); how many were created before it. */
async function untilRefused(createRole: (name: string) => ReturnType<typeof call>, limit: number) {
  for (let n = 0; n < limit; n++) {
    const answer = await createRole(`Custom.Role${n}`)
    if (answer.status !== 201) return { refused: answer, created: n }
  }
  assert.fail(`all ${limit} changes were accepted`)
}

const storeFull = (correlationId: unknown) => ({
  status: 503,
  retryAfter: '60',
  body: {
    error: 'store_full',
    error_description: 'the store is out of space: changes are not possible now',
    code: 'ERR_STORE_FULL',
    correlation_id: correlationId,
  },
})

async function call(
  dispatcher: Dispatcher,
  url: string,
  options: { method?: 'GET' | 'POST'; token?: string; body?: string; json?: unknown } = {},
) {
  const headers: Record<string, string> = {}
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
  if (options.json !== undefined) headers['content-type'] = 'application/json'
  const answer = await request(url, {
    method: options.method ?? 'GET',
    headers,
    body: options.json === undefined ? options.body : JSON.stringify(options.json),
    dispatcher,
  })
  const text = await answer.body.text()
  return {
    status: answer.statusCode,
    retryAfter: answer.headers['retry-after'],
    body: text === '' ? null : (JSON.parse(text) as Record<string, unknown>),
  }
}

/** The gateway's log lines with this message. */
function logged(env: TestGateway, message: string): Record<string, unknown>[] {
  return env.logs
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line.msg === message)
}

const fullMessage =
  'store out of space: changes are refused (503 ERR_STORE_FULL) until space is freed; tokens and runtime calls continue'
const unavailableMessage =
  'store unavailable: changes are refused (503 ERR_STORE_UNAVAILABLE) until it is back; tokens and runtime calls continue from memory'

describe('store faults seen through a real gateway', () => {
  test('disk full (SQLite): changes answer 503 ERR_STORE_FULL, readiness is false, calls go on, nothing acknowledged is lost', async (t) => {
    // SQLite's max_page_count is a setting of one connection: on the gateway's main connection it
    // makes every write that needs a new page fail with a real SQLITE_FULL, as a full disk does. The
    // access-record worker's connection (another thread) is not limited.
    const connections: BetterSqlite3.Database[] = []
    setSqliteConnectionHookForTests((database) => connections.push(database))
    t.after(() => setSqliteConnectionHookForTests(undefined))
    const cpi = await startTestSimulator({ auth: 'none' })
    t.after(() => cpi.close())
    // A data directory of the test's own: the gateway's is removed when it closes.
    const dataDir = mkdtempSync(join(tmpdir(), 'flowgate-full-'))
    t.after(() => rmSync(dataDir, { recursive: true, force: true }))
    const env = await startTestGateway({ dataDir })
    let closed = false
    t.after(() => (closed ? undefined : env.close()))
    const main = connections[0]
    assert.ok(main !== undefined && connections.length === 1)
    const { forward, createRole } = await partnerAndOperator(env, cpi.url)
    const { adminUrl } = env.gateway
    for (let n = 0; n < 5; n++) assert.equal((await forward()).status, 200)
    await env.gateway.accessLog.flush()

    // The database may not grow beyond its size now; writes fill what room its pages have left.
    main.exec('pragma max_page_count = 1')
    const { refused, created } = await untilRefused(createRole, 500)
    assert.deepEqual(refused, storeFull(refused.body?.correlation_id))
    assert.equal((await createRole('Custom.Again1')).body?.code, 'ERR_STORE_FULL')
    assert.equal((await createRole('Custom.Again2')).body?.code, 'ERR_STORE_FULL')

    // Logged once, with SQLite's own error, and not hidden behind a failed ROLLBACK.
    const [line, ...more] = logged(env, fullMessage)
    assert.ok(line !== undefined && more.length === 0, 'logged once')
    const { code, message } = line.err as Record<string, unknown>
    assert.deepEqual({ code, message }, { code: 'SQLITE_FULL', message: 'database or disk is full' })
    assert.ok(env.logs.every((line) => !line.includes('cannot rollback')))
    assert.deepEqual(logged(env, 'admin request failed'), [])

    assert.deepEqual(await call(env.dispatcher, `${adminUrl}/readyz`), {
      status: 503,
      retryAfter: undefined,
      body: { status: 'unavailable' },
    })
    assert.deepEqual(await call(env.dispatcher, `${adminUrl}/livez`), {
      status: 200,
      retryAfter: undefined,
      body: { status: 'ok' },
    })
    // Tokens and runtime calls need no write on the main connection.
    for (let n = 0; n < 3; n++) assert.equal((await forward()).status, 200)
    await env.gateway.accessLog.flush()

    // Space is back: readiness probes with a write and reports ready; the next change succeeds.
    main.exec('pragma max_page_count = 1073741823')
    assert.deepEqual(await call(env.dispatcher, `${adminUrl}/readyz`), {
      status: 200,
      retryAfter: undefined,
      body: { status: 'ready' },
    })
    assert.equal(logged(env, 'store available again').length, 1)
    assert.equal((await createRole('Custom.After')).status, 201)
    assert.equal(logged(env, fullMessage).length, 1)

    closed = true
    await env.close()
    // Everything acknowledged is there: every call's access record, the roles that were created,
    // and an audit chain without a gap.
    const store = await openStore({ url: '', dataDir })
    try {
      const records = await store.queryAccessRecords({ limit: 100, flow: '/orders' })
      assert.equal(records.items.length, 8)
      assert.equal(
        (await store.listRoles()).filter((role) => role.name.startsWith('Custom.')).length,
        created + 1,
      )
      const verdict = await verifyAuditChain(store.iterateAuditEvents())
      assert.equal(verdict.ok, true)
    } finally {
      await store.close()
    }
  })

  test('store down (PostgreSQL): readiness false, changes 503, tokens and calls go on, one log line each way', async (t) => {
    // The shared PostgreSQL server must keep running: the gateway reaches it through a proxy that
    // the test cuts (connections reset, new ones refused, as when the server stops) and restores.
    const { opened, proxy, url: proxied } = await proxiedPostgres(t)
    const cpi = await startTestSimulator({ auth: 'none' })
    t.after(() => cpi.close())
    const env = await startTestGateway({ 'store.url': proxied })
    let closed = false
    t.after(() => (closed ? undefined : env.close()))
    const { partnerKey, newPartnerToken, forward, createRole } = await partnerAndOperator(env, cpi.url)
    const { runtimeUrl, adminUrl } = env.gateway
    const ready = { status: 200, retryAfter: undefined, body: { status: 'ready' } }
    assert.deepEqual(await call(env.dispatcher, `${adminUrl}/readyz`), ready)
    assert.equal((await forward()).status, 200)

    await proxy.cut()
    assert.deepEqual(await call(env.dispatcher, `${adminUrl}/readyz`), {
      status: 503,
      retryAfter: undefined,
      body: { status: 'unavailable' },
    })
    // The token endpoint issues from the in-memory index and the runtime accepts its tokens.
    for (let n = 0; n < 3; n++) assert.equal((await forward()).status, 200)
    const refused = await createRole('Custom.DuringOutage')
    assert.deepEqual(refused, {
      status: 503,
      retryAfter: undefined,
      body: {
        error: 'store_unavailable',
        error_description: 'store unavailable',
        code: 'ERR_STORE_UNAVAILABLE',
        correlation_id: refused.body?.correlation_id,
      },
    })
    assert.equal((await createRole('Custom.DuringOutage')).body?.code, 'ERR_STORE_UNAVAILABLE')
    // Revoking a token is a change: it must be stored before it is acknowledged.
    const revocation = await request(`${runtimeUrl}/oauth/revoke`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${encodeURIComponent(partnerKey.oauth.clientid)}:${encodeURIComponent(partnerKey.oauth.clientsecret)}`).toString('base64')}`,
      },
      body: new URLSearchParams({ token: await newPartnerToken() }).toString(),
      dispatcher: env.dispatcher,
    })
    const revocationBody = (await revocation.body.json()) as Record<string, unknown>
    assert.deepEqual(
      { status: revocation.statusCode, body: revocationBody },
      {
        status: 503,
        body: {
          error: 'store_unavailable',
          error_description: 'store unavailable',
          code: 'ERR_STORE_UNAVAILABLE',
          correlation_id: revocationBody.correlation_id,
        },
      },
    )
    assert.equal((await call(env.dispatcher, `${adminUrl}/readyz`)).status, 503)
    assert.equal(logged(env, unavailableMessage).length, 1)
    assert.equal(logged(env, 'store available again').length, 0)
    assert.deepEqual(logged(env, 'admin request failed'), [])

    await proxy.restore()
    assert.deepEqual(await call(env.dispatcher, `${adminUrl}/readyz`), ready)
    assert.equal((await createRole('Custom.AfterOutage')).status, 201)
    assert.equal(logged(env, unavailableMessage).length, 1)
    assert.equal(logged(env, 'store available again').length, 1)
    // The failed polls of the change feed were not logged once a second as warnings.
    assert.deepEqual(
      env.logs
        .map((line) => JSON.parse(line) as { level: number; msg: string })
        .filter((line) => line.level >= 40 && line.msg === 'change feed poll failed; retrying'),
      [],
    )

    // The calls made during the outage are recorded once the store is back.
    await env.gateway.accessLog.flush()
    closed = true
    await env.close()
    const records = await opened.store.queryAccessRecords({ limit: 100, flow: '/orders' })
    assert.equal(records.items.length, 4)
    assert.deepEqual(
      (await opened.store.listRoles()).map((role) => role.name).filter((name) => name.startsWith('Custom.')),
      ['Custom.AfterOutage'],
    )
  })

  test('disk full on a real file system (a 8 MiB tmpfs, when this runs as root): both connections refused, nothing lost', async (t) => {
    const mountPoint = mkdtempSync(join(tmpdir(), 'flowgate-tmpfs-'))
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m,mode=0700', 'tmpfs', mountPoint], {
        stdio: 'ignore',
      })
    } catch {
      rmSync(mountPoint, { recursive: true, force: true })
      t.skip('cannot mount a tmpfs here (needs root); the max_page_count test covers the same path')
      return
    }
    // Hooks run in the order they were added: the gateway must be closed before the unmount.
    const cleanups: (() => unknown)[] = []
    t.after(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup()
      execFileSync('umount', [mountPoint])
      rmSync(mountPoint, { recursive: true, force: true })
    })
    const cpi = await startTestSimulator({ auth: 'none' })
    cleanups.push(() => cpi.close())
    const dataDir = join(mountPoint, 'data')
    const env = await startTestGateway({ dataDir })
    let closed = false
    cleanups.push(() => (closed ? undefined : env.close()))
    const { forward, createRole } = await partnerAndOperator(env, cpi.url)
    const { adminUrl } = env.gateway
    for (let n = 0; n < 10; n++) assert.equal((await forward()).status, 200)
    await env.gateway.accessLog.flush()

    // Fill the file system to the last block.
    const filler = join(mountPoint, 'filler')
    const fd = openSync(filler, 'w')
    for (const size of [64 * 1024, 512]) {
      try {
        for (;;) writeSync(fd, Buffer.alloc(size))
      } catch (error) {
        assert.equal((error as NodeJS.ErrnoException).code, 'ENOSPC')
      }
    }
    closeSync(fd)

    const { refused } = await untilRefused(createRole, 200)
    assert.deepEqual(refused, storeFull(refused.body?.correlation_id))
    assert.equal((await call(env.dispatcher, `${adminUrl}/readyz`)).status, 503)
    // Calls go on; their records are refused by the full disk too, and wait in memory.
    for (let n = 0; n < 10; n++) assert.equal((await forward()).status, 200)

    rmSync(filler)
    assert.equal((await call(env.dispatcher, `${adminUrl}/readyz`)).status, 200)
    await env.gateway.accessLog.flush()
    const [full, ...more] = logged(env, fullMessage)
    assert.ok(full !== undefined && more.length === 0, 'logged once')
    assert.equal((full.err as { code?: string }).code, 'SQLITE_FULL')
    assert.equal(logged(env, 'store available again').length, 1)
    assert.deepEqual(logged(env, 'admin request failed'), [])
    assert.ok(env.logs.every((line) => !line.includes('cannot rollback')))

    closed = true
    await env.close()
    const store = await openStore({ url: '', dataDir })
    try {
      assert.equal((await store.queryAccessRecords({ limit: 100, flow: '/orders' })).items.length, 20)
      assert.equal((await verifyAuditChain(store.iterateAuditEvents())).ok, true)
    } finally {
      await store.close()
    }
  })
})

import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { Agent, request } from 'undici'
import { type ClientCredentials, clientCredentialsToken } from '../helpers/client-credentials.ts'
import { freePort } from '../helpers/free-port.ts'
import { testPki } from '../helpers/pki.ts'
import { type RecordingUpstream, startRecordingUpstream } from '../helpers/recording-upstream.ts'
import { runCaptured } from './cli-harness.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))

let dir: string
let env: Record<string, string>
let gateway: ChildProcess
let upstream: RecordingUpstream
let runtimeUrl: string
let agent: Agent

const flowgate = async (...argv: string[]) => {
  const result = await runCaptured(argv, env, dir)
  assert.equal(result.code, 0, `flowgate ${argv.join(' ')} failed: ${result.stderr}`)
  return result.stdout
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flowgate-e2e-'))
  upstream = await startRecordingUpstream()
  const pki = await testPki()
  await writeFile(join(dir, 'upstream-ca.pem'), pki.ca.cert)
  const [runtimePort, adminPort] = [await freePort(), await freePort()]
  runtimeUrl = `https://localhost:${runtimePort}`
  env = {
    PATH: process.env.PATH ?? '',
    FLOWGATE_DATA_DIR: join(dir, 'data'),
    FLOWGATE_PUBLIC_URL: runtimeUrl,
    FLOWGATE_RUNTIME_HOST: '127.0.0.1',
    FLOWGATE_RUNTIME_PORT: String(runtimePort),
    FLOWGATE_ADMIN_PORT: String(adminPort),
    FLOWGATE_ADMIN_URL: `https://127.0.0.1:${adminPort}`,
    FLOWGATE_UPSTREAM_CA_FILE: join(dir, 'upstream-ca.pem'),
    FLOWGATE_STORE_POLL_INTERVAL_MS: '200',
    FLOWGATE_LOG_LEVEL: 'warn',
    FLOWGATE_SHUTDOWN_DRAIN_TIMEOUT_MS: '500',
  }
})

after(async () => {
  if (gateway !== undefined && gateway.exitCode === null) {
    gateway.kill('SIGTERM')
    await once(gateway, 'exit')
  }
  await agent?.close()
  await upstream.close()
  await rm(dir, { recursive: true, force: true })
})

/** Resolves when `flowgate start` logs that it listens (its info line), and checks /readyz then. */
async function waitForStarted(logs: () => string, url: string, ca: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const onData = () => {
      if (!logs().includes('"msg":"flowgate started"')) return
      gateway.stdout?.off('data', onData)
      gateway.off('exit', onExit)
      resolve()
    }
    const onExit = (code: number | null) => reject(new Error(`flowgate start exited with ${code}`))
    gateway.stdout?.on('data', onData)
    gateway.once('exit', onExit)
    onData()
  })
  const probe = new Agent({ connect: { ca } })
  try {
    const response = await request(`${url}/readyz`, { dispatcher: probe })
    assert.deepEqual([response.statusCode, await response.body.json()], [200, { status: 'ready' }])
  } finally {
    await probe.close()
  }
}

const tokenFor = (key: ClientCredentials & { oauth: { tokenurl: string } }) =>
  clientCredentialsToken(key.oauth.tokenurl, key, agent)

async function callFlow(token: string) {
  const response = await request(`${runtimeUrl}/http/orders`, {
    method: 'POST',
    dispatcher: agent,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: '{"order":42}',
  })
  return { status: response.statusCode, headers: response.headers, text: await response.body.text() }
}

test('onboarding and revoking a partner, driven only through the flowgate CLI', {
  timeout: 60_000,
}, async () => {
  // init: data directory, store, signing keys, the first admin instance and its key (printed once).
  const initialised = await runCaptured(['init'], env, dir)
  assert.equal(initialised.code, 0, initialised.stderr)
  const adminKey = JSON.parse(initialised.stdout) as { oauth: { clientid: string } }
  const keyFile = join(dir, 'data', 'admin-key.json')
  assert.deepEqual(JSON.parse(readFileSync(keyFile, 'utf8')), adminKey)
  assert.equal((await stat(keyFile)).mode & 0o777, 0o600)
  assert.equal((await runCaptured(['init'], env, dir)).code, 1)

  gateway = spawn(process.execPath, [join(root, 'src/cli/main.ts'), 'start'], {
    env: { ...env, FLOWGATE_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let gatewayErrors = ''
  gateway.stderr?.on('data', (chunk: Buffer) => {
    gatewayErrors += chunk.toString('utf8')
  })
  let gatewayLogs = ''
  gateway.stdout?.on('data', (chunk: Buffer) => {
    gatewayLogs += chunk.toString('utf8')
  })
  const ca = readFileSync(join(dir, 'data', 'tls', 'localhost.crt'), 'utf8')
  agent = new Agent({ connect: { ca } })
  await waitForStarted(() => gatewayLogs, env.FLOWGATE_ADMIN_URL as string, ca)

  await flowgate('role', 'create', 'Partner.Orders')
  const connection = await runCaptured(
    ['connection', 'create', 'cpi', '--username', 'flowgate-svc', '--password-env', 'CPI_PASSWORD'],
    { ...env, CPI_PASSWORD: 'upstream-only-secret' },
    dir,
  )
  assert.equal(connection.code, 0, connection.stderr)
  await flowgate(
    'flow',
    'create',
    '/orders',
    '--upstream',
    `${upstream.origin}/http/orders`,
    '--role',
    'Partner.Orders',
    '--no-csrf',
    '--connection',
    'cpi',
  )
  await flowgate('instance', 'create', 'acme', '-c', '{"roles":["Partner.Orders"]}')
  const acmeKey = JSON.parse(await flowgate('key', 'create', 'acme', 'acme-key')) as Parameters<
    typeof tokenFor
  >[0]
  assert.equal(acmeKey.oauth.tokenurl, `${runtimeUrl}/oauth/token`)
  await flowgate('instance', 'create', 'globex')
  const globexKey = JSON.parse(await flowgate('key', 'create', 'globex', 'globex-key')) as Parameters<
    typeof tokenFor
  >[0]

  // The partner gets a token and calls the flow; only Flowgate holds the upstream credentials.
  const acmeToken = await tokenFor(acmeKey)
  const allowed = await callFlow(acmeToken)
  assert.equal(allowed.status, 200, allowed.text)
  assert.equal(upstream.requests.length, 1)
  assert.equal(
    upstream.requests[0]?.headers.authorization,
    `Basic ${Buffer.from('flowgate-svc:upstream-only-secret').toString('base64')}`,
  )

  // A second instance without the role is refused, and nothing reaches the upstream.
  const refused = await callFlow(await tokenFor(globexKey))
  assert.equal(refused.status, 403)
  assert.equal(upstream.requests.length, 1)

  // Deleting the key makes the partner's token fail on the very next call.
  await flowgate('key', 'delete', 'acme', 'acme-key')
  const revoked = await callFlow(acmeToken)
  assert.equal(revoked.status, 401)
  assert.match(String(revoked.headers['www-authenticate']), /error="invalid_token"/)
  assert.equal(upstream.requests.length, 1)

  // The audit trail is intact and records all of it, with the admin's client id as actor.
  assert.equal(
    await flowgate('audit', 'verify'),
    `Audit trail intact: ${await countEvents()} events verified.\n`,
  )
  const events = JSON.parse(await flowgate('audit', 'list', '--json')) as {
    actor: string
    action: string
    target: string
  }[]
  const byAdmin = events
    .filter((event) => event.actor === adminKey.oauth.clientid)
    .map((event) => `${event.action} ${event.target}`)
  assert.deepEqual(byAdmin, [
    'role.create role:Partner.Orders',
    'connection.create connection:cpi',
    'flow.create flow:/orders',
    'instance.create instance:acme',
    'key.create key:acme/acme-key',
    'instance.create instance:globex',
    'key.create key:globex/globex-key',
    'key.delete key:acme/acme-key',
  ])
  assert.equal(JSON.stringify(events).includes('upstream-only-secret'), false)

  // No path of the runtime listener reaches the admin API, even with an admin token.
  const adminToken = await tokenFor(JSON.parse(readFileSync(keyFile, 'utf8')))
  for (const path of [
    '/admin/v1/roles',
    '/admin/v1/openapi.json',
    '/livez',
    '/readyz',
    '/http/../admin/v1/roles',
  ]) {
    const response = await request(`${runtimeUrl}${path}`, {
      dispatcher: agent,
      headers: { authorization: `Bearer ${adminToken}` },
    })
    const text = await response.body.text()
    assert.notEqual(response.statusCode, 200, `${path} answered on the runtime listener`)
    assert.equal(text.includes('Partner.Orders'), false)
  }

  gateway.kill('SIGTERM')
  // 'close': the exit code, and every line the gateway wrote, for the assertions below.
  const [exitCode] = (await once(gateway, 'close')) as [number]
  assert.equal(exitCode, 0, gatewayErrors)
  assert.equal(gatewayErrors.includes('upstream-only-secret'), false)
  assert.equal(gatewayErrors.includes(acmeToken), false)
  assert.equal(gatewayLogs.includes('upstream-only-secret'), false)
  assert.equal(gatewayLogs.includes(acmeToken), false)
})

async function countEvents(): Promise<number> {
  return (JSON.parse(await flowgate('audit', 'list', '--json')) as unknown[]).length
}

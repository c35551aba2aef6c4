import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { connect as netConnect } from 'node:net'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { connect as tlsConnect } from 'node:tls'
import { request } from 'undici'
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { startTestSimulator } from '../helpers/simulator.ts'

describe('runtime listener', () => {
  let env: TestGateway
  let port: number

  before(async () => {
    env = await startTestGateway()
    port = Number(new URL(env.gateway.runtimeUrl).port)
  })
  after(() => env?.close())

  test('speaks TLS only: a plaintext HTTP request gets no HTTP answer', async () => {
    const answer = await new Promise<string>((resolve) => {
      const socket = netConnect(port, '127.0.0.1', () => {
        socket.write('GET /token_keys HTTP/1.1\r\nhost: localhost\r\n\r\n')
      })
      let received = ''
      socket.on('data', (chunk) => {
        received += chunk.toString('latin1')
      })
      socket.on('close', () => resolve(received))
      socket.on('error', () => resolve(received))
      socket.setTimeout(3000, () => socket.destroy())
    })
    assert.ok(!answer.startsWith('HTTP/'), 'no plaintext HTTP response')
  })

  test('refuses TLS 1.1 and accepts TLS 1.2', async () => {
    const handshake = (maxVersion: 'TLSv1.1' | 'TLSv1.2') =>
      new Promise<string>((resolve) => {
        const socket = tlsConnect({
          host: '127.0.0.1',
          port,
          ca: env.gateway.certificate,
          servername: 'localhost',
          minVersion: 'TLSv1',
          maxVersion,
          ciphers: 'DEFAULT:@SECLEVEL=0',
        })
        socket.once('secureConnect', () => {
          resolve(socket.getProtocol() ?? 'unknown')
          socket.destroy()
        })
        socket.once('error', (error: NodeJS.ErrnoException) => resolve(`error:${error.code ?? 'unknown'}`))
      })
    assert.match(await handshake('TLSv1.1'), /^error:/)
    assert.equal(await handshake('TLSv1.2'), 'TLSv1.2')
  })

  test('every answer carries HSTS; unknown paths get one 404 shape', async () => {
    const response = await request(`${env.gateway.runtimeUrl}/nothing-here`, { dispatcher: env.dispatcher })
    const body = (await response.body.json()) as Record<string, unknown>
    assert.equal(response.statusCode, 404)
    assert.equal(response.headers['strict-transport-security'], 'max-age=31536000')
    assert.deepEqual(body, {
      error: 'not_found',
      error_description: 'not found',
      code: 'ERR_NOT_FOUND',
      correlation_id: response.headers['x-correlation-id'],
    })
    // The flow proxy writes its own header lists; its refusals carry HSTS too.
    const refused = await request(`${env.gateway.runtimeUrl}/http/no-such-flow`, {
      dispatcher: env.dispatcher,
    })
    await refused.body.dump()
    assert.equal(refused.statusCode, 404)
    assert.equal(refused.headers['strict-transport-security'], 'max-age=31536000')
  })

  test('no path on the runtime listener reaches the admin API', async () => {
    for (const path of [
      '/admin/v1/roles',
      '/admin/v1/openapi.json',
      '/livez',
      '/readyz',
      '/http/../admin/v1/roles',
      '/%61dmin/v1/roles',
      '//admin/v1/roles',
    ]) {
      const response = await request(`${env.gateway.runtimeUrl}${path}`, { dispatcher: env.dispatcher })
      await response.body.dump()
      assert.ok(
        response.statusCode === 404 || response.statusCode === 400,
        `${path} → ${response.statusCode}`,
      )
    }
    // The same request on the admin listener is answered (401: it needs an admin token).
    const adminDispatcher = env.dispatcher
    const adminAnswer = await request(`${env.gateway.adminUrl}/admin/v1/roles`, {
      dispatcher: adminDispatcher,
    })
    await adminAnswer.body.dump()
    assert.equal(adminAnswer.statusCode, 401)
  })

  test('the generated self-signed certificate is kept in the data directory', () => {
    assert.equal(readFileSync(join(env.dataDir, 'tls', 'localhost.crt'), 'utf8'), env.gateway.certificate)
  })
})

describe('flowgate start', () => {
  test('SIGTERM drains an in-flight call, then exits 0', async (t) => {
    const cpi = await startTestSimulator({ auth: 'none' })
    t.after(() => cpi.close())
    cpi.setBehaviour('/slow', { delayMs: 800 })
    const env = await startTestGateway()
    const { identity, flows } = env.gateway
    const admin = { actor: 'test', sourceAddress: null }
    await flows.createFlow({ address: '/slow', upstream: `${cpi.url}/http/slow`, csrf: false }, admin)
    await identity.createInstance('partner', 'integration-flow', { roles: ['ESBMessaging.send'] }, admin)
    const key = await identity.createServiceKey('partner', 'k1', {}, admin)
    const masterKey = readFileSync(join(env.dataDir, 'master.key'), 'utf8').trim()
    const dataDir = env.dataDir
    // Hand the data directory over to a real `flowgate start` process.
    await env.gateway.close()

    const child = spawn(process.execPath, ['src/cli/main.ts', 'start'], {
      env: {
        PATH: process.env.PATH,
        FLOWGATE_DATA_DIR: dataDir,
        FLOWGATE_SECRETS_MASTER_KEY: masterKey,
        FLOWGATE_RUNTIME_HOST: '127.0.0.1',
        FLOWGATE_RUNTIME_PORT: '0',
        FLOWGATE_ADMIN_PORT: '0',
        FLOWGATE_UPSTREAM_CA_FILE: join(dataDir, 'upstream-ca.pem'),
        FLOWGATE_LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (chunk) => {
      output += chunk
    })
    child.stderr.on('data', (chunk) => {
      output += chunk
    })
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    const runtimeUrl = await new Promise<string>((resolve, reject) => {
      const timer = setInterval(() => {
        const started = output.split('\n').find((line) => line.includes('"flowgate started"'))
        if (started) {
          clearInterval(timer)
          resolve(JSON.parse(started).runtimeUrl)
        }
      }, 50)
      exited.then(() => {
        clearInterval(timer)
        reject(new Error(`flowgate start exited early: ${output}`))
      })
    })
    const secret = key.oauth.clientsecret
    const tokenResponse = await request(`${runtimeUrl}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: key.oauth.clientid,
        client_secret: secret,
      }).toString(),
      dispatcher: env.dispatcher,
    })
    const { access_token: token } = (await tokenResponse.body.json()) as { access_token: string }

    const inFlight = request(`${runtimeUrl}/http/slow`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: 'order',
      dispatcher: env.dispatcher,
    })
    await cpi.waitForRequest((r) => r.path === '/http/slow')
    child.kill('SIGTERM')
    const response = await inFlight
    assert.equal(response.statusCode, 200)
    assert.equal(((await response.body.json()) as { iflow: string }).iflow, '/slow')
    assert.equal(await exited, 0)
    assert.match(output, /"msg":"shutting down"/)
    assert.match(output, /"msg":"flowgate stopped"/)
    assert.ok(!output.includes(secret) && !output.includes(token), 'no secret or token in the logs')
  })
})

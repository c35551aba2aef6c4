import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import { after, before, describe, test } from 'node:test'
import { setTimeout as delay } from 'node:timers/promises'
import { request } from 'undici'
import { loadConfig } from '../../src/config/load.ts'
import { createFlowService } from '../../src/flows/flow-service.ts'
import { generateSelfSigned } from '../../src/lib/certificates.ts'
import { createSecretBox, masterKeyFromBytes } from '../../src/secrets/master-key.ts'
import type { AccessRecord } from '../../src/store/types.ts'
import { echoBehaviour } from '../helpers/recording-upstream.ts'
import { actor, assertError, eventually, type Harness, rawConnect, startHarness } from './proxy-harness.ts'
import { principal } from './table-authenticator.ts'

const token = 'tok-fail-71c3'
const auth = { authorization: `Bearer ${token}` }

describe('flow proxy: failures', () => {
  let h: Harness
  let closedPort = 0
  let untrusted: ReturnType<typeof createServer>
  let untrustedHits = 0
  before(async () => {
    // A port nothing listens on.
    const probe = createServer()
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
    closedPort = (probe.address() as AddressInfo).port
    await new Promise<void>((resolve) => probe.close(() => resolve()))
    // An HTTPS server whose certificate no configured CA vouches for.
    const stranger = await generateSelfSigned({
      commonName: 'localhost',
      altNames: ['127.0.0.1'],
      usage: 'server',
    })
    untrusted = createServer({ cert: stranger.cert, key: stranger.key }, (_req, res) => {
      untrustedHits++
      res.end('should never be reached')
    })
    await new Promise<void>((resolve) => untrusted.listen(0, '127.0.0.1', resolve))
    const untrustedPort = (untrusted.address() as AddressInfo).port

    h = await startHarness({
      setup: async ({ flows, store, upstream }) => {
        const flow = { methods: ['GET', 'POST'], csrf: false }
        await flows.createFlow(
          { ...flow, address: '/refused', upstream: `https://127.0.0.1:${closedPort}/x` },
          actor,
        )
        await flows.createFlow(
          { ...flow, address: '/untrusted', upstream: `https://127.0.0.1:${untrustedPort}/x` },
          actor,
        )
        await flows.createFlow(
          { ...flow, address: '/slow', upstream: `${upstream.origin}/slow`, timeoutMs: 300 },
          actor,
        )
        await flows.createFlow({ ...flow, address: '/main', upstream: `${upstream.origin}/main` }, actor)
        await flows.createFlow(
          { ...flow, address: '/small', upstream: `${upstream.origin}/small`, maxBodyBytes: 1024 },
          actor,
        )
        // Written under another configuration: plain http to a remote host, and a secret sealed with another master key.
        const unsafe = loadConfig({ env: {}, overrides: { 'upstream.unsafeAllowHttp': true } })
        const foreignBox = createSecretBox(masterKeyFromBytes(randomBytes(32)))
        const other = createFlowService({ store, secretBox: foreignBox, config: unsafe })
        await other.createFlow(
          { ...flow, address: '/plain-http', upstream: 'http://cpi.example.com/x' },
          actor,
        )
        await other.createConnection(
          { name: 'foreign', type: 'basic', username: 'u', password: 'pw-foreign-secret' },
          actor,
        )
        await flows.createFlow(
          { ...flow, address: '/foreign', upstream: `${upstream.origin}/foreign`, connection: 'foreign' },
          actor,
        )
      },
    })
    h.authenticator.allow(token, principal('sb-fail!b1|it-rt-flowgate!b1', ['ESBMessaging.send']))
  })
  after(async () => {
    await h.close()
    untrusted.closeAllConnections()
    await new Promise<void>((resolve) => untrusted.close(() => resolve()))
  })

  test('an upstream that refuses connections gives 502 with the correlation id', async () => {
    const result = await h.call('GET', '/http/refused', { headers: auth })
    assertError(result, 502, {
      error: 'upstream_unreachable',
      error_description: 'upstream unreachable',
      code: 'ERR_UPSTREAM_UNREACHABLE',
    })
    const record = await h.record(result.headers['x-correlation-id'])
    assert.deepEqual(
      [record.status, record.upstreamStatus, record.reason],
      [502, null, 'ERR_UPSTREAM_UNREACHABLE'],
    )
  })

  test('an upstream whose certificate does not verify gives 502 and gets no request', async () => {
    const result = await h.call('POST', '/http/untrusted', { headers: auth, body: 'secret payload' })
    assertError(result, 502, {
      error: 'upstream_unreachable',
      error_description: 'upstream unreachable',
      code: 'ERR_UPSTREAM_UNREACHABLE',
    })
    assert.equal(untrustedHits, 0)
  })

  test('no response headers within the flow timeout gives 504, and the upstream request is cancelled', async () => {
    const index = h.upstream.requests.length
    h.upstream.behaviour = () => {}
    try {
      const started = Date.now()
      const result = await h.call('GET', '/http/slow', { headers: auth })
      assertError(result, 504, {
        error: 'upstream_timeout',
        error_description: 'upstream did not answer in time',
        code: 'ERR_UPSTREAM_TIMEOUT',
      })
      assert.ok(Date.now() - started >= 250)
      assert.equal((await h.upstream.settled(index)).aborted, true)
      assert.equal((await h.record(result.headers['x-correlation-id'])).reason, 'ERR_UPSTREAM_TIMEOUT')
    } finally {
      h.upstream.behaviour = echoBehaviour
    }
  })

  test('a reset after the response started aborts the client connection: never a short response that looks complete', async () => {
    for (const framing of ['content-length', 'chunked'] as const) {
      h.upstream.behaviour = (_req, res) => {
        res.writeHead(200, framing === 'content-length' ? { 'content-length': 100_000 } : {})
        res.write(Buffer.alloc(1000, 'a'), () => setTimeout(() => res.socket?.destroy(), 20))
      }
      try {
        const response = await request(`${h.url}/http/main`, { dispatcher: h.client, headers: auth })
        assert.equal(response.statusCode, 200)
        await assert.rejects(response.body.arrayBuffer(), framing)
        const record = await h.record(response.headers['x-correlation-id'])
        assert.deepEqual(
          [record.status, record.upstreamStatus, record.reason],
          [200, 200, 'ERR_UPSTREAM_BAD_RESPONSE'],
        )
      } finally {
        h.upstream.behaviour = echoBehaviour
      }
    }
  })

  test('a client that goes away cancels the upstream request', async () => {
    const index = h.upstream.requests.length
    h.upstream.behaviour = () => {}
    const controller = new AbortController()
    try {
      const pending = request(`${h.url}/http/main`, {
        dispatcher: h.client,
        headers: auth,
        signal: controller.signal,
      })
      await h.upstream.received(index + 1)
      controller.abort()
      await assert.rejects(pending)
      assert.equal((await h.upstream.settled(index)).aborted, true)
    } finally {
      h.upstream.behaviour = echoBehaviour
    }
    // The access record says who gave up.
    await h.accessLog.flush()
    const page = await h.store.queryAccessRecords({ limit: 1000 })
    const record = page.items.find((item) => item.reason === 'ERR_CLIENT_CLOSED_REQUEST')
    assert.equal(record?.status, 499)
    assert.equal(record?.flow, '/main')
  })

  test('a small body is read whole before forwarding: a client that stops halfway sends nothing upstream', async () => {
    const before = h.upstream.requests.length
    const tokensSeen = h.authenticator.seen.length
    const socket = await rawConnect(h.url)
    socket.write(
      `POST /http/main HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${auth.authorization}\r\n` +
        `Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n${'{'.repeat(500)}`,
    )
    // Half of the declared body, then, once the proxy has the request (it asked for the token), the
    // client is gone.
    await eventually(async () => h.authenticator.seen.length > tokensSeen)
    socket.destroy()
    // The server learns of the close a moment after the client: wait for the record.
    let record: AccessRecord | undefined
    for (let attempt = 0; attempt < 50 && record === undefined; attempt++) {
      if (attempt > 0) await delay(20)
      await h.accessLog.flush()
      const page = await h.store.queryAccessRecords({ limit: 1000 })
      record = page.items.find(
        (item) => item.method === 'POST' && item.reason === 'ERR_CLIENT_CLOSED_REQUEST',
      )
    }
    assert.deepEqual(
      [record?.status, record?.flow, record?.upstreamStatus],
      [499, '/main', null],
      'the call is recorded as given up by the client',
    )
    assert.equal(h.upstream.requests.length, before, 'no part of the body reached the upstream')
  })

  test('a declared body over the limit gets 413 before anything is forwarded', async () => {
    const before = h.upstream.requests.length
    const result = await h.call('POST', '/http/small', { headers: auth, body: Buffer.alloc(1025, 'b') })
    assertError(result, 413, {
      error: 'payload_too_large',
      error_description: 'request body too large',
      code: 'ERR_PAYLOAD_TOO_LARGE',
    })
    assert.equal(result.headers.connection, 'close')
    assert.equal(h.upstream.requests.length, before)
    const ok = await h.call('POST', '/http/small', { headers: auth, body: Buffer.alloc(1024, 'b') })
    assert.equal(ok.status, 200)
  })

  test('a chunked body that grows over the limit is cut off: 413 and the upstream never sees it complete', async () => {
    const before = h.upstream.requests.length
    h.upstream.early = true
    // Answers only once the whole body is in, which must never happen.
    h.upstream.behaviour = (req, res) => req.on('end', () => res.end('complete'))
    try {
      let sent = 0
      const body = new Readable({
        read() {
          if (sent >= 65_536) return this.push(null)
          sent += 512
          setTimeout(() => this.push(Buffer.alloc(512, 'c')), 1)
        },
      })
      let status: number | null = null
      try {
        const response = await request(`${h.url}/http/small`, {
          dispatcher: h.client,
          method: 'POST',
          headers: auth,
          body,
        })
        status = response.statusCode
        assert.equal(JSON.parse(await response.body.text()).code, 'ERR_PAYLOAD_TOO_LARGE')
      } catch (error) {
        // The listener may close the connection while the client is still sending: acceptable, a 200 is not.
        assert.ok(error instanceof Error)
      }
      if (status !== null) assert.equal(status, 413)
      for (let i = before; i < h.upstream.requests.length; i++) {
        const received = await h.upstream.settled(i)
        assert.equal(received.complete, false)
        assert.ok(received.bodyBytes <= 1024 + 512)
      }
    } finally {
      h.upstream.early = false
      h.upstream.behaviour = echoBehaviour
    }
  })

  test('flows the configuration no longer allows, or whose connection cannot be opened, are refused, not forwarded', async () => {
    const plain = await h.call('GET', '/http/plain-http', { headers: auth })
    assertError(plain, 502, {
      error: 'upstream_unreachable',
      error_description: 'upstream unreachable',
      code: 'ERR_UPSTREAM_UNREACHABLE',
    })
    const before = h.upstream.requests.length
    const foreign = await h.call('GET', '/http/foreign', { headers: auth })
    assertError(foreign, 502, {
      error: 'upstream_auth',
      error_description: 'upstream authentication failed',
      code: 'ERR_UPSTREAM_AUTH',
    })
    assert.equal(h.upstream.requests.length, before)
    // Unauthenticated callers learn nothing about it.
    assert.equal((await h.call('GET', '/http/foreign')).status, 401)
    assert.equal(h.logs().includes('pw-foreign-secret'), false)
    assert.match(h.logs(), /flow \/plain-http cannot be served/)
  })
})

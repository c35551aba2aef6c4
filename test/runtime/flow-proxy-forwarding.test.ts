import assert from 'node:assert/strict'
import type { IncomingMessage } from 'node:http'
import { Readable } from 'node:stream'
import { after, before, describe, test } from 'node:test'
import { request } from 'undici'
import { echoBehaviour } from '../helpers/recording-upstream.ts'
import { actor, type Harness, rawRequest, startHarness } from './proxy-harness.ts'
import { principal } from './table-authenticator.ts'

const token = 'tok-fwd-2e9d'
const caller = principal('sb-fwd!b7|it-rt-flowgate!b1', ['ESBMessaging.send', 'Partner.read'], 'acme-erp')
const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'

function rawCall(
  h: Harness,
  path: string,
  extraHeaders: string,
): Promise<{ status: number; head: string; body: string }> {
  return rawRequest(
    h.url,
    `GET ${path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\n${extraHeaders}Connection: close\r\n\r\n`,
  )
}

/** Headers a client may try to smuggle upstream or use to forge its identity. */
const hostileHeaders =
  'Connection: X-Hop-Secret, close\r\n' +
  'X-Hop-Secret: 1\r\n' +
  'Keep-Alive: timeout=5\r\n' +
  'TE: trailers\r\n' +
  'Proxy-Authorization: Basic cHJveHk6cHc=\r\n' +
  'Cookie: JSESSIONID=abc;b=2\r\n' +
  'X-CSRF-Token: Fetch\r\n' +
  'X-Forwarded-For: 6.6.6.6\r\n' +
  'X-Forwarded-Proto: http\r\n' +
  'X-Forwarded-Host: evil.example\r\n' +
  'Forwarded: for=6.6.6.6\r\n' +
  'X-Flowgate-Client-Id: sb-admin\r\n' +
  'X-FLOWGATE-ROLES: Flowgate.Admin\r\n' +
  'X-Flowgate-Anything: x\r\n' +
  'X-Correlation-ID: chosen-by-client\r\n' +
  'X-Custom: kept\r\n' +
  'Accept: application/json\r\n'

describe('flow proxy: forwarding', () => {
  let h: Harness
  before(async () => {
    h = await startHarness({
      setup: async ({ flows, upstream }) => {
        await flows.createFlow(
          {
            address: '/orders',
            upstream: `${upstream.origin}/cpi/orders`,
            methods: ['GET', 'POST'],
            csrf: false,
          },
          actor,
        )
        await flows.createFlow(
          {
            address: '/bulk',
            upstream: `${upstream.origin}/cpi/bulk`,
            methods: ['GET', 'POST'],
            csrf: false,
            maxBodyBytes: 128 * 1024 * 1024,
          },
          actor,
        )
      },
    })
    h.authenticator.allow(token, caller)
  })
  after(() => h.close())

  test('request headers: hop-by-hop, credentials and forgeries dropped; Flowgate sets forwarding and identity', async () => {
    const result = await rawCall(
      h,
      '/http/orders?q=%2Fa%20b&empty=',
      `${hostileHeaders}traceparent: ${traceparent}\r\ntracestate: vendor=1\r\n`,
    )
    assert.equal(result.status, 200)
    const correlationId = /x-correlation-id: ([0-9a-f-]{36})/i.exec(result.head)?.[1]
    const received = h.upstream.requests.at(-1)
    assert.equal(received?.url, '/cpi/orders?q=%2Fa%20b&empty=')
    const { connection: _connection, ...headers } = received?.headers ?? {}
    assert.deepEqual(headers, {
      host: new URL(h.upstream.origin).host,
      'x-custom': 'kept',
      accept: 'application/json',
      traceparent,
      tracestate: 'vendor=1',
      'x-forwarded-for': '127.0.0.1',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'localhost:8443',
      'x-correlation-id': correlationId,
      'x-flowgate-client-id': 'sb-fwd!b7|it-rt-flowgate!b1',
      'x-flowgate-instance': 'acme-erp',
      'x-flowgate-roles': 'ESBMessaging.send,Partner.read',
    })
  })

  test('a traceparent is created when the client sends none or an invalid one', async () => {
    for (const extra of ['', 'traceparent: 00-xyz-bad-01\r\ntracestate: dropped=1\r\n']) {
      const result = await rawCall(h, '/http/orders', extra)
      const correlationId = /x-correlation-id: ([0-9a-f-]{36})/i.exec(result.head)?.[1] as string
      const received = h.upstream.requests.at(-1)
      assert.match(
        received?.headers.traceparent as string,
        new RegExp(`^00-${correlationId.replaceAll('-', '')}-[0-9a-f]{16}-01$`),
      )
      assert.equal(received?.headers.tracestate, undefined)
    }
  })

  test("response headers: hop-by-hop, cookies, upstream CSRF token and transport policy dropped; Flowgate's log id and HSTS set", async () => {
    h.upstream.behaviour = (_req, res) => {
      res.writeHead(201, [
        'Connection',
        'X-Hop-Reply',
        'X-Hop-Reply',
        'secret',
        'Keep-Alive',
        'timeout=99',
        'Set-Cookie',
        'JSESSIONID=upstream; Path=/',
        'X-CSRF-Token',
        'upstream-token',
        'X-Correlation-ID',
        'upstream-id',
        'Strict-Transport-Security',
        'max-age=1',
        'SAP_MessageProcessingLogID',
        'AGVfDkmDx4bqZ0tY1l9lq3zN1Xxq',
        'X-Other',
        'a',
        'X-Other',
        'b',
        'Content-Type',
        'text/plain',
        'Content-Length',
        '2',
      ])
      res.end('ok')
    }
    try {
      const result = await h.call('GET', '/http/orders', { headers: { authorization: `Bearer ${token}` } })
      const { date: _date, connection: _connection, 'keep-alive': _keepAlive, ...headers } = result.headers
      assert.equal(result.status, 201)
      assert.equal(result.body, 'ok')
      assert.deepEqual(headers, {
        sap_messageprocessinglogid: 'AGVfDkmDx4bqZ0tY1l9lq3zN1Xxq',
        'x-other': ['a', 'b'],
        'content-type': 'text/plain',
        'content-length': '2',
        'x-correlation-id': headers['x-correlation-id'],
        'strict-transport-security': 'max-age=31536000',
      })
      assert.match(headers['x-correlation-id'] as string, /^[0-9a-f-]{36}$/)
      assert.equal(h.upstream.requests.at(-1)?.headers['x-correlation-id'], headers['x-correlation-id'])
      // Node's own keep-alive header, not the upstream's value.
      assert.notEqual(_keepAlive, 'timeout=99')
    } finally {
      h.upstream.behaviour = echoBehaviour
    }
  })

  test('redirects come back as they are, never followed', async () => {
    const before = h.upstream.requests.length
    h.upstream.behaviour = (_req, res) => {
      res.writeHead(302, { location: 'https://elsewhere.example/login?x=1', 'content-length': '0' })
      res.end()
    }
    try {
      const result = await h.call('GET', '/http/orders', { headers: { authorization: `Bearer ${token}` } })
      assert.equal(result.status, 302)
      assert.equal(result.headers.location, 'https://elsewhere.example/login?x=1')
      assert.equal(h.upstream.requests.length, before + 1)
      const record = await h.record(result.headers['x-correlation-id'])
      assert.deepEqual([record.status, record.upstreamStatus, record.reason], [302, 302, null])
    } finally {
      h.upstream.behaviour = echoBehaviour
    }
  })

  test('an answer of declared length arrives whole, in one piece or in several', async () => {
    for (const parts of [['{"ok":true}'], ['{"ok":', 'true}']]) {
      h.upstream.behaviour = (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '11' })
        res.flushHeaders()
        const [first, second] = parts as [string, string | undefined]
        if (second === undefined) res.end(first)
        // The second part only once the first has reached the client, so it is a separate chunk.
        else res.write(first, () => setTimeout(() => res.end(second), 50))
      }
      try {
        const result = await h.call('GET', '/http/orders', { headers: { authorization: `Bearer ${token}` } })
        assert.deepEqual(
          [result.status, result.headers['content-length'], result.body],
          [200, '11', '{"ok":true}'],
        )
        const record = await h.record(result.headers['x-correlation-id'])
        assert.equal(record.bytesOut, 11)
      } finally {
        h.upstream.behaviour = echoBehaviour
      }
    }
  })

  test('connections to an upstream are reused', async () => {
    const before = h.upstream.requests.length
    for (let i = 0; i < 5; i++) {
      assert.equal(
        (await h.call('GET', '/http/orders', { headers: { authorization: `Bearer ${token}` } })).status,
        200,
      )
    }
    const ports = new Set(h.upstream.requests.slice(before).map((received) => received.remotePort))
    assert.equal(ports.size, 1)
  })

  test('a 64 MiB body streams both ways, chunked, and is counted in the access records', async () => {
    const chunk = Buffer.alloc(64 * 1024, 'x')
    const upload = async (size: number) => {
      h.upstream.behaviour = echoBehaviour
      let sent = 0
      const body = new Readable({
        read() {
          if (sent >= size) return this.push(null)
          sent += chunk.length
          this.push(chunk)
        },
      })
      const response = await request(`${h.url}/http/bulk`, {
        dispatcher: h.client,
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
        body,
      })
      assert.equal(response.statusCode, 200)
      assert.deepEqual(await response.body.json(), { method: 'POST', url: '/cpi/bulk', bodyBytes: size })
      return response.headers['x-correlation-id']
    }
    const download = async (size: number) => {
      h.upstream.behaviour = (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size })
        let written = 0
        const pump = () => {
          while (written < size) {
            written += chunk.length
            if (!res.write(chunk)) return res.once('drain', pump)
          }
          res.end()
        }
        pump()
      }
      const response = await request(`${h.url}/http/bulk`, {
        dispatcher: h.client,
        method: 'GET',
        headers: { authorization: `Bearer ${token}` },
      })
      assert.equal(response.statusCode, 200)
      let received = 0
      for await (const part of response.body) received += part.length
      assert.equal(received, size)
      return response.headers['x-correlation-id']
    }
    const size = 64 * 1024 * 1024
    try {
      const uploaded = await upload(size)
      const downloaded = await download(size)
      const received = h.upstream.requests.findLast((item) => item.method === 'POST')
      assert.equal(received?.headers['transfer-encoding'], 'chunked')
      assert.equal(received?.complete, true)
      assert.equal((await h.record(uploaded as string)).bytesIn, size)
      assert.equal((await h.record(downloaded as string)).bytesOut, size)
    } finally {
      h.upstream.behaviour = echoBehaviour
    }
  })

  // Streaming, proven by backpressure rather than by sampling memory (client, proxy and upstream
  // share this process): while one side stops reading, the other cannot get far ahead of it. A
  // proxy that buffered bodies would take the whole 128 MiB meanwhile; what may legitimately sit in
  // between is the socket buffers of two loopback TCP connections, which Linux autotunes up to
  // several MiB each way (37 MiB were seen in flight on a loaded machine), so the bound is half.
  const size = 128 * 1024 * 1024
  const stalled = 8 * 1024 * 1024
  const settle = () => new Promise((resolve) => setTimeout(resolve, 500))
  /** Waits until a byte count stops growing (two equal samples 200 ms apart, 10 s at most). */
  async function steady(count: () => number): Promise<number> {
    let last = count()
    for (let i = 0; i < 50; i++) {
      await new Promise((resolve) => setTimeout(resolve, 200))
      const now = count()
      if (now === last) return now
      last = now
    }
    return last
  }

  test('an upload the upstream stops reading stops the client, then completes', async () => {
    const chunk = Buffer.alloc(64 * 1024, 'u')
    let stoppedRequest: IncomingMessage | undefined
    let stopped!: () => void
    const stoppedReading = new Promise<void>((resolve) => {
      stopped = resolve
    })
    h.upstream.early = true
    h.upstream.behaviour = (req, res) => {
      let got = 0
      req.on('data', (part: Buffer) => {
        got += part.length
        if (got >= stalled && stoppedRequest === undefined) {
          stoppedRequest = req
          req.pause()
          stopped()
        }
      })
      req.on('end', () => res.end(JSON.stringify({ bytes: got })))
    }
    let sent = 0
    const body = new Readable({
      read() {
        if (sent >= size) return this.push(null)
        sent += chunk.length
        this.push(chunk)
      },
    })
    try {
      const response = request(`${h.url}/http/bulk`, {
        dispatcher: h.client,
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
        body,
      })
      await stoppedReading
      const sentWhileStopped = await steady(() => sent)
      assert.ok(
        sentWhileStopped < size / 2,
        `the client sent ${sentWhileStopped} bytes while the upstream had stopped reading`,
      )
      stoppedRequest?.resume()
      const answer = await response
      assert.equal(answer.statusCode, 200)
      assert.deepEqual(await answer.body.json(), { bytes: size })
    } finally {
      h.upstream.early = false
      h.upstream.behaviour = echoBehaviour
    }
  })

  test('a download the client stops reading stops the upstream, then completes', async () => {
    const chunk = Buffer.alloc(64 * 1024, 'd')
    let written = 0
    h.upstream.behaviour = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size })
      const pump = () => {
        while (written < size) {
          written += chunk.length
          if (!res.write(chunk)) return res.once('drain', pump)
        }
        res.end()
      }
      pump()
    }
    try {
      const response = await request(`${h.url}/http/bulk`, {
        dispatcher: h.client,
        method: 'GET',
        headers: { authorization: `Bearer ${token}` },
      })
      assert.equal(response.statusCode, 200)
      // Read nothing for a while: the upstream must stall far short of the whole body.
      response.body.pause()
      await settle()
      const writtenWhileStopped = await steady(() => written)
      assert.ok(
        writtenWhileStopped < size / 2,
        `the upstream wrote ${writtenWhileStopped} bytes while the client read none`,
      )
      let received = 0
      for await (const part of response.body) received += part.length
      assert.equal(received, size)
    } finally {
      h.upstream.behaviour = echoBehaviour
    }
  })
})

describe('flow proxy: forwarding behind a trusted proxy', () => {
  let h: Harness
  before(async () => {
    h = await startHarness({
      trustedProxies: ['127.0.0.1'],
      setup: async ({ flows, upstream }) => {
        await flows.createFlow(
          { address: '/orders', upstream: `${upstream.origin}/cpi/orders`, methods: ['GET'], csrf: false },
          actor,
        )
      },
    })
    h.authenticator.allow(token, caller)
  })
  after(() => h.close())

  test('incoming X-Forwarded-* from a trusted proxy are kept, with the proxy appended', async () => {
    const result = await rawCall(
      h,
      '/http/orders',
      'X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: api.partner.example\r\nForwarded: for=203.0.113.7\r\nX-Flowgate-Client-Id: forged\r\n',
    )
    assert.equal(result.status, 200)
    const received = h.upstream.requests.at(-1)
    assert.equal(received?.headers['x-forwarded-for'], '203.0.113.7, 127.0.0.1')
    assert.equal(received?.headers['x-forwarded-proto'], 'https')
    assert.equal(received?.headers['x-forwarded-host'], 'api.partner.example')
    assert.equal(received?.headers.forwarded, 'for=203.0.113.7')
    assert.equal(received?.headers['x-flowgate-client-id'], 'sb-fwd!b7|it-rt-flowgate!b1')
    const correlationId = /x-correlation-id: ([0-9a-f-]{36})/i.exec(result.head)?.[1]
    assert.equal((await h.record(correlationId)).sourceAddress, '203.0.113.7')
  })
})

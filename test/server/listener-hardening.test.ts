import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { TLSSocket } from 'node:tls'
import { connectionsCheckingIntervalMs } from '../../src/lib/https-listener.ts'
import { isValidHost } from '../../src/lib/request-head.ts'
import {
  connectTls,
  parseAnswer,
  type RawAnswer,
  type RawGateway,
  rawExchange,
  startRawGateway,
} from './raw-gateway.ts'

const headersTimeoutMs = 1000
const requestTimeoutMs = 2000

const descriptions: Record<string, string> = {
  ERR_HEADERS_TOO_LARGE: 'request header fields too large',
  ERR_URI_TOO_LONG: 'request target too long',
  ERR_HTTP_VERSION_NOT_SUPPORTED: 'HTTP version not supported',
  ERR_MALFORMED_REQUEST: 'malformed HTTP request',
  ERR_BAD_FRAMING: 'invalid request message framing',
  ERR_BAD_HOST: 'invalid Host header',
  ERR_REQUEST_TIMEOUT: 'request not received in time',
}

/** The whole answer of a refusal at the listener: status, headers, JSON body, connection closed. */
function assertRefused(answer: RawAnswer, status: number, code: string, what: string): void {
  const body = JSON.stringify({
    error: code.slice(4).toLowerCase(),
    error_description: descriptions[code],
    code,
  })
  const { date: _date, ...headers } = answer.headers
  assert.deepEqual(
    { ...answer, headers },
    {
      status,
      headers: {
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
        'cache-control': 'no-store',
        connection: 'close',
        'strict-transport-security': 'max-age=31536000',
      },
      body,
      closed: true,
    },
    what,
  )
}

describe('runtime listener: HTTP parsing', () => {
  let g: RawGateway
  let auth: string
  before(async () => {
    g = await startRawGateway({
      'runtime.headersTimeoutMs': headersTimeoutMs,
      'runtime.requestTimeoutMs': requestTimeoutMs,
    })
    auth = `Authorization: Bearer ${g.token}\r\n`
  })
  after(() => g?.close())

  test('requests that fail parsing or the head checks get the right status and JSON error, and nothing is forwarded', async () => {
    const host = `Host: ${g.host}\r\n`
    const get = (target: string, headers: string, version = 'HTTP/1.1') =>
      `GET ${target} ${version}\r\n${headers}\r\n`
    const padding = Array.from({ length: 200 }, (_, i) => `X-Pad-${i}: ${'p'.repeat(1024)}\r\n`).join('')
    const cases: [string, string, number, string][] = [
      [
        'one 20 KiB header',
        get('/http/orders', `${host}${auth}X-Big: ${'a'.repeat(20_480)}\r\n`),
        431,
        'ERR_HEADERS_TOO_LARGE',
      ],
      ['200 headers of 1 KiB', get('/http/orders', `${host}${auth}${padding}`), 431, 'ERR_HEADERS_TOO_LARGE'],
      [
        'a 12 KiB target',
        get(`/http/orders?q=${'a'.repeat(12_288)}`, `${host}${auth}`),
        414,
        'ERR_URI_TOO_LONG',
      ],
      ['HTTP/2.7', get('/http/orders', `${host}${auth}`, 'HTTP/2.7'), 505, 'ERR_HTTP_VERSION_NOT_SUPPORTED'],
      ['HTTP/3.0', get('/http/orders', `${host}${auth}`, 'HTTP/3.0'), 505, 'ERR_HTTP_VERSION_NOT_SUPPORTED'],
      ['HTTP/1.2', get('/http/orders', `${host}${auth}`, 'HTTP/1.2'), 505, 'ERR_HTTP_VERSION_NOT_SUPPORTED'],
      // llhttp parses these two; the listener refuses them.
      ['HTTP/2.0', get('/http/orders', `${host}${auth}`, 'HTTP/2.0'), 505, 'ERR_HTTP_VERSION_NOT_SUPPORTED'],
      ['HTTP/0.9', get('/http/orders', `${host}${auth}`, 'HTTP/0.9'), 505, 'ERR_HTTP_VERSION_NOT_SUPPORTED'],
      [
        'a space in a header name',
        get('/http/orders', `${host}${auth}Bad Header: x\r\n`),
        400,
        'ERR_MALFORMED_REQUEST',
      ],
      ['an invalid method', `G@T /http/orders HTTP/1.1\r\n${host}${auth}\r\n`, 400, 'ERR_MALFORMED_REQUEST'],
      [
        'Content-Length with Transfer-Encoding',
        `POST /http/orders HTTP/1.1\r\n${host}${auth}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
        400,
        'ERR_BAD_FRAMING',
      ],
      [
        'two different Content-Lengths',
        `POST /http/orders HTTP/1.1\r\n${host}${auth}Content-Length: 1\r\nContent-Length: 2\r\n\r\nab`,
        400,
        'ERR_BAD_FRAMING',
      ],
      [
        'Transfer-Encoding on HTTP/1.0',
        `POST /http/orders HTTP/1.0\r\n${host}${auth}Transfer-Encoding: chunked\r\n\r\n5\r\norder\r\n0\r\n\r\n`,
        400,
        'ERR_BAD_FRAMING',
      ],
      ['no Host on HTTP/1.1', get('/http/orders', auth), 400, 'ERR_BAD_HOST'],
      ['two Host headers', get('/http/orders', `${host}Host: evil.example\r\n${auth}`), 400, 'ERR_BAD_HOST'],
      ['userinfo in Host', get('/http/orders', `Host: evil@${g.host}\r\n${auth}`), 400, 'ERR_BAD_HOST'],
      ['port 99999 in Host', get('/http/orders', `Host: localhost:99999\r\n${auth}`), 400, 'ERR_BAD_HOST'],
      ['port 0 in Host', get('/http/orders', `Host: localhost:0\r\n${auth}`), 400, 'ERR_BAD_HOST'],
      ['whitespace in Host', get('/http/orders', `Host: local host\r\n${auth}`), 400, 'ERR_BAD_HOST'],
      ['a list in Host', get('/http/orders', `Host: localhost,evil.example\r\n${auth}`), 400, 'ERR_BAD_HOST'],
      ['markup in Host', get('/http/orders', `Host: <script>\r\n${auth}`), 400, 'ERR_BAD_HOST'],
      ['an empty Host', get('/http/orders', `Host: \r\n${auth}`), 400, 'ERR_BAD_HOST'],
      [
        'an absolute-form target for another host',
        get('https://evil.example/http/orders', `${host}${auth}`),
        400,
        'ERR_BAD_HOST',
      ],
      [
        'an absolute-form target with userinfo',
        get(`https://evil@${g.host}/http/orders`, `${host}${auth}`),
        400,
        'ERR_BAD_HOST',
      ],
    ]
    for (const [what, request, status, code] of cases) {
      assertRefused(await rawExchange(g, request), status, code, what)
    }
    assert.equal(g.upstream.requests.length, 0, 'nothing reached the upstream')

    // The same requests, well-formed, are forwarded: a target of exactly the limit, HTTP/1.0
    // without Host, and an HTTP/1.1 request with Host.
    const atLimit = `/http/orders?q=${'a'.repeat(8192 - '/http/orders?q='.length)}`
    const forwarded = [
      get(atLimit, `${host}${auth}Connection: close\r\n`),
      get('/http/orders', auth, 'HTTP/1.0'),
      get('/http/orders', `Host: LOCALHOST\r\n${auth}Connection: close\r\n`),
    ]
    for (const request of forwarded)
      assert.equal((await rawExchange(g, request)).status, 200, request.slice(0, 40))
    assert.deepEqual(
      g.upstream.requests.map((r) => r.url.slice(0, 20)),
      ['/cpi/orders?q=aaaaaa', '/cpi/orders', '/cpi/orders'],
    )
    // An absolute-form target naming the gateway passes the Host check; as before, no route takes it.
    const absolute = await rawExchange(
      g,
      get(`https://${g.host}/http/orders`, `${host}${auth}Connection: close\r\n`),
    )
    assert.equal(absolute.status, 404)
    assert.equal(JSON.parse(absolute.body).code, 'ERR_NOT_FOUND')
    assert.equal(g.upstream.requests.length, 3)
  })

  test('50 clients sending their headers a byte at a time are answered 408 and closed within the headers timeout plus a second', async (t) => {
    const head = `GET /http/orders HTTP/1.1\r\nHost: ${g.host}\r\n${auth}`
    const slowClient = async (): Promise<{ elapsedMs: number; answer: RawAnswer; sent: number }> => {
      const socket = await connectTls(g.runtimeUrl, g.env.gateway.certificate)
      const started = performance.now()
      let sent = 0
      const chunks: Buffer[] = []
      const dribble = setInterval(() => {
        if (sent < head.length && socket.writable) socket.write(head[sent++] as string)
      }, 50)
      return new Promise((resolve) => {
        socket.on('data', (chunk: Buffer) => chunks.push(chunk))
        socket.on('error', () => {})
        socket.once('close', () => {
          clearInterval(dribble)
          resolve({
            elapsedMs: performance.now() - started,
            answer: parseAnswer(Buffer.concat(chunks).toString('latin1'), true),
            sent,
          })
        })
      })
    }
    const results = await Promise.all(Array.from({ length: 50 }, slowClient))
    const times = results.map((result) => Math.round(result.elapsedMs))
    t.diagnostic(`slow-header sockets closed after ${Math.min(...times)}–${Math.max(...times)} ms`)
    for (const { elapsedMs, answer, sent } of results) {
      assert.ok(sent < head.length, 'the headers were never complete')
      assert.ok(elapsedMs >= headersTimeoutMs - 100, `closed after ${elapsedMs} ms, not before the timeout`)
      assert.ok(elapsedMs <= headersTimeoutMs + 1000, `closed after ${elapsedMs} ms`)
      assertRefused(answer, 408, 'ERR_REQUEST_TIMEOUT', 'slow headers')
    }
    assert.equal(g.upstream.requests.length, 3, 'nothing more reached the upstream')
  })

  test('a body that stalls gets 408 at the request timeout; a streamed one is aborted upstream', async () => {
    const stalled = async (declared: number, sent: number) => {
      const socket = await connectTls(g.runtimeUrl, g.env.gateway.certificate)
      const started = performance.now()
      const chunks: Buffer[] = []
      socket.on('data', (chunk: Buffer) => chunks.push(chunk))
      socket.on('error', () => {})
      socket.write(
        `POST /http/orders HTTP/1.1\r\nHost: ${g.host}\r\n${auth}Content-Length: ${declared}\r\n\r\n${'b'.repeat(sent)}`,
      )
      await new Promise((resolve) => socket.once('close', resolve))
      return {
        elapsedMs: performance.now() - started,
        answer: parseAnswer(Buffer.concat(chunks).toString('latin1'), true),
      }
    }
    const before = g.upstream.requests.length
    // Small bodies are read whole before forwarding: nothing reaches the upstream.
    const small = await stalled(1000, 10)
    assertRefused(small.answer, 408, 'ERR_REQUEST_TIMEOUT', 'a small body that stalls')
    assert.ok(small.elapsedMs >= requestTimeoutMs - 100 && small.elapsedMs <= requestTimeoutMs + 1000)
    assert.equal(g.upstream.requests.length, before)

    // Larger bodies stream: the upstream sees the request start, then its abort, never a complete body.
    const large = await stalled(1_048_576, 65_536)
    assertRefused(large.answer, 408, 'ERR_REQUEST_TIMEOUT', 'a streamed body that stalls')
    assert.ok(large.elapsedMs >= requestTimeoutMs - 100 && large.elapsedMs <= requestTimeoutMs + 1000)
    assert.equal(g.upstream.requests.length, before + 1)
    const recorded = await g.upstream.settled(before)
    assert.equal(recorded.complete, false)
    assert.ok(recorded.bodyBytes <= 65_536)
  })

  test('a client that stops reading a large answer holds it at the upstream, not in the gateway', async (t) => {
    const total = 64 * 1_048_576
    const chunk = Buffer.alloc(65_536, 'x')
    let written = 0
    let lastProgress = performance.now()
    g.upstream.behaviour = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total })
      const pump = () => {
        while (written < total) {
          written += chunk.length
          lastProgress = performance.now()
          if (!res.write(chunk)) {
            res.once('drain', pump)
            return
          }
        }
        res.end()
      }
      pump()
    }
    const socket: TLSSocket = await connectTls(g.runtimeUrl, g.env.gateway.certificate)
    let received = 0
    const headReceived = new Promise<void>((resolve) => {
      socket.once('data', () => {
        socket.pause()
        resolve()
      })
    })
    socket.on('data', (data: Buffer) => {
      received += data.length
    })
    socket.write(`GET /http/big HTTP/1.1\r\nHost: ${g.host}\r\n${auth}Connection: close\r\n\r\n`)
    await headReceived
    // Until the upstream has been held back for half a second: backpressure, not a buffer, stops it.
    while (performance.now() - lastProgress < 500) await new Promise((resolve) => setTimeout(resolve, 100))
    const inFlight = written - received
    t.diagnostic(`paused client: upstream wrote ${written} bytes, client read ${received}`)
    assert.ok(written < total / 2, `the upstream wrote ${written} bytes to a client that read ${received}`)
    assert.ok(inFlight < 24 * 1_048_576, `${inFlight} bytes between upstream and client`)

    // Reading again lets the rest through, complete.
    const closed = new Promise((resolve) => socket.once('close', resolve))
    socket.resume()
    await closed
    assert.equal(written, total)
    assert.ok(received > total, 'the whole body and its head arrived')
  })
})

describe('listener defaults, the admin listener, TLS renegotiation', () => {
  let g: RawGateway
  before(async () => {
    g = await startRawGateway()
  })
  after(() => g?.close())

  test('the headers timeout defaults to 10 s, swept every second', () => {
    const { headersTimeoutMs, requestTimeoutMs, maxRequestTargetBytes } = g.env.gateway.config.runtime
    assert.deepEqual(
      { headersTimeoutMs, maxRequestTargetBytes },
      { headersTimeoutMs: 10_000, maxRequestTargetBytes: 8192 },
    )
    assert.equal(connectionsCheckingIntervalMs(headersTimeoutMs, requestTimeoutMs), 1000)
  })

  test('the admin listener makes the same checks', async () => {
    const admin = g.env.gateway.adminUrl
    const host = `Host: localhost:${new URL(admin).port}\r\n`
    const cases: [string, string, number, string][] = [
      ['two Host headers', `GET /livez HTTP/1.1\r\n${host}${host}\r\n`, 400, 'ERR_BAD_HOST'],
      [
        'a 12 KiB target',
        `GET /livez?q=${'a'.repeat(12_288)} HTTP/1.1\r\n${host}\r\n`,
        414,
        'ERR_URI_TOO_LONG',
      ],
      [
        'one 20 KiB header',
        `GET /livez HTTP/1.1\r\n${host}X-Big: ${'a'.repeat(20_480)}\r\n\r\n`,
        431,
        'ERR_HEADERS_TOO_LARGE',
      ],
      ['HTTP/3.0', `GET /livez HTTP/3.0\r\n${host}\r\n`, 505, 'ERR_HTTP_VERSION_NOT_SUPPORTED'],
    ]
    for (const [what, request, status, code] of cases) {
      assertRefused(await rawExchange(g, request, admin), status, code, what)
    }
  })

  for (const listener of ['runtime', 'admin'] as const) {
    test(`a TLS 1.2 client cannot renegotiate on the ${listener} listener`, async () => {
      const url = listener === 'runtime' ? g.env.gateway.runtimeUrl : g.env.gateway.adminUrl
      const socket = await connectTls(url, g.env.gateway.certificate, { maxVersion: 'TLSv1.2' })
      assert.equal(socket.getProtocol(), 'TLSv1.2')
      const outcome = await new Promise<string>((resolve) => {
        socket.once('error', (error: NodeJS.ErrnoException) => resolve(`error ${error.code}`))
        socket.once('close', () => resolve('closed'))
        socket.renegotiate({ rejectUnauthorized: true }, (error) =>
          resolve(error === null ? 'renegotiated' : `refused ${(error as NodeJS.ErrnoException).code}`),
        )
      })
      assert.equal(outcome, 'error ERR_SSL_NO_RENEGOTIATION')
      await new Promise((resolve) => (socket.destroyed ? resolve(null) : socket.once('close', resolve)))
    })
  }
})

test('Host values', () => {
  for (const host of [
    'localhost',
    'localhost:8443',
    'gw.example.com',
    '127.0.0.1:1',
    '[::1]:65535',
    '[::1]',
    'a_b-c~d',
  ])
    assert.equal(isValidHost(host), true, host)
  for (const host of [
    '',
    ':8443',
    'localhost:',
    'localhost:65536',
    'localhost:99999',
    'localhost:0',
    'localhost:080000',
    'user@localhost',
    'local host',
    'localhost,evil',
    'local%68ost',
    '[::1',
    '[]',
    '[::1]x',
    '[fe80::1%25eth0]',
    'localhost/x',
    'a'.repeat(262),
  ])
    assert.equal(isValidHost(host), false, host)
})

test('the connection sweep follows the shorter timeout, between 100 ms and 1 s', () => {
  assert.equal(connectionsCheckingIntervalMs(10_000, 300_000), 1000)
  assert.equal(connectionsCheckingIntervalMs(1000, 2000), 100)
  assert.equal(connectionsCheckingIntervalMs(5000, 3000), 300)
  assert.equal(connectionsCheckingIntervalMs(1000, 1000), 100)
})

import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import { after, before, describe, test } from 'node:test'
import { connect } from 'node:tls'
import { Agent, type Dispatcher, request } from 'undici'
import { generateSelfSigned, issueCertificate } from '../../src/lib/certificates.ts'
import { FlowgateError } from '../../src/lib/errors.ts'
import { type CpiSimulator, startCpiSimulator } from '../../src/simulator/cpi-simulator.ts'
import { type TestPki, testPki } from '../helpers/pki.ts'
import { startTestSimulator } from '../helpers/simulator.ts'

const mplId = /^A[A-Za-z0-9_-]{27}$/
const emptySha256 = createHash('sha256').update('').digest('hex')
const t0 = Date.parse('2025-07-02T00:17:31.919Z')

interface Answer {
  status: number
  headers: IncomingHttpHeaders
  body: string
}

let pki: TestPki
let agent: Agent

before(async () => {
  pki = await testPki()
  agent = new Agent({ connect: { ca: pki.ca.cert } })
})

after(async () => {
  await agent.close()
})

async function call(
  url: string,
  options: { method?: Dispatcher.HttpMethod; headers?: Record<string, string>; body?: string | Buffer } = {},
  dispatcher: Dispatcher = agent,
): Promise<Answer> {
  const response = await request(url, { method: options.method ?? 'GET', ...options, dispatcher })
  return { status: response.statusCode, headers: response.headers, body: await response.body.text() }
}

function pick(headers: IncomingHttpHeaders, ...names: string[]): Record<string, unknown> {
  return Object.fromEntries(names.map((name) => [name, headers[name]]))
}

function basicHeader(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`
}

/** RFC 6749 Appendix B: application/x-www-form-urlencoded before Basic encoding. */
function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2)
}

function sha256(body: string | Buffer): string {
  return createHash('sha256').update(body).digest('hex')
}

async function fetchToken(simulator: CpiSimulator): Promise<string> {
  const { clientid, clientsecret, tokenurl } = simulator.serviceKey.oauth
  const answer = await call(`${tokenurl}?grant_type=client_credentials`, {
    method: 'POST',
    headers: { authorization: basicHeader(formEncode(clientid), formEncode(clientsecret)) },
  })
  assert.equal(answer.status, 200)
  return (JSON.parse(answer.body) as { access_token: string }).access_token
}

function echo(
  path: string,
  received: { method: string; query?: string; body?: string; contentType?: string | null },
): unknown {
  const body = received.body ?? ''
  return {
    received: {
      method: received.method,
      path,
      query: received.query ?? '',
      bytes: Buffer.byteLength(body),
      sha256: sha256(body),
      contentType: received.contentType ?? null,
    },
    iflow: path.slice('/http'.length) || '/',
  }
}

describe('CPI simulator: service key and token endpoint', () => {
  let clock = t0
  let simulator: CpiSimulator

  before(async () => {
    simulator = await startTestSimulator({ now: () => clock, tokenValiditySeconds: 600 })
  })
  after(() => simulator.close())

  test('prints a service key in the shape SAP prints', () => {
    const { oauth } = simulator.serviceKey
    assert.match(simulator.url, /^https:\/\/127\.0\.0\.1:\d+$/)
    assert.deepEqual(Object.keys(oauth), ['clientid', 'clientsecret', 'url', 'createdate', 'tokenurl'])
    assert.match(oauth.clientid, /^sb-[0-9a-f-]{36}!b1\|it-rt-cpi-simulator!b2$/)
    assert.match(oauth.clientsecret, /^[0-9a-f-]{36}\$[A-Za-z0-9+/=]{44}$/)
    assert.equal(oauth.url, simulator.url)
    assert.equal(oauth.tokenurl, `${simulator.url}/oauth/token`)
    assert.equal(oauth.createdate, '2025-07-02T00:17:31.919Z')
  })

  test('grant_type in the query, form-encoded Basic credentials and an empty body', async () => {
    simulator.clearRecords()
    const { clientid, clientsecret, tokenurl } = simulator.serviceKey.oauth
    const answer = await call(`${tokenurl}?grant_type=client_credentials`, {
      method: 'POST',
      headers: { authorization: basicHeader(formEncode(clientid), formEncode(clientsecret)) },
    })
    assert.equal(answer.status, 200)
    assert.deepEqual(pick(answer.headers, 'content-type', 'cache-control', 'pragma'), {
      'content-type': 'application/json;charset=UTF-8',
      'cache-control': 'no-store',
      pragma: 'no-cache',
    })
    const body = JSON.parse(answer.body) as Record<string, unknown>
    assert.match(String(body.access_token), /^[A-Za-z0-9_-]{43}$/)
    assert.match(String(body.jti), /^[0-9a-f]{32}$/)
    assert.deepEqual(body, {
      access_token: body.access_token,
      token_type: 'bearer',
      expires_in: 600,
      scope: 'it-rt-cpi-simulator!b2.ESBMessaging.send',
      jti: body.jti,
    })
    assert.equal(simulator.tokenRequests, 1)
    assert.deepEqual(simulator.requests, [])
  })

  test('credentials in the form body, and Basic credentials without form encoding', async () => {
    const { clientid, clientsecret, tokenurl } = simulator.serviceKey.oauth
    const inBody = await call(tokenurl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: clientid,
        client_secret: clientsecret,
      }).toString(),
    })
    assert.equal(inBody.status, 200)
    assert.equal((JSON.parse(inBody.body) as { token_type: string }).token_type, 'bearer')

    const raw = await call(tokenurl, {
      method: 'POST',
      headers: {
        authorization: basicHeader(clientid, clientsecret),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials',
    })
    assert.equal(raw.status, 200)
  })

  test('refuses bad client credentials with 401 invalid_client and issues nothing', async () => {
    const { clientid, clientsecret, tokenurl } = simulator.serviceKey.oauth
    const invalidClient = {
      status: 401,
      headers: {
        'www-authenticate': 'Basic realm="cpi-simulator"',
        'content-type': 'application/json',
        'cache-control': 'no-store',
      },
      body: {
        error: 'invalid_client',
        error_description: 'client authentication failed',
        code: 'ERR_OAUTH_INVALID_CLIENT',
      },
    }
    const attempts: Record<string, string>[] = [
      { authorization: basicHeader(clientid, `${clientsecret}x`) },
      { authorization: basicHeader(`${clientid}x`, clientsecret) },
      { authorization: 'Bearer abc' },
      {},
    ]
    for (const headers of attempts) {
      const answer = await call(`${tokenurl}?grant_type=client_credentials`, { method: 'POST', headers })
      assert.deepEqual(
        {
          status: answer.status,
          headers: pick(answer.headers, 'www-authenticate', 'content-type', 'cache-control'),
          body: JSON.parse(answer.body),
        },
        invalidClient,
      )
      assert.doesNotMatch(answer.body, /access_token/)
    }
  })

  test('refuses other grant types, missing grant types and other methods', async () => {
    const { clientid, clientsecret, tokenurl } = simulator.serviceKey.oauth
    const authorization = basicHeader(clientid, clientsecret)
    const password = await call(`${tokenurl}?grant_type=password`, {
      method: 'POST',
      headers: { authorization },
    })
    assert.deepEqual(
      [password.status, JSON.parse(password.body)],
      [
        400,
        {
          error: 'unsupported_grant_type',
          error_description: 'unsupported grant type',
          code: 'ERR_OAUTH_UNSUPPORTED_GRANT_TYPE',
        },
      ],
    )
    const missing = await call(tokenurl, { method: 'POST', headers: { authorization } })
    assert.deepEqual(
      [missing.status, JSON.parse(missing.body)],
      [
        400,
        { error: 'invalid_request', error_description: 'invalid request', code: 'ERR_OAUTH_INVALID_REQUEST' },
      ],
    )
    const get = await call(`${tokenurl}?grant_type=client_credentials`, { headers: { authorization } })
    assert.deepEqual(
      [get.status, get.headers.allow, JSON.parse(get.body)],
      [
        405,
        'POST',
        {
          error: 'method_not_allowed',
          error_description: 'method not allowed',
          code: 'ERR_METHOD_NOT_ALLOWED',
        },
      ],
    )
  })

  test('refuses an oversized token request with 413 and closes the connection', async () => {
    const { clientid, clientsecret, tokenurl } = simulator.serviceKey.oauth
    const answer = await call(tokenurl, {
      method: 'POST',
      headers: {
        authorization: basicHeader(clientid, clientsecret),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: `grant_type=client_credentials&pad=${'x'.repeat(20_000)}`,
    })
    assert.deepEqual(
      [answer.status, answer.headers.connection, JSON.parse(answer.body)],
      [
        413,
        'close',
        {
          error: 'payload_too_large',
          error_description: 'request body too large',
          code: 'ERR_PAYLOAD_TOO_LARGE',
        },
      ],
    )
  })

  test('tokens expire on the simulated clock and revokeAllTokens refuses every issued token', async () => {
    const token = await fetchToken(simulator)
    const bearer = { authorization: `Bearer ${token}` }
    assert.equal((await call(`${simulator.url}/http/orders`, { headers: bearer })).status, 200)
    clock += 599_999
    assert.equal((await call(`${simulator.url}/http/orders`, { headers: bearer })).status, 200)
    clock += 1
    const expired = await call(`${simulator.url}/http/orders`, { headers: bearer })
    assert.equal(expired.status, 401)
    assert.equal(
      expired.headers['www-authenticate'],
      'Bearer realm="cpi-simulator", error="invalid_token", error_description="invalid token", Basic realm="cpi-simulator"',
    )

    const fresh = await fetchToken(simulator)
    assert.equal(
      (await call(`${simulator.url}/http/orders`, { headers: { authorization: `Bearer ${fresh}` } })).status,
      200,
    )
    simulator.revokeAllTokens()
    const revoked = await call(`${simulator.url}/http/orders`, {
      headers: { authorization: `Bearer ${fresh}` },
    })
    assert.equal(revoked.status, 401)
    assert.deepEqual(JSON.parse(revoked.body), {
      error: 'invalid_token',
      error_description: 'invalid token',
      code: 'ERR_TOKEN_INVALID',
    })
  })
})

describe('CPI simulator: iFlow endpoints', () => {
  let clock = t0
  let simulator: CpiSimulator
  let token: string

  before(async () => {
    simulator = await startTestSimulator({ now: () => clock })
    token = await fetchToken(simulator)
  })
  after(() => simulator.close())

  test('echoes what it received with a message processing log id, and records the call', async () => {
    simulator.clearRecords()
    clock = t0 + 5000
    const body = '<order id="4711"/>'
    const answer = await call(`${simulator.url}/http/orders/new?a=1&b=x%20y`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/xml', 'X-Partner': 'ACME' },
      body,
    })
    assert.equal(answer.status, 200)
    assert.deepEqual(pick(answer.headers, 'content-type', 'content-length'), {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(answer.body)),
    })
    const id = answer.headers.sap_messageprocessinglogid
    assert.match(String(id), mplId)
    assert.deepEqual(
      JSON.parse(answer.body),
      echo('/http/orders/new', {
        method: 'POST',
        query: 'a=1&b=x%20y',
        body,
        contentType: 'application/xml',
      }),
    )
    assert.equal(simulator.requests.length, 1)
    const [recorded] = simulator.requests
    assert.ok(recorded)
    assert.deepEqual(recorded, {
      method: 'POST',
      path: '/http/orders/new',
      query: 'a=1&b=x%20y',
      headers: recorded.headers,
      bytes: Buffer.byteLength(body),
      sha256: sha256(body),
      aborted: false,
      time: t0 + 5000,
      messageProcessingLogId: id,
      clientCertificateCommonName: undefined,
      status: 200,
    })
    assert.equal(recorded.headers['x-partner'], 'ACME')
    assert.equal(recorded.headers.authorization, `Bearer ${token}`)
    assert.equal(recorded.headers['content-type'], 'application/xml')
    assert.ok(Object.keys(recorded.headers).every((name) => name === name.toLowerCase()))
  })

  test('keeps the path exactly as sent and answers every method', async () => {
    simulator.clearRecords()
    const authorization = `Bearer ${token}`
    for (const method of ['GET', 'PUT', 'PATCH', 'DELETE'] as const) {
      // agent.request sends the path verbatim; a URL would have its dot-segments resolved first.
      const answer = await agent.request({
        origin: simulator.url,
        path: '/http/a/../B%2fc',
        method,
        headers: { authorization },
      })
      assert.equal(answer.statusCode, 200)
      assert.deepEqual(await answer.body.json(), echo('/http/a/../B%2fc', { method }))
    }
    assert.deepEqual(
      simulator.requests.map((r) => [r.method, r.path, r.sha256]),
      ['GET', 'PUT', 'PATCH', 'DELETE'].map((method) => [method, '/http/a/../B%2fc', emptySha256]),
    )
  })

  test('accepts Basic credentials in the default mode', async () => {
    const answer = await call(`${simulator.url}/http/orders`, {
      headers: { authorization: basicHeader(simulator.basic.username, simulator.basic.password) },
    })
    assert.equal(answer.status, 200)
    assert.deepEqual(JSON.parse(answer.body), echo('/http/orders', { method: 'GET' }))
  })

  test('answers 401 with WWW-Authenticate and a log id when credentials are missing or wrong', async () => {
    simulator.clearRecords()
    const attempts: Record<string, string>[] = [
      {},
      { authorization: basicHeader(simulator.basic.username, `${simulator.basic.password}x`) },
      { authorization: `Basic ${Buffer.from(simulator.basic.password).toString('base64')}` },
      { authorization: 'Digest abc' },
    ]
    for (const headers of attempts) {
      const answer = await call(`${simulator.url}/http/orders`, { method: 'POST', headers, body: 'x' })
      assert.equal(answer.status, 401)
      assert.match(String(answer.headers.sap_messageprocessinglogid), mplId)
      assert.deepEqual(pick(answer.headers, 'www-authenticate', 'content-type'), {
        'www-authenticate': 'Bearer realm="cpi-simulator", Basic realm="cpi-simulator"',
        'content-type': 'application/json',
      })
      assert.deepEqual(JSON.parse(answer.body), {
        error: 'token_missing',
        error_description: 'authentication required',
        code: 'ERR_TOKEN_MISSING',
      })
    }
    assert.deepEqual(
      simulator.requests.map((r) => [r.status, r.bytes, r.aborted]),
      attempts.map(() => [401, 1, false]),
    )
  })

  test('answers 404 outside /oauth/token and /http/', async () => {
    simulator.clearRecords()
    const answer = await call(`${simulator.url}/httpx/orders`, {
      headers: { authorization: `Bearer ${token}` },
    })
    assert.deepEqual(
      [answer.status, JSON.parse(answer.body)],
      [404, { error: 'not_found', error_description: 'not found', code: 'ERR_NOT_FOUND' }],
    )
    assert.equal(answer.headers.sap_messageprocessinglogid, undefined)
    assert.deepEqual(simulator.requests, [])
  })
})

describe('CPI simulator: authentication modes', () => {
  const modes = [
    { auth: 'oauth', bearer: 200, basic: 401, none: 401, challenge: 'Bearer realm="cpi-simulator"' },
    { auth: 'basic', bearer: 401, basic: 200, none: 401, challenge: 'Basic realm="cpi-simulator"' },
    { auth: 'none', bearer: 200, basic: 200, none: 200, challenge: undefined },
  ] as const
  for (const mode of modes) {
    test(`auth '${mode.auth}'`, async (t) => {
      const simulator = await startTestSimulator({ auth: mode.auth })
      t.after(() => simulator.close())
      const token = await fetchToken(simulator)
      const url = `${simulator.url}/http/orders`
      const bearer = await call(url, { headers: { authorization: `Bearer ${token}` } })
      const basic = await call(url, {
        headers: { authorization: basicHeader(simulator.basic.username, simulator.basic.password) },
      })
      const none = await call(url)
      assert.deepEqual([bearer.status, basic.status, none.status], [mode.bearer, mode.basic, mode.none])
      assert.equal(none.headers['www-authenticate'], mode.challenge)
    })
  }
})

describe('CPI simulator: behaviours', () => {
  let simulator: CpiSimulator
  let authorization: string

  before(async () => {
    simulator = await startTestSimulator({ auth: 'basic' })
    authorization = basicHeader(simulator.basic.username, simulator.basic.password)
  })
  after(() => simulator.close())

  test('CSRF protection like the HTTPS sender adapter', async () => {
    simulator.clearBehaviours()
    simulator.clearRecords()
    simulator.setBehaviour('/orders', { csrf: true })
    const url = `${simulator.url}/http/orders`

    const refused = await call(url, { method: 'POST', headers: { authorization }, body: 'a' })
    assert.equal(refused.status, 403)
    assert.deepEqual(pick(refused.headers, 'x-csrf-token', 'content-type'), {
      'x-csrf-token': 'Required',
      'content-type': 'application/json',
    })
    assert.match(String(refused.headers.sap_messageprocessinglogid), mplId)
    assert.deepEqual(JSON.parse(refused.body), {
      error: 'csrf_required',
      error_description: 'CSRF token validation failed',
      code: 'ERR_CSRF_REQUIRED',
    })

    const fetched = await call(url, { method: 'HEAD', headers: { authorization, 'x-csrf-token': 'fetch' } })
    assert.equal(fetched.status, 200)
    assert.equal(fetched.body, '')
    assert.equal(fetched.headers['cache-control'], 'no-store')
    const csrfToken = String(fetched.headers['x-csrf-token'])
    assert.match(csrfToken, /^[A-Za-z0-9_-]{43}$/)

    const fetchedWithGet = await call(url, { headers: { authorization, 'X-CSRF-Token': 'Fetch' } })
    assert.deepEqual([fetchedWithGet.status, fetchedWithGet.body], [200, ''])
    assert.notEqual(fetchedWithGet.headers['x-csrf-token'], csrfToken)

    const wrong = await call(url, {
      method: 'PUT',
      headers: { authorization, 'x-csrf-token': `${csrfToken}x` },
    })
    assert.deepEqual([wrong.status, wrong.headers['x-csrf-token']], [403, 'Required'])

    const accepted = await call(url, {
      method: 'POST',
      headers: { authorization, 'x-csrf-token': csrfToken, 'content-type': 'text/plain' },
      body: 'order',
    })
    assert.equal(accepted.status, 200)
    assert.deepEqual(
      JSON.parse(accepted.body),
      echo('/http/orders', { method: 'POST', body: 'order', contentType: 'text/plain' }),
    )
    const plainGet = await call(url, { headers: { authorization } })
    assert.deepEqual(JSON.parse(plainGet.body), echo('/http/orders', { method: 'GET' }))
    assert.deepEqual(
      simulator.requests.map((r) => [r.method, r.status]),
      [
        ['POST', 403],
        ['HEAD', 200],
        ['GET', 200],
        ['PUT', 403],
        ['POST', 200],
        ['GET', 200],
      ],
    )
  })

  test('a behaviour covers its prefix and sub-paths, case-insensitively, and the longest prefix wins', async () => {
    simulator.clearBehaviours()
    simulator.setBehaviour('/orders/', { status: 503, body: 'down' })
    simulator.setBehaviour('/Orders/Special', { status: 202, body: 'special' })
    const outcome = async (address: string) => {
      const answer = await call(`${simulator.url}/http${address}`, { headers: { authorization } })
      return [answer.status, answer.body]
    }
    assert.deepEqual(await outcome('/orders'), [503, 'down'])
    assert.deepEqual(await outcome('/ORDERS/123'), [503, 'down'])
    assert.deepEqual(await outcome('/orders/special/1'), [202, 'special'])
    assert.deepEqual(await outcome('/orders-v2'), [
      200,
      JSON.stringify(echo('/http/orders-v2', { method: 'GET' })),
    ])
    simulator.clearBehaviours()
    assert.deepEqual(await outcome('/orders'), [200, JSON.stringify(echo('/http/orders', { method: 'GET' }))])
  })

  test('failing: status, body and headers as told, with a log id', async () => {
    simulator.clearBehaviours()
    simulator.setBehaviour('/fail', {
      status: 500,
      body: '{"fault":"mapping"}',
      headers: { 'Content-Type': 'application/json', 'X-Extra': '1' },
    })
    const answer = await call(`${simulator.url}/http/fail`, {
      method: 'POST',
      headers: { authorization },
      body: 'x',
    })
    assert.deepEqual(
      [answer.status, pick(answer.headers, 'content-type', 'content-length', 'x-extra'), answer.body],
      [
        500,
        { 'content-type': 'application/json', 'content-length': '19', 'x-extra': '1' },
        '{"fault":"mapping"}',
      ],
    )
    assert.match(String(answer.headers.sap_messageprocessinglogid), mplId)
  })

  test('slow: waits delayMs before the response headers', async () => {
    simulator.clearBehaviours()
    simulator.setBehaviour('/slow', { delayMs: 300 })
    const started = performance.now()
    const answer = await call(`${simulator.url}/http/slow`, { headers: { authorization } })
    const elapsed = performance.now() - started
    assert.equal(answer.status, 200)
    assert.deepEqual(JSON.parse(answer.body), echo('/http/slow', { method: 'GET' }))
    // Timers may fire a millisecond early; the point is that the answer was held back.
    assert.ok(elapsed >= 295, `answered after ${elapsed} ms`)
  })

  test('redirecting: 302 with Location, never followed by the simulator', async () => {
    simulator.clearBehaviours()
    simulator.setBehaviour('/moved', { redirect: 'https://elsewhere.example/http/orders' })
    simulator.setBehaviour('/moved-permanently', { redirect: '/http/orders', status: 301, body: 'moved' })
    const found = await call(`${simulator.url}/http/moved`, { headers: { authorization } })
    assert.deepEqual(
      [found.status, pick(found.headers, 'location', 'content-length', 'content-type'), found.body],
      [
        302,
        {
          location: 'https://elsewhere.example/http/orders',
          'content-length': '0',
          'content-type': undefined,
        },
        '',
      ],
    )
    const permanent = await call(`${simulator.url}/http/moved-permanently`, { headers: { authorization } })
    assert.deepEqual(
      [permanent.status, permanent.headers.location, permanent.body],
      [301, '/http/orders', 'moved'],
    )
  })

  test('large: streams responseBytes of octets', async () => {
    simulator.clearBehaviours()
    const size = 5 * 1024 * 1024 + 7
    simulator.setBehaviour('/large', { responseBytes: size })
    const response = await request(`${simulator.url}/http/large`, {
      headers: { authorization },
      dispatcher: agent,
    })
    assert.equal(response.statusCode, 200)
    assert.deepEqual(pick(response.headers, 'content-type', 'content-length'), {
      'content-type': 'application/octet-stream',
      'content-length': String(size),
    })
    let bytes = 0
    for await (const chunk of response.body) bytes += (chunk as Buffer).length
    assert.equal(bytes, size)
  })

  test('resetting before the response: the connection dies without an answer', async () => {
    simulator.clearBehaviours()
    simulator.clearRecords()
    simulator.setBehaviour('/reset', { reset: 'before-response' })
    await assert.rejects(
      call(`${simulator.url}/http/reset`, { method: 'POST', headers: { authorization }, body: 'abc' }),
      { code: 'UND_ERR_SOCKET' },
    )
    const [recorded] = simulator.requests
    assert.deepEqual(
      [recorded?.bytes, recorded?.sha256, recorded?.status, recorded?.aborted],
      [3, sha256('abc'), undefined, false],
    )
  })

  test('resetting mid-response: headers arrive, the body is cut short', async () => {
    simulator.clearBehaviours()
    simulator.setBehaviour('/cut', { reset: 'mid-response' })
    simulator.setBehaviour('/cut-large', { reset: 'mid-response', responseBytes: 1024 * 1024 })
    for (const address of ['/cut', '/cut-large']) {
      const response = await request(`${simulator.url}/http${address}`, {
        headers: { authorization },
        dispatcher: agent,
      })
      assert.equal(response.statusCode, 200)
      let received = 0
      await assert.rejects(
        (async () => {
          for await (const chunk of response.body) received += (chunk as Buffer).length
        })(),
        { code: 'UND_ERR_SOCKET' },
      )
      assert.ok(received < Number(response.headers['content-length']), `${address}: ${received} bytes`)
    }
  })

  test('rejects invalid behaviours when they are set', () => {
    const cases: [string, unknown, string][] = [
      ['orders', {}, 'the address prefix must start with /'],
      ['/o', { delayMs: -1 }, 'delayMs must be an integer from 0 to 600000'],
      ['/o', { status: 99 }, 'status must be an integer from 200 to 599'],
      ['/o', { reset: 'sometimes' }, "reset must be 'before-response' or 'mid-response'"],
      ['/o', { redirect: '/x', status: 200 }, 'status must be a 3xx status with redirect'],
      ['/o', { body: 'x', responseBytes: 1 }, 'body and responseBytes exclude each other'],
      ['/o', { headers: { 'content-length': '1' } }, 'header content-length cannot be set'],
      ['/o', { headers: { 'x-a': 'b\r\nc' } }, 'header x-a must be a string without control characters'],
      ['/o', { slow: true }, 'unknown key "slow"'],
    ]
    for (const [prefix, behaviour, reason] of cases) {
      assert.throws(
        () => simulator.setBehaviour(prefix, behaviour as never),
        (error: unknown) =>
          error instanceof FlowgateError &&
          error.code === 'ERR_INVALID_PARAMETERS' &&
          error.message === `invalid simulator behaviour: ${reason}`,
      )
    }
  })
})

describe('CPI simulator: aborted requests', () => {
  let simulator: CpiSimulator
  let authorization: string

  before(async () => {
    simulator = await startTestSimulator({ auth: 'basic' })
    authorization = basicHeader(simulator.basic.username, simulator.basic.password)
  })
  after(() => simulator.close())

  test('records a request whose body the client abandoned', async () => {
    simulator.clearRecords()
    const port = new URL(simulator.url).port
    const socket = connect({
      host: '127.0.0.1',
      port: Number(port),
      ca: pki.ca.cert,
      servername: 'localhost',
    })
    await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject))
    const head = [
      'POST /http/upload?part=1 HTTP/1.1',
      'host: localhost',
      `authorization: ${authorization}`,
      'content-type: application/octet-stream',
      'content-length: 100000',
      '',
      '',
    ].join('\r\n')
    await new Promise<void>((resolve, reject) =>
      socket.write(`${head}0123456789`, (error) => (error ? reject(error) : resolve())),
    )
    socket.destroy()
    const recorded = await simulator.waitForRequest((r) => r.path === '/http/upload')
    assert.deepEqual(
      [recorded.method, recorded.query, recorded.bytes, recorded.sha256, recorded.aborted, recorded.status],
      ['POST', 'part=1', 10, sha256('0123456789'), true, undefined],
    )
  })

  test('marks a call aborted when the client leaves while the answer is delayed', async () => {
    simulator.clearRecords()
    simulator.setBehaviour('/slow', { delayMs: 60_000 })
    const controller = new AbortController()
    const pending = request(`${simulator.url}/http/slow`, {
      method: 'POST',
      body: 'payload',
      headers: { authorization },
      dispatcher: agent,
      signal: controller.signal,
    })
    const arrived = await simulator.waitForRequest((r) => r.path === '/http/slow')
    assert.equal(arrived.aborted, false)
    controller.abort()
    await assert.rejects(pending, { name: 'AbortError' })
    const aborted = await simulator.waitForRequest((r) => r.path === '/http/slow' && r.aborted)
    assert.deepEqual([aborted.bytes, aborted.status], [7, undefined])
  })
})

describe('CPI simulator: mutual TLS', () => {
  let simulator: CpiSimulator

  before(async () => {
    simulator = await startTestSimulator({ auth: 'none', clientCa: pki.ca.cert })
  })
  after(() => simulator.close())

  test('serves a client with a certificate from the configured CA and records its name', async (t) => {
    const client = await pki.client('flowgate-upstream')
    const mtls = new Agent({ connect: { ca: pki.ca.cert, cert: client.cert, key: client.key } })
    t.after(() => mtls.close())
    simulator.clearRecords()
    const answer = await call(`${simulator.url}/http/orders`, {}, mtls)
    assert.equal(answer.status, 200)
    assert.deepEqual(JSON.parse(answer.body), echo('/http/orders', { method: 'GET' }))
    assert.equal(simulator.requests[0]?.clientCertificateCommonName, 'flowgate-upstream')
  })

  test('refuses connections without a client certificate or with one from another CA', async (t) => {
    const otherCa = await generateSelfSigned({ commonName: 'Other CA', usage: 'ca' })
    const stranger = await issueCertificate(otherCa, { commonName: 'stranger', usage: 'client' })
    const strangerAgent = new Agent({ connect: { ca: pki.ca.cert, cert: stranger.cert, key: stranger.key } })
    t.after(() => strangerAgent.close())
    simulator.clearRecords()
    // TLS 1.3 reports the refused certificate after the handshake, so the client sees an alert or a close.
    const refused = (error: unknown) =>
      [
        'UND_ERR_SOCKET',
        'ECONNRESET',
        'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
        'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
      ].includes(String((error as { code?: unknown }).code))
    await assert.rejects(call(`${simulator.url}/http/orders`), refused)
    await assert.rejects(call(`${simulator.url}/http/orders`, {}, strangerAgent), refused)
    assert.deepEqual(simulator.requests, [])
  })
})

describe('CPI simulator: options', () => {
  test('are checked when the simulator starts', async () => {
    const tls = pki.server
    const cases: [Record<string, unknown>, string][] = [
      [{ tls: { cert: '', key: tls.key } }, 'tls.cert and tls.key must be PEM strings'],
      [{ tls, port: 70000 }, 'port must be an integer from 0 to 65535'],
      [{ tls, auth: 'digest' }, 'auth must be one of oauth, basic, either, none'],
      [{ tls, tokenValiditySeconds: 0 }, 'tokenValiditySeconds must be a positive integer'],
      [{ tls, clientCa: '' }, 'clientCa must be a PEM string'],
    ]
    for (const [options, reason] of cases) {
      await assert.rejects(startCpiSimulator(options as never), (error: unknown) => {
        return (
          error instanceof FlowgateError &&
          error.code === 'ERR_CONFIG_INVALID' &&
          error.message === `invalid CPI simulator options: ${reason}`
        )
      })
    }
  })

  test('close rejects pending waiters', async () => {
    const simulator = await startTestSimulator()
    const waiting = simulator.waitForRequest(() => true, 60_000)
    await simulator.close()
    await assert.rejects(waiting, { message: 'the CPI simulator was closed' })
  })
})

import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { actor, assertError, eventually, type Harness, rawRequest, startHarness } from './proxy-harness.ts'
import { principal } from './table-authenticator.ts'

const good = 'tok-good-6f1c2a9e'
const slow = 'tok-slow-0d3b77aa'
const plain = 'tok-plain-9a8b7c6d'
const expired = 'tok-expired-1a2b3c'
const revoked = 'tok-revoked-4d5e6f'
const forged = 'tok-forged-7a8b9c'

describe('flow proxy: routing, path hygiene, authentication', () => {
  let h: Harness
  before(async () => {
    h = await startHarness({
      setup: async ({ flows, store, upstream }) => {
        await store.createRole({ name: 'Partner.special', description: null, builtIn: false, createdAt: 1 })
        await flows.createFlow(
          {
            address: '/Orders',
            upstream: `${upstream.origin}/cpi/orders`,
            methods: ['POST', 'GET'],
            csrf: false,
          },
          actor,
        )
        await flows.createFlow(
          { address: '/files/*', upstream: `${upstream.origin}/cpi/files/`, methods: ['GET'], csrf: false },
          actor,
        )
        await flows.createFlow(
          {
            address: '/secure',
            upstream: `${upstream.origin}/cpi/secure`,
            role: 'Partner.special',
            methods: ['GET'],
            csrf: false,
          },
          actor,
        )
      },
    })
    h.authenticator
      .allow(good, principal('sb-good!b1|it-rt-flowgate!b1', ['ESBMessaging.send']))
      .allow(slow, principal('sb-slow!b2|it-rt-flowgate!b1', ['ESBMessaging.send']))
      .allow(plain, principal('sb-plain!b3|it-rt-flowgate!b1', ['Other.role']))
      .refuse(expired, 'ERR_TOKEN_EXPIRED')
      .refuse(revoked, 'ERR_TOKEN_REVOKED')
    h.authenticator.slow.add(slow)
  })
  after(() => h.close())

  test('a valid call is forwarded to the registered upstream and answered as the upstream answered', async () => {
    const before = h.upstream.requests.length
    const result = await h.call('GET', '/http/ORDERS?id=42&x=a%20b', {
      headers: { authorization: `Bearer ${good}` },
    })
    assert.equal(result.status, 200)
    assert.equal(result.headers.sap_messageprocessinglogid, 'AGVfDkmDx4bqZ0tY1l9lq3zN1Xxq')
    assert.equal(result.headers['content-type'], 'application/json')
    assert.deepEqual(JSON.parse(result.body), {
      method: 'GET',
      url: '/cpi/orders?id=42&x=a%20b',
      bodyBytes: 0,
    })
    assert.equal(h.upstream.requests.length, before + 1)
    const record = await h.record(result.headers['x-correlation-id'])
    assert.deepEqual(
      { ...record, durationMs: 0, upstreamDurationMs: 0, time: 0 },
      {
        time: 0,
        correlationId: result.headers['x-correlation-id'],
        clientId: 'sb-good!b1|it-rt-flowgate!b1',
        instanceId: 'id-partner-a',
        flow: '/orders',
        method: 'GET',
        path: '/http/ORDERS',
        status: 200,
        upstreamStatus: 200,
        bytesIn: 0,
        bytesOut: result.body.length,
        durationMs: 0,
        upstreamDurationMs: 0,
        reason: null,
        sourceAddress: '127.0.0.1',
        mplId: 'AGVfDkmDx4bqZ0tY1l9lq3zN1Xxq',
      },
    )
    assert.ok(record.durationMs >= 0 && (record.upstreamDurationMs as number) >= 0)
  })

  test('an authenticator answering through a promise works the same', async () => {
    const result = await h.call('GET', '/http/orders', { headers: { authorization: `Bearer ${slow}` } })
    assert.equal(result.status, 200)
    assert.equal(JSON.parse(result.body).url, '/cpi/orders')
  })

  test('a wildcard flow appends the remainder to its upstream path, in its original case', async () => {
    for (const [path, upstreamUrl] of [
      ['/http/files/2024/Report.PDF?v=1', '/cpi/files/2024/Report.PDF?v=1'],
      ['/http/Files', '/cpi/files'],
      ['/http/files/', '/cpi/files/'],
    ]) {
      const result = await h.call('GET', path as string, { headers: { authorization: `Bearer ${good}` } })
      assert.equal(result.status, 200, path)
      assert.equal(JSON.parse(result.body).url, upstreamUrl)
    }
  })

  test('paths that hygiene refuses get 400 before routing or authentication, and nothing is forwarded', async () => {
    const before = h.upstream.requests.length
    const seen = h.authenticator.seen.length
    const paths = [
      '/http/orders/../secure',
      '/http/./orders',
      '/http//orders',
      '/http/%2e%2e/secure',
      '/http/%2E%2E/secure',
      '/http/files%2f..%2fsecure',
      '/http/files%2F..%2Fsecure',
      '/http/files/%5c..%5Csecure',
      '/http/files/%252e%252e/secure',
      '/http/files\\..\\secure',
      '/http/orders;jsessionid=abc',
      '/http/orders%00',
      'https://evil.example/http/orders',
      'http://127.0.0.1/http/orders',
    ]
    for (const path of paths) {
      const result = await rawRequest(
        h.url,
        `GET ${path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${good}\r\nConnection: close\r\n\r\n`,
      )
      assert.equal(result.status, 400, path)
      const body = JSON.parse(result.body)
      assert.deepEqual(
        { ...body, correlation_id: 'x' },
        {
          error: 'path_rejected',
          error_description: 'request path rejected',
          code: 'ERR_PATH_REJECTED',
          correlation_id: 'x',
        },
        path,
      )
      assert.match(result.head, new RegExp(`x-correlation-id: ${body.correlation_id}`, 'i'))
      const record = await h.record(body.correlation_id)
      assert.equal(record.reason, 'ERR_PATH_REJECTED')
      assert.equal(record.status, 400)
      assert.equal(record.clientId, null)
    }
    assert.equal(h.upstream.requests.length, before, 'nothing reached the upstream')
    assert.equal(h.authenticator.seen.length, seen, 'no token was even looked at')
  })

  test('Host cannot change where a request goes', async () => {
    const before = h.upstream.requests.length
    const result = await rawRequest(
      h.url,
      `GET /http/orders HTTP/1.1\r\nHost: evil.example\r\nAuthorization: Bearer ${good}\r\nConnection: close\r\n\r\n`,
    )
    assert.equal(result.status, 200)
    assert.equal(h.upstream.requests.length, before + 1)
    const received = h.upstream.requests.at(-1)
    assert.equal(received?.headers.host, new URL(h.upstream.origin).host)
    assert.equal(received?.headers['x-forwarded-host'], 'localhost:8443')
  })

  test('every unknown path gets the same 404, authenticated or not, and nothing is forwarded', async () => {
    const before = h.upstream.requests.length
    const bodies = new Set<string>()
    for (const path of [
      '/http',
      '/http/',
      '/http/nothing',
      '/http/order',
      '/http/orders/sub',
      '/http/secure/x',
      '/http/filesx',
    ]) {
      for (const headers of [{}, { authorization: `Bearer ${good}` }] as Record<string, string>[]) {
        const result = await h.call('GET', path, { headers })
        assertError(result, 404, {
          error: 'flow_not_found',
          error_description: 'no flow at this address',
          code: 'ERR_FLOW_NOT_FOUND',
        })
        assert.equal(result.headers['www-authenticate'], undefined)
        const { correlation_id: _ignored, ...rest } = JSON.parse(result.body)
        bodies.add(JSON.stringify(rest))
      }
    }
    assert.equal(bodies.size, 1)
    assert.equal(h.upstream.requests.length, before)
  })

  test('a method the flow does not allow gets 405 with Allow', async () => {
    const before = h.upstream.requests.length
    const result = await h.call('DELETE', '/http/orders', { headers: { authorization: `Bearer ${good}` } })
    assertError(result, 405, {
      error: 'method_not_allowed',
      error_description: 'method not allowed',
      code: 'ERR_METHOD_NOT_ALLOWED',
    })
    assert.equal(result.headers.allow, 'POST, GET')
    assert.equal(h.upstream.requests.length, before)
    assert.equal((await h.record(result.headers['x-correlation-id'])).reason, 'ERR_METHOD_NOT_ALLOWED')
  })

  test('RFC 6750 answers: no token, bad tokens, two tokens, missing role', async () => {
    const before = h.upstream.requests.length
    const missing = {
      error: 'token_missing',
      error_description: 'authentication required',
      code: 'ERR_TOKEN_MISSING',
    }
    for (const headers of [
      {},
      { authorization: 'Basic dXNlcjpwYXNz' },
      { authorization: 'Bearer' },
      { cookie: `access_token=${good}` },
    ] as Record<string, string>[]) {
      const result = await h.call('GET', '/http/orders', { headers })
      assertError(result, 401, missing)
      assert.equal(result.headers['www-authenticate'], 'Bearer realm="flowgate"')
    }
    // A token in the query string is not a credential.
    const inQuery = await h.call('GET', `/http/orders?access_token=${good}`)
    assertError(inQuery, 401, missing)

    for (const [token, code] of [
      [forged, 'ERR_TOKEN_INVALID'],
      [expired, 'ERR_TOKEN_EXPIRED'],
      [revoked, 'ERR_TOKEN_REVOKED'],
      ['not/a@token', 'ERR_TOKEN_INVALID'],
    ] as const) {
      const result = await h.call('GET', '/http/orders', { headers: { authorization: `Bearer ${token}` } })
      assertError(result, 401, { error: 'invalid_token', error_description: 'invalid token', code })
      assert.equal(
        result.headers['www-authenticate'],
        'Bearer realm="flowgate", error="invalid_token", error_description="invalid token"',
      )
      assert.equal((await h.record(result.headers['x-correlation-id'])).reason, code)
    }

    const multipleBody = {
      error: 'invalid_request',
      error_description: 'more than one token',
      code: 'ERR_TOKEN_MULTIPLE',
    }
    const twoHeaders = await rawRequest(
      h.url,
      `GET /http/orders HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${good}\r\nAuthorization: Bearer ${slow}\r\nConnection: close\r\n\r\n`,
    )
    assert.equal(twoHeaders.status, 400)
    assert.deepEqual(
      { ...JSON.parse(twoHeaders.body), correlation_id: 'x' },
      { ...multipleBody, correlation_id: 'x' },
    )
    assert.match(
      twoHeaders.head,
      /www-authenticate: Bearer realm="flowgate", error="invalid_request", error_description="more than one token"/i,
    )
    const twoInOne = await h.call('GET', '/http/orders', {
      headers: { authorization: `Bearer ${good}, Bearer ${slow}` },
    })
    assertError(twoInOne, 400, multipleBody)

    const noRole = await h.call('GET', '/http/secure', { headers: { authorization: `Bearer ${plain}` } })
    assertError(noRole, 403, {
      error: 'insufficient_scope',
      error_description: 'the token does not carry the role this flow requires',
      code: 'ERR_INSUFFICIENT_SCOPE',
    })
    assert.equal(
      noRole.headers['www-authenticate'],
      'Bearer realm="flowgate", error="insufficient_scope", error_description="the token does not carry the role this flow requires"',
    )
    const record = await h.record(noRole.headers['x-correlation-id'])
    assert.equal(record.clientId, 'sb-plain!b3|it-rt-flowgate!b1')
    assert.equal(record.reason, 'ERR_INSUFFICIENT_SCOPE')

    assert.equal(h.upstream.requests.length, before, 'nothing reached the upstream')
  })

  test('the scheme name is case-insensitive', async () => {
    for (const scheme of ['bearer', 'BEARER', 'BeArEr']) {
      const result = await h.call('GET', '/http/orders', { headers: { authorization: `${scheme} ${good}` } })
      assert.equal(result.status, 200, scheme)
    }
  })

  test('flow changes reach the route table without a restart', async () => {
    const headers = { authorization: `Bearer ${good}` }
    assert.equal((await h.call('GET', '/http/late')).status, 404)
    const flow = await h.flows.createFlow(
      { address: '/late', upstream: `${h.upstream.origin}/cpi/late`, methods: ['GET'], csrf: false },
      actor,
    )
    await eventually(async () => (await h.call('GET', '/http/late', { headers })).status === 200)
    await h.flows.updateFlow(flow.id, { upstream: `${h.upstream.origin}/cpi/later` }, actor)
    await eventually(
      async () => JSON.parse((await h.call('GET', '/http/late', { headers })).body).url === '/cpi/later',
    )
    await h.flows.deleteFlow('/late', actor)
    await eventually(async () => (await h.call('GET', '/http/late', { headers })).status === 404)
  })

  test('once closed, the proxy answers 503 and forwards nothing', async () => {
    const before = h.upstream.requests.length
    await h.proxy.close()
    const result = await h.call('GET', '/http/orders', { headers: { authorization: `Bearer ${good}` } })
    assertError(result, 503, {
      error: 'unavailable',
      error_description: 'service unavailable',
      code: 'ERR_UNAVAILABLE',
    })
    assert.equal(h.upstream.requests.length, before)
  })

  test('no token ever reaches the log', () => {
    const logs = h.logs()
    for (const token of [good, slow, plain, expired, revoked, forged])
      assert.equal(logs.includes(token), false, token)
  })
})

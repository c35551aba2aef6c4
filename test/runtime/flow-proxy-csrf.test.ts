import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { actor, assertError, type Harness, startHarness } from './proxy-harness.ts'
import { principal } from './table-authenticator.ts'

const tokenA = 'tok-a-5b1e'
const tokenB = 'tok-b-8c2f'
const csrfRequired = {
  error: 'csrf_required',
  error_description: 'CSRF token validation failed',
  code: 'ERR_CSRF_REQUIRED',
}

describe('flow proxy: CSRF protocol', () => {
  let h: Harness
  let time = Date.UTC(2026, 5, 1, 12)
  before(async () => {
    h = await startHarness({
      now: () => time,
      overrides: { 'csrf.validitySeconds': 600 },
      setup: async ({ flows, upstream }) => {
        await flows.createFlow({ address: '/orders', upstream: `${upstream.origin}/cpi/orders` }, actor)
        await flows.createFlow(
          {
            address: '/changes',
            upstream: `${upstream.origin}/cpi/changes`,
            methods: ['PUT', 'PATCH', 'DELETE', 'POST', 'GET'],
          },
          actor,
        )
        await flows.createFlow(
          { address: '/open', upstream: `${upstream.origin}/cpi/open`, csrf: false },
          actor,
        )
      },
    })
    h.authenticator
      .allow(tokenA, principal('sb-a!b1|it-rt-flowgate!b1', ['ESBMessaging.send'], 'partner-a'))
      .allow(tokenB, principal('sb-b!b2|it-rt-flowgate!b1', ['ESBMessaging.send'], 'partner-b'))
  })
  after(() => h.close())

  async function fetchToken(
    method: 'GET' | 'HEAD',
    path: string,
    bearer = tokenA,
    value = 'Fetch',
  ): Promise<string> {
    const result = await h.call(method, path, {
      headers: { authorization: `Bearer ${bearer}`, 'x-csrf-token': value },
    })
    assert.equal(result.status, 200)
    return result.headers['x-csrf-token'] as string
  }

  test('HEAD and GET with X-CSRF-Token: Fetch (any case, with or without trailing slash) return a token and run nothing', async () => {
    const before = h.upstream.requests.length
    const result = await h.call('HEAD', '/http/orders/', {
      headers: { authorization: `Bearer ${tokenA}`, 'x-csrf-token': 'Fetch' },
    })
    assert.equal(result.status, 200)
    assert.equal(result.body, '')
    assert.match(result.headers['x-csrf-token'] as string, /^[A-Za-z0-9_-]{54}$/)
    assert.equal(result.headers['cache-control'], 'no-store')
    assert.equal(result.headers['content-length'], '0')
    assert.match(result.headers['x-correlation-id'] as string, /^[0-9a-f-]{36}$/)
    assert.equal(result.headers['strict-transport-security'], 'max-age=31536000')
    for (const [method, path, value] of [
      ['HEAD', '/http/orders', 'fetch'],
      ['GET', '/http/orders/', 'FETCH'],
      ['GET', '/http/ORDERS', 'Fetch'],
    ] as const) {
      assert.match(await fetchToken(method, path, tokenA, value), /^[A-Za-z0-9_-]{54}$/)
    }
    assert.equal(h.upstream.requests.length, before, 'a fetch is never forwarded')
    const record = await h.record(result.headers['x-correlation-id'])
    assert.deepEqual(
      [record.status, record.upstreamStatus, record.reason, record.flow, record.method],
      [200, null, null, '/orders', 'HEAD'],
    )
  })

  test('fetching still needs a valid token', async () => {
    const result = await h.call('HEAD', '/http/orders/', { headers: { 'x-csrf-token': 'Fetch' } })
    assert.equal(result.status, 401)
    assert.equal(result.headers['x-csrf-token'], undefined)
  })

  test('modifying calls without a valid token get 403 X-CSRF-Token: Required and nothing is forwarded', async () => {
    const before = h.upstream.requests.length
    const otherClients = await fetchToken('HEAD', '/http/orders/', tokenB)
    const otherFlows = await fetchToken('HEAD', '/http/changes/', tokenA)
    for (const header of [undefined, 'Fetch', 'Required', '', 'x'.repeat(54), otherClients, otherFlows]) {
      const headers: Record<string, string> = {
        authorization: `Bearer ${tokenA}`,
        'content-type': 'application/xml',
      }
      if (header !== undefined) headers['x-csrf-token'] = header
      const result = await h.call('POST', '/http/orders', { headers, body: '<order/>' })
      assertError(result, 403, csrfRequired)
      assert.equal(result.headers['x-csrf-token'], 'Required')
      assert.equal((await h.record(result.headers['x-correlation-id'])).reason, 'ERR_CSRF_REQUIRED')
    }
    for (const method of ['PUT', 'PATCH', 'DELETE']) {
      const result = await h.call(method, '/http/changes', { headers: { authorization: `Bearer ${tokenA}` } })
      assertError(result, 403, csrfRequired)
    }
    assert.equal(h.upstream.requests.length, before)
  })

  test('a POST with the fetched token and the SDK-style cookies is forwarded, without token, cookies or credentials', async () => {
    const csrf = await fetchToken('HEAD', '/http/orders/')
    const result = await h.call('POST', '/http/orders', {
      headers: {
        authorization: `Bearer ${tokenA}`,
        'x-csrf-token': csrf,
        cookie: 'JSESSIONID=abc;__VCAP_ID__=def',
        'content-type': 'application/xml',
      },
      body: '<order id="1"/>',
    })
    assert.equal(result.status, 200)
    assert.equal(result.headers.sap_messageprocessinglogid, 'AGVfDkmDx4bqZ0tY1l9lq3zN1Xxq')
    const received = h.upstream.requests.at(-1)
    assert.equal(received?.body.toString(), '<order id="1"/>')
    assert.equal(received?.headers.cookie, undefined)
    assert.equal(received?.headers['x-csrf-token'], undefined)
    assert.equal(received?.headers.authorization, undefined)
    // The same token serves further calls of the same client on the same flow.
    const again = await h.call('POST', '/http/orders', {
      headers: { authorization: `Bearer ${tokenA}`, 'x-csrf-token': csrf, cookie: 'a=1;b=2' },
      body: '<order id="2"/>',
    })
    assert.equal(again.status, 200)
    for (const method of ['PUT', 'PATCH', 'DELETE']) {
      const changes = await fetchToken('GET', '/http/changes')
      const ok = await h.call(method, '/http/changes', {
        headers: { authorization: `Bearer ${tokenA}`, 'x-csrf-token': changes },
      })
      assert.equal(ok.status, 200, method)
    }
  })

  test('a token expires after csrf.validitySeconds', async () => {
    const csrf = await fetchToken('HEAD', '/http/orders/')
    const headers = { authorization: `Bearer ${tokenA}`, 'x-csrf-token': csrf }
    time += 599_000
    assert.equal((await h.call('POST', '/http/orders', { headers, body: 'x' })).status, 200)
    time += 1000
    assertError(await h.call('POST', '/http/orders', { headers, body: 'x' }), 403, csrfRequired)
  })

  test('flows with csrf off skip the protocol entirely', async () => {
    const before = h.upstream.requests.length
    const post = await h.call('POST', '/http/open', {
      headers: { authorization: `Bearer ${tokenA}` },
      body: 'x',
    })
    assert.equal(post.status, 200)
    assert.equal(h.upstream.requests.length, before + 1)
    const fetch = await h.call('HEAD', '/http/open', {
      headers: { authorization: `Bearer ${tokenA}`, 'x-csrf-token': 'Fetch' },
    })
    assert.equal(fetch.status, 405)
    assert.equal(fetch.headers.allow, 'POST')
    assert.equal(fetch.headers['x-csrf-token'], undefined)
    assert.equal(h.upstream.requests.length, before + 1)
  })
})

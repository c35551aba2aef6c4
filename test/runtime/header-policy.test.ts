import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { after, before, describe, test } from 'node:test'
import { request } from 'undici'
import { deniedRequestHeaders } from '../../src/flows/request-header-names.ts'
import { hasQueryToken } from '../../src/runtime/query-token.ts'
import { type RawGateway, startRawGateway } from '../server/raw-gateway.ts'

/** Headers a client sends to make the iFlow believe something Flowgate did not check. */
const attack: Record<string, string> = {
  'X-HTTP-Method-Override': 'DELETE',
  'X-HTTP-Method': 'DELETE',
  'X-Method-Override': 'DELETE',
  'X-Real-IP': '10.0.0.1',
  'X-Client-Id': 'sb-admin',
  'X-User': 'admin',
  'X-Forwarded-User': 'admin',
  'X-Original-URL': '/admin/delete-all',
  'X-Rewrite-URL': '/admin/delete-all',
  'X-Forwarded-Port': '8080',
  'X-Forwarded-Prefix': '/admin',
  X_Forwarded_For: '10.0.0.1',
  X_Real_IP: '10.0.0.1',
  X_Flowgate_Client_Id: 'sb-admin',
  X_HTTP_Method_Override: 'DELETE',
  Content_Length: '0',
  'X-SSL-Client-Cert': '-----BEGIN%20CERTIFICATE-----%0AMIIB...',
  'X-Client-Cert': 'MIIB...',
  'Client-Cert': ':MIIB:',
  'Client-Cert-Chain': ':MIIB:',
  'SSL-Client-Cert': 'MIIB...',
  'X-Forwarded-Client-Cert': 'Hash=abc;Subject="CN=admin"',
}

/** What a partner legitimately sends, CPI's underscore headers included. */
const legitimate: Record<string, string> = {
  SAP_ApplicationID: 'order-4711',
  SAP_Sender: 'partner',
  'X-Custom': 'kept',
  'Content-Type': 'application/xml',
}

/** What Flowgate sets on every forwarded call, whatever the flow's policy (ids masked as `x`). */
function flowgateHeaders(g: RawGateway, headers: Record<string, unknown>) {
  return {
    traceparent: 'x',
    'x-forwarded-for': '127.0.0.1',
    'x-forwarded-proto': 'https',
    'x-forwarded-host': new URL(g.env.gateway.config.publicUrl).host,
    'x-correlation-id': 'x',
    'x-flowgate-client-id': headers['x-flowgate-client-id'],
    'x-flowgate-instance': 'partner',
    'x-flowgate-roles': 'ESBMessaging.send',
  }
}

describe('headers that must not reach the iFlow', () => {
  let g: RawGateway
  before(async () => {
    g = await startRawGateway()
  })
  after(() => g?.close())

  for (const method of ['GET', 'POST'] as const) {
    test(`${method}: method-override, identity, routing and client-certificate headers are stripped`, async () => {
      const index = g.upstream.requests.length
      const response = await request(`${g.runtimeUrl}/http/orders`, {
        method,
        dispatcher: g.env.dispatcher,
        headers: { authorization: `Bearer ${g.token}`, ...attack, ...legitimate },
        body: method === 'POST' ? '<order/>' : null,
      })
      await response.body.dump()
      assert.equal(response.statusCode, 200)
      const received = g.upstream.requests[index]
      assert.ok(received !== undefined, 'the call was forwarded')
      assert.equal(received.method, method)
      const { host, connection, ...headers } = received.headers
      assert.equal(host, new URL(g.upstream.origin).host)
      assert.equal(connection, 'keep-alive')
      assert.deepEqual(
        { ...headers, traceparent: 'x', 'x-correlation-id': 'x' },
        {
          sap_applicationid: 'order-4711',
          sap_sender: 'partner',
          'x-custom': 'kept',
          'content-type': 'application/xml',
          ...(method === 'POST' ? { 'content-length': '8' } : {}),
          ...flowgateHeaders(g, headers),
        },
      )
      assert.notEqual(headers['x-flowgate-client-id'], 'sb-admin')
    })
  }

  test('an access_token in the query is refused and never forwarded', async () => {
    const before = g.upstream.requests.length
    const call = async (query: string, withHeader: boolean) => {
      const response = await request(`${g.runtimeUrl}/http/orders${query}`, {
        dispatcher: g.env.dispatcher,
        headers: withHeader ? { authorization: `Bearer ${g.token}` } : {},
      })
      return {
        status: response.statusCode,
        headers: response.headers,
        body: (await response.body.json()) as Record<string, unknown>,
      }
    }
    const both = {
      error: 'invalid_request',
      error_description: 'access token in both the query string and the Authorization header',
      code: 'ERR_TOKEN_IN_QUERY_AND_HEADER',
    }
    for (const query of [
      `?access_token=${g.token}`,
      `?a=1&access_token=${g.token}`,
      `?ACCESS_TOKEN=${g.token}`,
      `?access%5Ftoken=${g.token}`,
      `?a=1;access_token=${g.token}`,
      '?access_token',
    ]) {
      const answer = await call(query, true)
      assert.equal(answer.status, 400, query)
      assert.deepEqual(answer.body, { ...both, correlation_id: answer.headers['x-correlation-id'] }, query)
      assert.equal(
        answer.headers['www-authenticate'],
        `Bearer realm="flowgate", error="invalid_request", error_description="${both.error_description}"`,
      )
      assert.equal(answer.headers['cache-control'], 'no-store')
    }
    // Alone, a query token is no token.
    const alone = await call(`?access_token=${g.token}`, false)
    assert.equal(alone.status, 401)
    assert.deepEqual(alone.body, {
      error: 'token_missing',
      error_description: 'authentication required',
      code: 'ERR_TOKEN_MISSING',
      correlation_id: alone.headers['x-correlation-id'],
    })
    assert.equal(alone.headers['www-authenticate'], 'Bearer realm="flowgate"')
    assert.equal(g.upstream.requests.length, before, 'nothing reached the upstream')

    // Names that only resemble it pass, query untouched.
    for (const query of ['?access_tokens=1', '?x=access_token', '?my_access_token=1&b=2']) {
      const answer = await request(`${g.runtimeUrl}/http/orders${query}`, {
        dispatcher: g.env.dispatcher,
        headers: { authorization: `Bearer ${g.token}` },
      })
      await answer.body.dump()
      assert.equal(answer.statusCode, 200, query)
    }
    assert.deepEqual(
      g.upstream.requests.slice(before).map((r) => r.url),
      ['/cpi/orders?access_tokens=1', '/cpi/orders?x=access_token', '/cpi/orders?my_access_token=1&b=2'],
    )
    assert.ok(g.upstream.requests.every((r) => !r.url.includes(g.token)))
  })
})

describe('a flow with a request-header allow-list', () => {
  let g: RawGateway
  const admin = { actor: 'test', sourceAddress: null }
  before(async () => {
    g = await startRawGateway()
    await g.env.gateway.flows.createFlow(
      {
        address: '/allowed',
        upstream: `${g.upstream.origin}/cpi/allowed`,
        methods: ['GET', 'POST'],
        csrf: false,
        requestHeaders: { mode: 'allow-list', allow: ['SAP_ApplicationID', 'content-type', 'X-Custom'] },
      },
      admin,
    )
  })
  after(() => g?.close())

  const send = async (method: 'GET' | 'POST') => {
    const index = g.upstream.requests.length
    const response = await request(`${g.runtimeUrl}/http/allowed`, {
      method,
      dispatcher: g.env.dispatcher,
      headers: { authorization: `Bearer ${g.token}`, ...attack, ...legitimate, 'X-Other': 'not named' },
      body: method === 'POST' ? '<order/>' : null,
    })
    await response.body.dump()
    assert.equal(response.statusCode, 200)
    const received = g.upstream.requests[index]
    assert.ok(received !== undefined, 'the call was forwarded')
    const { host, connection, ...headers } = received.headers
    assert.equal(host, new URL(g.upstream.origin).host)
    assert.equal(connection, 'keep-alive')
    return headers
  }

  for (const method of ['GET', 'POST'] as const) {
    test(`${method}: exactly the named headers reach the iFlow, plus what Flowgate sets`, async () => {
      const headers = await send(method)
      assert.deepEqual(
        { ...headers, traceparent: 'x', 'x-correlation-id': 'x' },
        {
          sap_applicationid: 'order-4711',
          'x-custom': 'kept',
          'content-type': 'application/xml',
          ...(method === 'POST' ? { 'content-length': '8' } : {}),
          ...flowgateHeaders(g, headers),
        },
      )
      assert.notEqual(headers['x-flowgate-client-id'], 'sb-admin')
    })
  }

  test('back on the deny-list, every header the default filter keeps passes again', async () => {
    await g.env.gateway.flows.updateFlow('/allowed', { requestHeaders: { mode: 'deny-list' } }, admin)
    const headers = await send('POST')
    assert.deepEqual(
      { ...headers, traceparent: 'x', 'x-correlation-id': 'x' },
      {
        sap_applicationid: 'order-4711',
        sap_sender: 'partner',
        'x-custom': 'kept',
        'x-other': 'not named',
        'content-type': 'application/xml',
        'content-length': '8',
        ...flowgateHeaders(g, headers),
      },
    )
  })
})

test('hasQueryToken', () => {
  for (const query of [
    '?access_token=x',
    '?a&access_token',
    '?Access_Token=',
    '?%61ccess_token=1',
    '?b;access_token=1',
  ])
    assert.equal(hasQueryToken(query), true, query)
  for (const query of [
    '',
    '?',
    '?access_tokens=1',
    '?x=access_token',
    '?access-token=1',
    '?access_toke=1',
    '?%zz=1',
  ])
    assert.equal(hasQueryToken(query), false, query)
})

test('docs/runtime.md names every header of the default deny-list', () => {
  const doc = readFileSync(new URL('../../docs/runtime.md', import.meta.url), 'utf8').toLowerCase()
  for (const name of deniedRequestHeaders) assert.ok(doc.includes(`\`${name}\``), name)
})

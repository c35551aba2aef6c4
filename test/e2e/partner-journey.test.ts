import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { after, before, test } from 'node:test'
import { request } from 'undici'
import type { SapServiceKey } from '../../src/identity/identity-service.ts'
import type { CpiSimulator } from '../../src/simulator/cpi-simulator.ts'
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { startTestSimulator } from '../helpers/simulator.ts'

/**
 * What a partner does (service key → token → CSRF fetch with HEAD on the trailing-slash URL → POST
 * with the token and the SDK's cookies → CPI's answer) and what an administrator does (delete the key
 * → the very same token is refused on the next call), on a real gateway and a real CPI simulator.
 */

const admin = { actor: 'admin-test', sourceAddress: '127.0.0.1' }
let env: TestGateway
let cpi: CpiSimulator
let serviceKey: SapServiceKey

before(async () => {
  cpi = await startTestSimulator({ auth: 'oauth' })
  env = await startTestGateway()
  const { flows, identity } = env.gateway
  await flows.createConnection(
    { name: 'cpi-tenant', type: 'oauth2-client-credentials', serviceKey: JSON.stringify(cpi.serviceKey) },
    admin,
  )
  await flows.createFlow(
    { address: '/purchase-orders', upstream: `${cpi.url}/http/purchase-orders`, connection: 'cpi-tenant' },
    admin,
  )
  await identity.createInstance('acme-supplier', 'integration-flow', { roles: ['ESBMessaging.send'] }, admin)
  serviceKey = await identity.createServiceKey('acme-supplier', 'acme-key', {}, admin)
})

after(async () => {
  await env?.close()
  await cpi?.close()
})

function runtime(path: string): string {
  return `${env.gateway.runtimeUrl}${path}`
}

test('a partner sends a purchase order, and loses access the moment its key is deleted', async () => {
  const { clientid, clientsecret } = serviceKey.oauth
  assert.match(clientid, /^sb-[0-9a-f-]{36}!b\d+\|it-rt-flowgate!b1$/)

  // 1. Token: grant type in the query string, Basic credentials, empty body (as SAP users do).
  const tokenResponse = await request(runtime('/oauth/token?grant_type=client_credentials'), {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${clientid}:${clientsecret}`).toString('base64')}` },
    dispatcher: env.dispatcher,
  })
  const tokenBody = (await tokenResponse.body.json()) as Record<string, unknown>
  assert.equal(tokenResponse.statusCode, 200)
  assert.equal(tokenResponse.headers['cache-control'], 'no-store')
  assert.deepEqual(Object.keys(tokenBody).sort(), [
    'access_token',
    'expires_in',
    'jti',
    'scope',
    'token_type',
  ])
  assert.equal(tokenBody.token_type, 'bearer')
  assert.equal(tokenBody.expires_in, 3599)
  assert.equal(tokenBody.scope, 'it-rt-flowgate!b1.ESBMessaging.send')
  const token = tokenBody.access_token as string

  // 2. CSRF fetch: HEAD on the flow URL with a trailing slash, answered by Flowgate, not forwarded.
  const fetch = await request(runtime('/http/purchase-orders/'), {
    method: 'HEAD',
    headers: { authorization: `Bearer ${token}`, 'x-csrf-token': 'Fetch' },
    dispatcher: env.dispatcher,
  })
  await fetch.body.dump()
  assert.equal(fetch.statusCode, 200)
  assert.equal(fetch.headers['cache-control'], 'no-store')
  const csrf = fetch.headers['x-csrf-token']
  assert.equal(typeof csrf, 'string')
  assert.notEqual(csrf, 'Fetch')
  assert.equal(cpi.requests.length, 0, 'a CSRF fetch never reaches CPI')

  // 3. The order, with the token, the CSRF token and the cookies the SAP Cloud SDK sends back.
  const order = JSON.stringify({ orderId: '4711', items: [{ sku: 'A-100', quantity: 3 }] })
  const post = await request(runtime('/http/purchase-orders?release=now'), {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'x-csrf-token': csrf as string,
      cookie: 'a=1;b=2',
      'content-type': 'application/json',
    },
    body: order,
    dispatcher: env.dispatcher,
  })
  const postBody = (await post.body.json()) as { received: Record<string, unknown>; iflow: string }
  assert.equal(post.statusCode, 200)
  assert.equal(post.headers['strict-transport-security'], 'max-age=31536000')
  assert.match(post.headers.sap_messageprocessinglogid as string, /^A[A-Za-z0-9_-]{27}$/)
  assert.match(post.headers['x-correlation-id'] as string, /^[0-9a-f-]{36}$/)
  assert.deepEqual(postBody, {
    received: {
      method: 'POST',
      path: '/http/purchase-orders',
      query: 'release=now',
      bytes: Buffer.byteLength(order),
      sha256: createHash('sha256').update(order).digest('hex'),
      contentType: 'application/json',
    },
    iflow: '/purchase-orders',
  })

  // What reached CPI: Flowgate's own upstream token, none of the partner's credentials or cookies.
  assert.equal(cpi.requests.length, 1)
  assert.equal(cpi.requests[0]!.sha256, createHash('sha256').update(order).digest('hex'))
  const forwarded = cpi.requests[0]!.headers
  assert.notEqual(forwarded.authorization, `Bearer ${token}`)
  assert.match(forwarded.authorization as string, /^Bearer /)
  assert.equal(forwarded.cookie, undefined)
  assert.equal(forwarded['x-csrf-token'], undefined)
  assert.equal(forwarded['x-flowgate-client-id'], clientid)
  assert.equal(forwarded['x-correlation-id'], post.headers['x-correlation-id'])

  // 4. The administrator deletes the key: the very same token fails on the next call.
  await env.gateway.identity.deleteServiceKey('acme-supplier', 'acme-key', admin)
  const refused = await request(runtime('/http/purchase-orders'), {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'x-csrf-token': csrf as string,
      'content-type': 'application/json',
    },
    body: order,
    dispatcher: env.dispatcher,
  })
  const refusedBody = (await refused.body.json()) as Record<string, unknown>
  assert.equal(refused.statusCode, 401)
  assert.match(
    refused.headers['www-authenticate'] as string,
    /^Bearer realm="flowgate", error="invalid_token"/,
  )
  assert.deepEqual(refusedBody, {
    error: 'invalid_token',
    error_description: 'invalid token',
    code: 'ERR_TOKEN_REVOKED',
    correlation_id: refused.headers['x-correlation-id'],
  })
  assert.equal(cpi.requests.length, 1, 'nothing reached CPI after the key was deleted')

  // 5. Every call left an access record, the refused one with its reason; none holds the token.
  await env.gateway.accessLog.flush()
  const records = await env.gateway.store.queryAccessRecords({ flow: '/purchase-orders' })
  const calls = [...records.items].reverse().map((r) => [r.method, r.path, r.status, r.reason, r.clientId])
  assert.deepEqual(calls, [
    ['HEAD', '/http/purchase-orders/', 200, null, clientid],
    ['POST', '/http/purchase-orders', 200, null, clientid],
    // A refused token establishes no identity: the record names no client.
    ['POST', '/http/purchase-orders', 401, 'ERR_TOKEN_REVOKED', null],
  ])
  const everything = JSON.stringify(records) + env.logs.join('')
  assert.ok(!everything.includes(token), 'the token appears in no record and no log line')
  assert.ok(!everything.includes(clientsecret), 'the secret appears in no record and no log line')

  // 6. The audit trail holds the administrator's changes, chained.
  const audit = await env.gateway.store.listAuditEvents({ actor: 'admin-test' })
  assert.deepEqual(
    audit.items.map((event) => event.action),
    ['connection.create', 'flow.create', 'instance.create', 'key.create', 'key.delete'],
  )
})

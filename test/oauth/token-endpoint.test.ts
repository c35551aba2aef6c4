import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { decodeJwt, decodeProtectedHeader } from 'jose'
import type { SapServiceKey } from '../../src/identity/identity-service.ts'
import { type OpenedBackend, storeBackends } from '../helpers/databases.ts'
import {
  type OAuthHarness,
  startOAuthHarness,
  type TestResponse,
  testClock,
  testPublicUrl,
} from '../helpers/oauth-harness.ts'

const actor = { actor: 'cli', sourceAddress: null }
const xsappname = 'it-rt-flowgate!b1'
const form = { 'content-type': 'application/x-www-form-urlencoded' }

function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`
}

function errorBody(response: TestResponse, error: string, description: string, code: string): void {
  assert.deepEqual(response.json(), {
    error,
    error_description: description,
    code,
    correlation_id: response.headers['x-correlation-id'],
  })
}

describe('POST /oauth/token', () => {
  let backend: OpenedBackend
  let harness: OAuthHarness
  let key: SapServiceKey
  let instanceId: string
  let address = 0
  // Each test speaks from its own address so brute-force counting never leaks between tests.
  const from = () => `198.51.100.${++address}`

  before(async () => {
    backend = await (storeBackends()[0] as ReturnType<typeof storeBackends>[number]).open()
    harness = await startOAuthHarness(backend.store, { clock: testClock() })
    await harness.identity.service.createRole('Orders.read', null, actor)
    instanceId = (
      await harness.identity.service.createInstance(
        'partner-a',
        'integration-flow',
        { roles: ['ESBMessaging.send', 'Orders.read'], 'token-validity': 1800 },
        actor,
      )
    ).id
    key = await harness.identity.service.createServiceKey('partner-a', 'k1', {}, actor)
  })
  after(async () => {
    await harness.close()
    await backend.drop()
  })

  function assertToken(response: TestResponse, scopes: string[]): string {
    assert.equal(response.status, 200)
    assert.equal(response.headers['cache-control'], 'no-store')
    assert.equal(response.headers.pragma, 'no-cache')
    assert.equal(response.headers['content-type'], 'application/json')
    const body = response.json() as Record<string, unknown>
    const token = body.access_token as string
    const claims = decodeJwt(token)
    assert.deepEqual(body, {
      access_token: token,
      token_type: 'bearer',
      expires_in: 1799,
      scope: scopes.join(' '),
      jti: claims.jti,
    })
    const iat = Math.floor(harness.clock.now() / 1000)
    assert.deepEqual(decodeProtectedHeader(token), {
      alg: 'ES256',
      kid: harness.identity.keyRing.signer().kid,
      typ: 'at+jwt',
      jku: `${testPublicUrl}/token_keys`,
    })
    assert.deepEqual(claims, {
      client_id: key.oauth.clientid,
      cid: key.oauth.clientid,
      azp: key.oauth.clientid,
      scope: scopes,
      grant_type: 'client_credentials',
      zid: 'test-zone',
      ext_attr: { serviceinstanceid: instanceId, serviceinstancename: 'partner-a' },
      iss: testPublicUrl,
      sub: key.oauth.clientid,
      aud: [xsappname, key.oauth.clientid],
      iat,
      exp: iat + 1800,
      jti: claims.jti,
    })
    assert.match(claims.jti as string, /^[0-9a-f-]{36}$/)
    return token
  }

  const allScopes = [`${xsappname}.ESBMessaging.send`, `${xsappname}.Orders.read`]

  test('grant type in the query, HTTP Basic (raw client id), empty body', async () => {
    const response = await harness.request('/oauth/token?grant_type=client_credentials', {
      method: 'POST',
      headers: { authorization: basic(key.oauth.clientid, key.oauth.clientsecret) },
      clientAddress: from(),
    })
    const token = assertToken(response, allScopes)
    assert.deepEqual(
      (await harness.identity.authenticator.authenticate(token)).roles,
      new Set(['ESBMessaging.send', 'Orders.read']),
    )
  })

  test('everything in the form body (client_secret_post)', async () => {
    const body = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: key.oauth.clientid,
      client_secret: key.oauth.clientsecret,
    }).toString()
    assert.ok(body.includes('%21') && body.includes('%7C'), 'the client id is form-encoded in the body')
    assertToken(
      await harness.request('/oauth/token', { method: 'POST', headers: form, body, clientAddress: from() }),
      allScopes,
    )
  })

  test('HTTP Basic with RFC 6749 Appendix B encoding, grant type in the body', async () => {
    const response = await harness.request('/oauth/token', {
      method: 'POST',
      headers: {
        ...form,
        authorization: basic(
          encodeURIComponent(key.oauth.clientid),
          encodeURIComponent(key.oauth.clientsecret),
        ),
      },
      body: 'grant_type=client_credentials',
      clientAddress: from(),
    })
    assertToken(response, allScopes)
  })

  test('Basic plus the same client_id in the body; content type with charset', async () => {
    const response = await harness.request('/oauth/token', {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded; charset=UTF-8',
        authorization: basic(key.oauth.clientid, key.oauth.clientsecret),
      },
      body: `grant_type=client_credentials&client_id=${encodeURIComponent(key.oauth.clientid)}`,
      clientAddress: from(),
    })
    assertToken(response, allScopes)
  })

  test('scope narrows the token to a subset of the instance roles', async () => {
    const response = await harness.request('/oauth/token', {
      method: 'POST',
      headers: { ...form, authorization: basic(key.oauth.clientid, key.oauth.clientsecret) },
      body: `grant_type=client_credentials&scope=${encodeURIComponent(`${xsappname}.Orders.read`)}`,
      clientAddress: from(),
    })
    assertToken(response, [`${xsappname}.Orders.read`])
  })

  test('scope= without a value counts as omitted (RFC 6749 §3.1): every role of the instance', async () => {
    for (const body of ['grant_type=client_credentials&scope=', 'grant_type=client_credentials&scope']) {
      const response = await harness.request('/oauth/token', {
        method: 'POST',
        headers: { ...form, authorization: basic(key.oauth.clientid, key.oauth.clientsecret) },
        body,
        clientAddress: from(),
      })
      assertToken(response, allScopes)
    }
    const spaces = await harness.request('/oauth/token', {
      method: 'POST',
      headers: { ...form, authorization: basic(key.oauth.clientid, key.oauth.clientsecret) },
      body: 'grant_type=client_credentials&scope=+',
      clientAddress: from(),
    })
    assert.equal(spaces.status, 400)
    errorBody(spaces, 'invalid_scope', 'invalid scope', 'ERR_OAUTH_INVALID_SCOPE')
  })

  test('during rotation the previous secret still works, until its time', async () => {
    await harness.identity.service.createServiceKey('partner-a', 'rotating', {}, actor)
    const first = await harness.identity.service.rotateServiceKey(
      'partner-a',
      'rotating',
      { previousValidForSeconds: 0 },
      actor,
    )
    const second = await harness.identity.service.rotateServiceKey(
      'partner-a',
      'rotating',
      { previousValidForSeconds: 60 },
      actor,
    )
    const ask = (secret: string) =>
      harness.request('/oauth/token?grant_type=client_credentials', {
        method: 'POST',
        headers: { authorization: basic(second.oauth.clientid, secret) },
        clientAddress: from(),
      })
    assert.equal((await ask(second.oauth.clientsecret)).status, 200)
    assert.equal((await ask(first.oauth.clientsecret)).status, 200)
    harness.clock.advance(60_000)
    assert.equal((await ask(first.oauth.clientsecret)).status, 401)
    assert.equal((await ask(second.oauth.clientsecret)).status, 200)
  })

  interface Refusal {
    readonly name: string
    readonly path?: string
    readonly method?: string
    readonly headers?: () => Record<string, string>
    readonly body?: () => string
    readonly status: number
    readonly error: string
    readonly description: string
    readonly code: string
    readonly extraHeaders?: Record<string, string>
  }

  const good = () => basic(key.oauth.clientid, key.oauth.clientsecret)
  const bad = () => basic(key.oauth.clientid, 'wrong-secret-wrong-secret-wrong-secret-0000')
  const challenge = { 'www-authenticate': 'Basic realm="flowgate", charset="UTF-8"' }
  const refusals: Refusal[] = [
    {
      name: 'GET',
      method: 'GET',
      status: 405,
      error: 'method_not_allowed',
      description: 'method not allowed',
      code: 'ERR_METHOD_NOT_ALLOWED',
      extraHeaders: { allow: 'POST' },
    },
    {
      name: 'missing grant_type',
      path: '/oauth/token',
      headers: () => ({ authorization: good() }),
      status: 400,
      error: 'invalid_request',
      description: 'grant_type is missing',
      code: 'ERR_OAUTH_INVALID_REQUEST',
    },
    {
      name: 'unsupported grant type',
      path: '/oauth/token?grant_type=password',
      headers: () => ({ authorization: good() }),
      status: 400,
      error: 'unsupported_grant_type',
      description: 'unsupported grant type',
      code: 'ERR_OAUTH_UNSUPPORTED_GRANT_TYPE',
    },
    {
      name: 'grant_type in both query and body',
      headers: () => ({ ...form, authorization: good() }),
      body: () => 'grant_type=client_credentials',
      status: 400,
      error: 'invalid_request',
      description: 'a parameter is given more than once',
      code: 'ERR_OAUTH_INVALID_REQUEST',
    },
    {
      name: 'duplicated body parameter',
      path: '/oauth/token',
      headers: () => ({ ...form, authorization: good() }),
      body: () => 'grant_type=client_credentials&grant_type=client_credentials',
      status: 400,
      error: 'invalid_request',
      description: 'a parameter is given more than once',
      code: 'ERR_OAUTH_INVALID_REQUEST',
    },
    {
      name: 'two authentication methods',
      headers: () => ({ ...form, authorization: good() }),
      body: () => `client_secret=${key.oauth.clientsecret}`,
      status: 400,
      error: 'invalid_request',
      description: 'use one client authentication method: HTTP Basic or client_secret in the body',
      code: 'ERR_OAUTH_INVALID_REQUEST',
    },
    {
      name: 'body client_id different from Basic',
      headers: () => ({ ...form, authorization: good() }),
      body: () => 'client_id=someone-else',
      status: 400,
      error: 'invalid_request',
      description: 'client_id in the body differs from the HTTP Basic client id',
      code: 'ERR_OAUTH_INVALID_REQUEST',
    },
    {
      name: 'client_secret in the URL',
      path: `/oauth/token?grant_type=client_credentials&client_secret=x`,
      status: 400,
      error: 'invalid_request',
      description: 'client_secret must be sent in the request body, not in the URL',
      code: 'ERR_OAUTH_INVALID_REQUEST',
    },
    {
      name: 'wrong secret (Basic)',
      headers: () => ({ authorization: bad() }),
      status: 401,
      error: 'invalid_client',
      description: 'client authentication failed',
      code: 'ERR_OAUTH_INVALID_CLIENT',
      extraHeaders: challenge,
    },
    {
      name: 'unknown client (Basic): the same answer as a wrong secret',
      headers: () => ({ authorization: basic(`sb-unknown!b9|${xsappname}`, key.oauth.clientsecret) }),
      status: 401,
      error: 'invalid_client',
      description: 'client authentication failed',
      code: 'ERR_OAUTH_INVALID_CLIENT',
      extraHeaders: challenge,
    },
    {
      name: 'wrong secret (post): no Basic challenge',
      path: '/oauth/token',
      headers: () => form,
      body: () =>
        `grant_type=client_credentials&client_id=${encodeURIComponent(key.oauth.clientid)}&client_secret=nope`,
      status: 401,
      error: 'invalid_client',
      description: 'client authentication failed',
      code: 'ERR_OAUTH_INVALID_CLIENT',
    },
    {
      name: 'no client authentication',
      status: 401,
      error: 'invalid_client',
      description: 'client authentication failed',
      code: 'ERR_OAUTH_INVALID_CLIENT',
      extraHeaders: challenge,
    },
    {
      name: 'scope not held by the instance',
      headers: () => ({ ...form, authorization: good() }),
      path: '/oauth/token',
      body: () => `grant_type=client_credentials&scope=${encodeURIComponent(`${xsappname}.Admin.all`)}`,
      status: 400,
      error: 'invalid_scope',
      description: 'invalid scope',
      code: 'ERR_OAUTH_INVALID_SCOPE',
    },
    {
      name: 'scope of another application',
      headers: () => ({ ...form, authorization: good() }),
      path: '/oauth/token',
      body: () => 'grant_type=client_credentials&scope=it-rt-other!b1.ESBMessaging.send',
      status: 400,
      error: 'invalid_scope',
      description: 'invalid scope',
      code: 'ERR_OAUTH_INVALID_SCOPE',
    },
    {
      name: 'JSON body: an RFC 6749 error naming the form encoding, not 415',
      path: '/oauth/token',
      headers: () => ({ 'content-type': 'application/json', authorization: good() }),
      body: () => '{"grant_type":"client_credentials"}',
      status: 400,
      error: 'invalid_request',
      description: 'the request body must be application/x-www-form-urlencoded',
      code: 'ERR_OAUTH_INVALID_REQUEST',
      extraHeaders: { connection: 'close' },
    },
    {
      name: 'body over 8 KiB',
      path: '/oauth/token',
      headers: () => ({ ...form, authorization: good() }),
      body: () => `grant_type=client_credentials&pad=${'x'.repeat(8200)}`,
      status: 413,
      error: 'payload_too_large',
      description: 'request body too large',
      code: 'ERR_PAYLOAD_TOO_LARGE',
      extraHeaders: { connection: 'close' },
    },
  ]

  for (const refusal of refusals) {
    test(`refuses: ${refusal.name}`, async () => {
      const logsBefore = harness.logs.length
      const response = await harness.request(refusal.path ?? '/oauth/token?grant_type=client_credentials', {
        method: refusal.method ?? 'POST',
        headers: refusal.headers?.() ?? {},
        ...(refusal.body === undefined ? {} : { body: refusal.body() }),
        clientAddress: from(),
      })
      assert.equal(response.status, refusal.status)
      errorBody(response, refusal.error, refusal.description, refusal.code)
      assert.equal(response.headers['cache-control'], 'no-store')
      for (const [name, value] of Object.entries(refusal.extraHeaders ?? {}))
        assert.equal(response.headers[name], value)
      if (refusal.extraHeaders?.['www-authenticate'] === undefined)
        assert.equal(response.headers['www-authenticate'], undefined)
      // No token issued.
      assert.ok(!response.text.includes('access_token'))
      assert.ok(!harness.logs.slice(logsBefore).some((line) => line.msg === 'token issued'))
    })
  }

  test('an instance without the client_credentials grant: unauthorized_client', async () => {
    await harness.identity.service.createInstance(
      'no-grant',
      'integration-flow',
      { 'grant-types': [] },
      actor,
    )
    const other = await harness.identity.service.createServiceKey('no-grant', 'k', {}, actor)
    const response = await harness.request('/oauth/token?grant_type=client_credentials', {
      method: 'POST',
      headers: { authorization: basic(other.oauth.clientid, other.oauth.clientsecret) },
      clientAddress: from(),
    })
    assert.equal(response.status, 400)
    errorBody(
      response,
      'unauthorized_client',
      'the client is not authorized to use this grant type',
      'ERR_OAUTH_UNAUTHORIZED_CLIENT',
    )
  })

  test('an expired key gets invalid_client, like a wrong secret', async () => {
    const expiring = await harness.identity.service.createServiceKey(
      'partner-a',
      'expiring',
      { validity: 1 },
      actor,
    )
    const ask = () =>
      harness.request('/oauth/token?grant_type=client_credentials', {
        method: 'POST',
        headers: { authorization: basic(expiring.oauth.clientid, expiring.oauth.clientsecret) },
        clientAddress: from(),
      })
    assert.equal((await ask()).status, 200)
    harness.clock.advance(86_400_000)
    const response = await ask()
    assert.equal(response.status, 401)
    errorBody(response, 'invalid_client', 'client authentication failed', 'ERR_OAUTH_INVALID_CLIENT')
  })

  test('nothing secret reaches the log; refusals are info lines without a stack', () => {
    const text = harness.logText()
    assert.ok(text.includes('token request refused'), 'refusals are logged')
    assert.ok(!text.includes(key.oauth.clientsecret))
    assert.ok(!text.includes('eyJ'), 'no JWT in the log')
    assert.ok(!/authorization":"Basic/i.test(text))
    const refusals = harness.logs.filter((line) => line.msg === 'token request refused')
    assert.ok(refusals.length > 10)
    for (const line of refusals) {
      assert.equal(line.level, 30)
      const err = line.err as Record<string, unknown>
      assert.deepEqual(
        Object.keys(err).filter((name) => name !== 'detail'),
        ['code', 'status', 'description'],
      )
    }
    assert.ok(!text.includes('"stack"'))
  })

  test('a JSON body is audited as a failed token request of its source address', async () => {
    const response = await harness.request('/oauth/token', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: basic(key.oauth.clientid, key.oauth.clientsecret),
      },
      body: '{"grant_type":"client_credentials"}',
      clientAddress: '192.0.2.77',
    })
    assert.equal(response.status, 400)
    errorBody(
      response,
      'invalid_request',
      'the request body must be application/x-www-form-urlencoded',
      'ERR_OAUTH_INVALID_REQUEST',
    )
    // Closing writes the open window's aggregates.
    await harness.endpoints.close()
    const events = (await backend.store.listAuditEvents({ action: 'token.failures', limit: 100 })).items
    const event = events.find((candidate) => candidate.target === 'address:192.0.2.77')
    assert.equal(event?.actor, 'unknown')
    assert.equal(event?.sourceAddress, '192.0.2.77')
    const after = event?.after as Record<string, unknown>
    assert.equal(after.failures, 1)
    assert.deepEqual(after.reasons, { ERR_OAUTH_INVALID_REQUEST: 1 })
  })
})

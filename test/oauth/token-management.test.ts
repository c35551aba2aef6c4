import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { decodeJwt } from 'jose'
import type { SapServiceKey } from '../../src/identity/identity-service.ts'
import { type OpenedBackend, storeBackends } from '../helpers/databases.ts'
import { type OAuthHarness, startOAuthHarness, testClock, testPublicUrl } from '../helpers/oauth-harness.ts'

const actor = { actor: 'cli', sourceAddress: null }
const xsappname = 'it-rt-flowgate!b1'
const form = { 'content-type': 'application/x-www-form-urlencoded' }

function basic(key: SapServiceKey): string {
  return `Basic ${Buffer.from(`${key.oauth.clientid}:${key.oauth.clientsecret}`).toString('base64')}`
}

describe('introspection, revocation, discovery', () => {
  let backend: OpenedBackend
  let harness: OAuthHarness
  let mine: SapServiceKey
  let theirs: SapServiceKey

  before(async () => {
    backend = await (storeBackends()[0] as ReturnType<typeof storeBackends>[number]).open()
    harness = await startOAuthHarness(backend.store, { clock: testClock() })
    await harness.identity.service.createInstance('partner-a', 'integration-flow', {}, actor)
    await harness.identity.service.createInstance('partner-b', 'integration-flow', {}, actor)
    mine = await harness.identity.service.createServiceKey('partner-a', 'k1', {}, actor)
    theirs = await harness.identity.service.createServiceKey('partner-b', 'k1', {}, actor)
  })
  after(async () => {
    await harness.close()
    await backend.drop()
  })

  async function tokenOf(key: SapServiceKey): Promise<{ token: string; jti: string }> {
    const response = await harness.request('/oauth/token?grant_type=client_credentials', {
      method: 'POST',
      headers: { authorization: basic(key) },
    })
    assert.equal(response.status, 200)
    const body = response.json() as { access_token: string; jti: string }
    return { token: body.access_token, jti: body.jti }
  }

  function introspect(key: SapServiceKey, token: string) {
    return harness.request('/oauth/introspect', {
      method: 'POST',
      headers: { ...form, authorization: basic(key) },
      body: `token=${encodeURIComponent(token)}&token_type_hint=access_token`,
    })
  }

  function revoke(key: SapServiceKey, token: string) {
    return harness.request('/oauth/revoke', {
      method: 'POST',
      headers: form,
      body: new URLSearchParams({
        token,
        client_id: key.oauth.clientid,
        client_secret: key.oauth.clientsecret,
      }).toString(),
    })
  }

  test('introspection of the caller own token: the whole RFC 7662 answer', async () => {
    const { token, jti } = await tokenOf(mine)
    const response = await introspect(mine, token)
    assert.equal(response.status, 200)
    assert.equal(response.headers['cache-control'], 'no-store')
    assert.equal(response.headers.pragma, 'no-cache')
    const iat = Math.floor(harness.clock.now() / 1000)
    assert.deepEqual(response.json(), {
      active: true,
      scope: `${xsappname}.ESBMessaging.send`,
      client_id: mine.oauth.clientid,
      sub: mine.oauth.clientid,
      aud: [xsappname, mine.oauth.clientid],
      iss: testPublicUrl,
      exp: iat + 3600,
      iat,
      jti,
      token_type: 'Bearer',
    })
  })

  const inactive: Array<[string, () => Promise<string>]> = [
    ['another client token', async () => (await tokenOf(theirs)).token],
    ['a malformed token', async () => 'not-a-token'],
    [
      'an expired token',
      async () => {
        const { token } = await tokenOf(mine)
        harness.clock.advance((3600 + 31) * 1000)
        return token
      },
    ],
  ]
  for (const [name, make] of inactive) {
    test(`introspection: {"active":false} for ${name}`, async () => {
      const response = await introspect(mine, await make())
      assert.equal(response.status, 200)
      assert.deepEqual(response.json(), { active: false })
    })
  }

  test('introspection needs client authentication and a token', async () => {
    const { token } = await tokenOf(mine)
    const unauthenticated = await harness.request('/oauth/introspect', {
      method: 'POST',
      headers: form,
      body: `token=${token}`,
    })
    assert.equal(unauthenticated.status, 401)
    assert.equal((unauthenticated.json() as { error: string }).error, 'invalid_client')
    assert.ok(!unauthenticated.text.includes('active'))
    const missing = await harness.request('/oauth/introspect', {
      method: 'POST',
      headers: { authorization: basic(mine) },
    })
    assert.equal(missing.status, 400)
    assert.deepEqual(missing.json(), {
      error: 'invalid_request',
      error_description: 'token is missing',
      code: 'ERR_OAUTH_INVALID_REQUEST',
      correlation_id: missing.headers['x-correlation-id'],
    })
  })

  test('revocation of another client token: 400 unauthorized_client (RFC 7009 §2.1), audited, the token stays valid', async () => {
    const { token, jti } = await tokenOf(theirs)
    // Nothing is written but the audit event: no revocation, no change for other nodes.
    const seq = await backend.store.latestChange()
    const response = await revoke(mine, token)
    assert.equal(response.status, 400)
    assert.equal(response.headers['cache-control'], 'no-store')
    assert.equal(response.headers.pragma, 'no-cache')
    assert.deepEqual(response.json(), {
      error: 'unauthorized_client',
      error_description: 'the token was not issued to this client',
      code: 'ERR_OAUTH_UNAUTHORIZED_CLIENT',
      correlation_id: response.headers['x-correlation-id'],
    })
    assert.equal(await backend.store.getRevokedToken(jti), undefined)
    assert.equal(await backend.store.latestChange(), seq)
    assert.equal((await harness.identity.authenticator.authenticate(token)).jti, jti)
    assert.equal(((await introspect(theirs, token)).json() as { active: boolean }).active, true)
    const events = (await backend.store.listAuditEvents({ action: 'token.revoke-refused', limit: 10 })).items
    assert.equal(events.length, 1)
    const event = events[0] as (typeof events)[number]
    assert.deepEqual(
      { actor: event.actor, sourceAddress: event.sourceAddress, target: event.target, after: event.after },
      {
        actor: mine.oauth.clientid,
        sourceAddress: '127.0.0.1',
        target: `token:${jti}`,
        after: { clientId: theirs.oauth.clientid, expiresAt: (decodeJwt(token).exp as number) * 1000 },
      },
    )
    const logged = harness.logs.filter((line) => line.msg === 'revocation request refused').at(-1)
    assert.equal(logged?.level, 30)
    assert.deepEqual(logged?.err, {
      code: 'ERR_OAUTH_UNAUTHORIZED_CLIENT',
      status: 400,
      description: 'the token was not issued to this client',
      detail: `token ${jti} belongs to client ${theirs.oauth.clientid}`,
    })
    assert.ok(!harness.logText().includes(token), 'the token never reaches the log')
  })

  test('revocation of an unknown token: 200', async () => {
    const response = await revoke(mine, 'eyJ.unknown.token')
    assert.equal(response.status, 200)
    assert.deepEqual(response.json(), {})
  })

  test('revocation of an own token: stored, audited, and the very next authenticate fails', async () => {
    const { token, jti } = await tokenOf(mine)
    assert.equal((await harness.identity.authenticator.authenticate(token)).jti, jti)
    const response = await revoke(mine, token)
    assert.equal(response.status, 200)
    await assert.rejects(async () => harness.identity.authenticator.authenticate(token), {
      code: 'ERR_TOKEN_REVOKED',
    })
    const stored = await backend.store.getRevokedToken(jti)
    assert.equal(stored?.clientId, mine.oauth.clientid)
    const event = (await backend.store.listAuditEvents({ action: 'token.revoke', limit: 10 })).items.at(-1)
    assert.equal(event?.actor, mine.oauth.clientid)
    assert.equal(event?.target, `token:${jti}`)
    assert.equal(event?.sourceAddress, '127.0.0.1')
    assert.deepEqual((await introspect(mine, token)).json(), { active: false })
    assert.ok(!harness.logText().includes(token), 'the token never reaches the log')
  })

  test('token endpoints answer POST only', async () => {
    for (const path of ['/oauth/introspect', '/oauth/revoke']) {
      const response = await harness.request(path)
      assert.equal(response.status, 405)
      assert.equal(response.headers.allow, 'POST')
    }
  })

  test('key set at /token_keys and /.well-known/jwks.json: public keys only', async () => {
    for (const path of ['/token_keys', '/.well-known/jwks.json']) {
      const response = await harness.request(path)
      assert.equal(response.status, 200)
      assert.equal(response.headers['cache-control'], 'public, max-age=300')
      assert.equal(response.headers['content-type'], 'application/json')
      const { keys } = response.json() as { keys: Array<Record<string, unknown>> }
      assert.deepEqual(keys, harness.identity.keyRing.publishedKeys())
      assert.equal(keys.length, 2)
      for (const jwk of keys) {
        for (const privatePart of ['d', 'p', 'q', 'dp', 'dq', 'qi']) assert.equal(jwk[privatePart], undefined)
      }
    }
    const post = await harness.request('/token_keys', { method: 'POST' })
    assert.equal(post.status, 405)
    assert.equal(post.headers.allow, 'GET, HEAD')
  })

  test('RFC 8414 metadata from configuration; Host and X-Forwarded-Host never change it', async () => {
    const expected = {
      issuer: testPublicUrl,
      token_endpoint: `${testPublicUrl}/oauth/token`,
      jwks_uri: `${testPublicUrl}/token_keys`,
      introspection_endpoint: `${testPublicUrl}/oauth/introspect`,
      revocation_endpoint: `${testPublicUrl}/oauth/revoke`,
      grant_types_supported: ['client_credentials'],
      response_types_supported: [],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    }
    const plain = await harness.request('/.well-known/oauth-authorization-server')
    assert.equal(plain.status, 200)
    assert.equal(plain.headers['cache-control'], 'public, max-age=3600')
    assert.deepEqual(plain.json(), expected)
    const spoofed = await harness.request('/.well-known/oauth-authorization-server', {
      headers: { host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'http' },
    })
    assert.deepEqual(spoofed.json(), expected)
    assert.ok(!spoofed.text.includes('evil'))
  })
})

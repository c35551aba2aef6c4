import assert from 'node:assert/strict'
import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { SignJWT } from 'jose'
import type { SapServiceKey } from '../../src/identity/identity-service.ts'
import { FlowgateError } from '../../src/lib/errors.ts'
import { type OpenedBackend, storeBackends } from '../helpers/databases.ts'
import { type OAuthHarness, startOAuthHarness, testClock, testPublicUrl } from '../helpers/oauth-harness.ts'

const actor = { actor: 'cli', sourceAddress: null }
const xsappname = 'it-rt-flowgate!b1'

async function failure(run: () => unknown): Promise<{ code: string; detail: string | undefined }> {
  try {
    await run()
  } catch (error) {
    assert.ok(error instanceof FlowgateError, String(error))
    return { code: error.code, detail: error.detail }
  }
  assert.fail('expected the token to be refused')
}

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

describe('token authenticator', () => {
  let backend: OpenedBackend
  let harness: OAuthHarness
  let key: SapServiceKey
  let instanceId: string

  before(async () => {
    backend = await (storeBackends()[0] as ReturnType<typeof storeBackends>[number]).open()
    // The negative cases below forge tokens with foreign RSA and EC keys against an RSA ring.
    harness = await startOAuthHarness(backend.store, {
      clock: testClock(),
      overrides: { 'tokens.algorithm': 'RS256' },
    })
    const instance = await harness.identity.service.createInstance(
      'partner-a',
      'integration-flow',
      { roles: ['ESBMessaging.send'] },
      actor,
    )
    instanceId = instance.id
    key = await harness.identity.service.createServiceKey('partner-a', 'k1', {}, actor)
  })
  after(async () => {
    await harness.close()
    await backend.drop()
  })

  function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    const iat = Math.floor(harness.clock.now() / 1000)
    const base: Record<string, unknown> = {
      iss: testPublicUrl,
      sub: key.oauth.clientid,
      client_id: key.oauth.clientid,
      cid: key.oauth.clientid,
      azp: key.oauth.clientid,
      aud: [xsappname, key.oauth.clientid],
      iat,
      exp: iat + 3600,
      jti: `jti-${Math.random()}`,
      scope: [`${xsappname}.ESBMessaging.send`],
      grant_type: 'client_credentials',
      zid: 'test-zone',
      ext_attr: { serviceinstanceid: instanceId, serviceinstancename: 'partner-a' },
    }
    for (const [name, value] of Object.entries(overrides)) {
      if (value === undefined) delete base[name]
      else base[name] = value
    }
    return base
  }

  function sign(
    payload: Record<string, unknown>,
    header: Record<string, unknown> = {},
    privateKey?: KeyObject,
  ): Promise<string> {
    const signer = harness.identity.keyRing.signer()
    return new SignJWT(payload)
      .setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: 'at+jwt', ...header } as { alg: string })
      .sign(privateKey ?? signer.privateKey)
  }

  test('a token from the token endpoint authenticates; effective roles, claims', async () => {
    const { accessToken, jti, exp } = await harness.identity.issuer.issue({
      key: harness.identity.index.client(key.oauth.clientid)!.key,
      instance: harness.identity.index.client(key.oauth.clientid)!.instance,
      roles: ['ESBMessaging.send'],
    })
    const principal = await harness.identity.authenticator.authenticate(accessToken)
    assert.deepEqual(principal, {
      clientId: key.oauth.clientid,
      instanceId,
      instanceName: 'partner-a',
      plan: 'integration-flow',
      roles: new Set(['ESBMessaging.send']),
      jti,
      exp,
    })
  })

  const forged: Array<[string, () => Promise<string>, string, string]> = [
    [
      'alg none',
      async () =>
        `${b64({ alg: 'none', typ: 'at+jwt', kid: harness.identity.keyRing.signer().kid })}.${b64(claims())}.`,
      'ERR_TOKEN_INVALID',
      'algorithm none is not allowed',
    ],
    [
      'HS256 keyed with the public key',
      async () => {
        const { kid } = harness.identity.keyRing.signer()
        const publicPem = harness.identity.keyRing
          .verificationKey(kid)!
          .publicKey.export({ type: 'spki', format: 'pem' })
        return new SignJWT(claims())
          .setProtectedHeader({ alg: 'HS256', kid, typ: 'at+jwt' })
          .sign(Buffer.from(publicPem as string))
      },
      'ERR_TOKEN_INVALID',
      'algorithm HS256 is not allowed',
    ],
    ['typ JWT', () => sign(claims(), { typ: 'JWT' }), 'ERR_TOKEN_INVALID', 'typ jwt is not at+jwt'],
    ['no typ', () => sign(claims(), { typ: undefined }), 'ERR_TOKEN_INVALID', 'typ (none) is not at+jwt'],
    [
      'foreign issuer',
      () => sign(claims({ iss: 'https://evil.example' })),
      'ERR_TOKEN_INVALID',
      'issuer is not this gateway',
    ],
    [
      'issuer differing only by a trailing slash',
      () => sign(claims({ iss: `${testPublicUrl}/` })),
      'ERR_TOKEN_INVALID',
      'issuer is not this gateway',
    ],
    [
      'audience without the xsappname',
      () => sign(claims({ aud: [key.oauth.clientid] })),
      'ERR_TOKEN_INVALID',
      `audience does not contain ${xsappname}`,
    ],
    [
      'unknown kid',
      () => {
        const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
        return sign(claims(), { kid: 'not-a-key-of-ours' }, privateKey)
      },
      'ERR_TOKEN_INVALID',
      'unknown kid',
    ],
    ['no kid', () => sign(claims(), { kid: undefined }), 'ERR_TOKEN_INVALID', 'no kid'],
    [
      'alg differing from the key',
      () => {
        const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
        return sign(claims(), { alg: 'ES256' }, privateKey)
      },
      'ERR_TOKEN_INVALID',
      "alg ES256 does not match the key's",
    ],
    [
      'bad signature (signed by another key under our kid)',
      () => {
        const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
        return sign(claims(), {}, privateKey)
      },
      'ERR_TOKEN_INVALID',
      'verification failed (ERR_JWS_SIGNATURE_VERIFICATION_FAILED)',
    ],
    [
      'altered payload',
      async () => {
        const [header, , signature] = (await sign(claims())).split('.')
        return `${header}.${b64(claims({ scope: [`${xsappname}.Anything`] }))}.${signature}`
      },
      'ERR_TOKEN_INVALID',
      'verification failed (ERR_JWS_SIGNATURE_VERIFICATION_FAILED)',
    ],
    [
      'expired beyond the leeway',
      () => {
        const now = Math.floor(harness.clock.now() / 1000)
        return sign(claims({ iat: now - 3600, exp: now - 31 }))
      },
      'ERR_TOKEN_EXPIRED',
      'exp is in the past',
    ],
    [
      'nbf in the future beyond the leeway',
      () => sign(claims({ nbf: Math.floor(harness.clock.now() / 1000) + 31 })),
      'ERR_TOKEN_INVALID',
      'verification failed (ERR_JWT_CLAIM_VALIDATION_FAILED)',
    ],
    [
      'iat in the future beyond the leeway',
      () => sign(claims({ iat: Math.floor(harness.clock.now() / 1000) + 31 })),
      'ERR_TOKEN_INVALID',
      'iat is in the future',
    ],
    [
      'missing exp',
      () => sign(claims({ exp: undefined })),
      'ERR_TOKEN_INVALID',
      'verification failed (ERR_JWT_CLAIM_VALIDATION_FAILED)',
    ],
    [
      'missing jti',
      () => sign(claims({ jti: undefined })),
      'ERR_TOKEN_INVALID',
      'verification failed (ERR_JWT_CLAIM_VALIDATION_FAILED)',
    ],
    [
      'client_id differing from sub',
      () => sign(claims({ client_id: 'someone-else' })),
      'ERR_TOKEN_INVALID',
      'client_id is missing or differs from sub',
    ],
    [
      'scope as a string',
      () => sign(claims({ scope: `${xsappname}.ESBMessaging.send` })),
      'ERR_TOKEN_INVALID',
      'scope is not an array of strings',
    ],
    [
      'missing ext_attr',
      () => sign(claims({ ext_attr: undefined })),
      'ERR_TOKEN_INVALID',
      'ext_attr.serviceinstanceid is missing',
    ],
    ['not a JWS', async () => 'abc.def', 'ERR_TOKEN_INVALID', 'not a compact JWS'],
    ['garbage segments', async () => 'a.b.c', 'ERR_TOKEN_INVALID', 'malformed header or payload'],
    [
      'revoked jti',
      async () => {
        const payload = claims()
        await harness.identity.service.revokeToken(
          { jti: payload.jti as string, clientId: key.oauth.clientid, exp: payload.exp as number },
          actor,
        )
        return sign(payload)
      },
      'ERR_TOKEN_REVOKED',
      'jti revoked',
    ],
    [
      'another instance named in ext_attr',
      () => sign(claims({ ext_attr: { serviceinstanceid: 'another' } })),
      'ERR_TOKEN_REVOKED',
      'the client id now belongs to another instance',
    ],
  ]
  for (const [name, make, code, detail] of forged) {
    test(`refuses: ${name}`, async () => {
      const token = await make()
      assert.deepEqual(await failure(() => harness.identity.authenticator.authenticate(token)), {
        code,
        detail,
      })
    })
  }

  test('exp within the leeway still passes; one second beyond it does not', async () => {
    const now = Math.floor(harness.clock.now() / 1000)
    const token = await sign(claims({ iat: now - 100, exp: now - 29 }))
    assert.equal((await harness.identity.authenticator.authenticate(token)).clientId, key.oauth.clientid)
    harness.clock.advance(2000)
    assert.deepEqual(await failure(() => harness.identity.authenticator.authenticate(token)), {
      code: 'ERR_TOKEN_EXPIRED',
      detail: 'exp is in the past',
    })
  })
})

describe('revocation through administrative changes, on the very next call (cached or not)', () => {
  let backend: OpenedBackend
  let harness: OAuthHarness

  before(async () => {
    backend = await (storeBackends()[0] as ReturnType<typeof storeBackends>[number]).open()
    harness = await startOAuthHarness(backend.store, {
      clock: testClock(),
      overrides: { 'tokens.maxValiditySeconds': 3600 },
    })
  })
  after(async () => {
    await harness.close()
    await backend.drop()
  })

  let counter = 0
  async function tokenFor(roles: string[] = ['ESBMessaging.send']) {
    const name = `partner-${++counter}`
    await harness.identity.service.createRole(`Role${counter}.read`, null, actor)
    await harness.identity.service.createInstance(
      name,
      'integration-flow',
      { roles: [...roles, `Role${counter}.read`] },
      actor,
    )
    const key = await harness.identity.service.createServiceKey(name, 'k1', {}, actor)
    const entry = harness.identity.index.client(key.oauth.clientid)!
    const issued = await harness.identity.issuer.issue({
      key: entry.key,
      instance: entry.instance,
      roles: entry.instance.parameters.roles,
    })
    // Cached now: later calls skip the signature, never the revocation checks.
    await harness.identity.authenticator.authenticate(issued.accessToken)
    return { name, key, token: issued.accessToken, role: `Role${counter}.read` }
  }

  test('a cached token still sees role changes', async () => {
    const { name, token, role } = await tokenFor()
    const first = await harness.identity.authenticator.authenticate(token)
    assert.equal(await harness.identity.authenticator.authenticate(token), first, 'answered from the cache')
    assert.deepEqual(first.roles, new Set(['ESBMessaging.send', role]))
    await harness.identity.service.updateInstance(name, { roles: ['ESBMessaging.send'] }, actor)
    const second = await harness.identity.authenticator.authenticate(token)
    assert.deepEqual(second.roles, new Set(['ESBMessaging.send']))
  })

  const changes: Array<[string, (name: string) => Promise<unknown>, string]> = [
    [
      'deleted service key',
      (name) => harness.identity.service.deleteServiceKey(name, 'k1', actor),
      'service key or instance no longer exists',
    ],
    [
      'deleted instance',
      (name) => harness.identity.service.deleteInstance(name, actor),
      'service key or instance no longer exists',
    ],
    [
      'expired service key',
      (name) => harness.identity.service.expireServiceKey(name, 'k1', harness.clock.now(), actor),
      'service key expired',
    ],
  ]
  for (const [name, change, detail] of changes) {
    test(`refuses: ${name}`, async () => {
      const issued = await tokenFor()
      await change(issued.name)
      assert.deepEqual(await failure(() => harness.identity.authenticator.authenticate(issued.token)), {
        code: 'ERR_TOKEN_REVOKED',
        detail,
      })
    })
  }

  test('refuses: a cached token whose signing key has left the key ring', async () => {
    const { token } = await tokenFor()
    const signedBy = harness.identity.keyRing.signer().kid
    await harness.identity.service.rotateSigningKey(actor)
    // Retired but still published while tokens it signed may live: still accepted, from the cache.
    const cached = await harness.identity.authenticator.authenticate(token)
    assert.equal(await harness.identity.authenticator.authenticate(token), cached)
    // An operator removes the (compromised) retired key: its tokens stop working at once.
    assert.equal(await backend.store.deleteSigningKey(signedBy), true)
    await harness.identity.keyRing.reload()
    assert.deepEqual(await failure(() => harness.identity.authenticator.authenticate(token)), {
      code: 'ERR_TOKEN_INVALID',
      detail: 'the signing key has left the key ring',
    })
    // Not cached any more: the next attempt goes through the whole checklist and fails on the kid.
    assert.deepEqual(await failure(() => harness.identity.authenticator.authenticate(token)), {
      code: 'ERR_TOKEN_INVALID',
      detail: 'unknown kid',
    })
  })

  test('the cache answers a token it holds, and still refuses it once its key is deleted', async () => {
    const name = `partner-${++counter}`
    await harness.identity.service.createInstance(
      name,
      'integration-flow',
      { roles: ['ESBMessaging.send'] },
      actor,
    )
    const key = await harness.identity.service.createServiceKey(name, 'k1', {}, actor)
    const entry = harness.identity.index.client(key.oauth.clientid)!
    const issued = await harness.identity.issuer.issue({
      key: entry.key,
      instance: entry.instance,
      roles: ['ESBMessaging.send'],
    })
    const cached = harness.identity.authenticator.cacheSize()
    const verified = await harness.identity.authenticator.authenticate(issued.accessToken)
    assert.equal(harness.identity.authenticator.cacheSize(), cached + 1)
    assert.equal(await harness.identity.authenticator.authenticate(issued.accessToken), verified)
    await harness.identity.service.deleteServiceKey(name, 'k1', actor)
    assert.deepEqual(await failure(() => harness.identity.authenticator.authenticate(issued.accessToken)), {
      code: 'ERR_TOKEN_REVOKED',
      detail: 'service key or instance no longer exists',
    })
  })

  test('a token sharing only the tail of a cached token (the cache key) is verified in full and refused', async () => {
    const { token } = await tokenFor()
    const [header, payload, signature] = token.split('.') as [string, string, string]
    const claimsOf = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>
    // Same signature (so the same last 32 characters), another payload: a forgery.
    const forged = `${header}.${Buffer.from(JSON.stringify({ ...claimsOf, scope: [...(claimsOf.scope as string[]), 'x.Admin'] })).toString('base64url')}.${signature}`
    assert.equal(forged.slice(-32), token.slice(-32))
    const refused = await failure(() => harness.identity.authenticator.authenticate(forged))
    assert.equal(refused.code, 'ERR_TOKEN_INVALID')
    assert.match(refused.detail ?? '', /^verification failed \(ERR_JWS_SIGNATURE_VERIFICATION_FAILED\)$/)
    // The genuine token is still answered from the cache.
    const genuine = await harness.identity.authenticator.authenticate(token)
    assert.equal(await harness.identity.authenticator.authenticate(token), genuine)
  })

  test('the verified-token cache stays within its bound', () => {
    assert.ok(harness.identity.authenticator.cacheSize() <= harness.config.tokens.verifiedCacheSize)
  })
})

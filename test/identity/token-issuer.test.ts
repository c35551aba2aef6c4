import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, importJWK, jwtVerify } from 'jose'
import type { SapServiceKey } from '../../src/identity/identity-service.ts'
import { type OpenedBackend, storeBackends } from '../helpers/databases.ts'
import { type OAuthHarness, startOAuthHarness, testClock, testPublicUrl } from '../helpers/oauth-harness.ts'

const actor = { actor: 'cli', sourceAddress: null }
const xsappname = 'it-rt-flowgate!b1'
/** Bytes of a raw JWS signature: RSA 2048, r || s of P-256 (not DER), Ed25519. */
const signatureBytes = { RS256: 256, ES256: 64, EdDSA: 64 } as const

for (const algorithm of ['ES256', 'RS256', 'EdDSA'] as const) {
  describe(`token issuer (${algorithm})`, () => {
    let backend: OpenedBackend
    let harness: OAuthHarness
    let key: SapServiceKey
    let instanceId: string

    before(async () => {
      backend = await (storeBackends()[0] as ReturnType<typeof storeBackends>[number]).open()
      harness = await startOAuthHarness(backend.store, {
        clock: testClock(),
        overrides: { 'tokens.algorithm': algorithm },
      })
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

    async function issue() {
      const entry = harness.identity.index.client(key.oauth.clientid)!
      return harness.identity.issuer.issue({ ...entry, roles: ['ESBMessaging.send', 'Orders.read'] })
    }

    test('the whole protected header and the whole payload, in this order', async () => {
      const issued = await issue()
      const [header, payload, signature] = issued.accessToken.split('.') as [string, string, string]
      const iat = Math.floor(harness.clock.now() / 1000)
      const kid = harness.identity.keyRing.signer().kid
      const scope = [`${xsappname}.ESBMessaging.send`, `${xsappname}.Orders.read`]
      // Compared as JSON text: the member order is part of what tooling sees (and what jose produced).
      assert.equal(
        Buffer.from(header, 'base64url').toString(),
        JSON.stringify({ alg: algorithm, kid, typ: 'at+jwt', jku: `${testPublicUrl}/token_keys` }),
      )
      assert.equal(
        Buffer.from(payload, 'base64url').toString(),
        JSON.stringify({
          client_id: key.oauth.clientid,
          cid: key.oauth.clientid,
          azp: key.oauth.clientid,
          scope,
          grant_type: 'client_credentials',
          zid: 'test-zone',
          ext_attr: { serviceinstanceid: instanceId, serviceinstancename: 'partner-a' },
          iss: testPublicUrl,
          sub: key.oauth.clientid,
          aud: [xsappname, key.oauth.clientid],
          iat,
          exp: iat + 1800,
          jti: issued.jti,
        }),
      )
      assert.match(issued.jti, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      assert.deepEqual(
        { ...issued, accessToken: undefined },
        { accessToken: undefined, jti: issued.jti, scope, iat, exp: iat + 1800 },
      )
      assert.equal(Buffer.from(signature, 'base64url').length, signatureBytes[algorithm])
      assert.match(issued.accessToken, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/)
    })

    test("verifies with jose against the ring's public JWK and against the published key set", async () => {
      const { accessToken } = await issue()
      const currentDate = new Date(harness.clock.now())
      const options = { issuer: testPublicUrl, audience: xsappname, typ: 'at+jwt', algorithms: [algorithm] }
      const jwk = harness.identity.keyRing
        .publishedKeys()
        .find((candidate) => candidate.kid === harness.identity.keyRing.signer().kid)!
      const fromJwk = await jwtVerify(accessToken, await importJWK(jwk, algorithm), {
        ...options,
        currentDate,
      })
      const fromSet = await jwtVerify(
        accessToken,
        createLocalJWKSet(JSON.parse(harness.identity.keyRing.jwksJson())),
        { ...options, currentDate },
      )
      assert.deepEqual(fromJwk.protectedHeader, decodeProtectedHeader(accessToken))
      assert.deepEqual(fromJwk.payload, decodeJwt(accessToken))
      assert.deepEqual(fromSet.payload, fromJwk.payload)
    })

    test('a token altered in any part no longer verifies', async () => {
      const { accessToken } = await issue()
      const jwks = createLocalJWKSet(JSON.parse(harness.identity.keyRing.jwksJson()))
      const [header, payload, signature] = accessToken.split('.') as [string, string, string]
      const otherPayload = Buffer.from(
        JSON.stringify({ ...decodeJwt(accessToken), scope: [`${xsappname}.Admin`] }),
      ).toString('base64url')
      const flipped = `${signature.slice(0, 10)}${signature[10] === 'A' ? 'B' : 'A'}${signature.slice(11)}`
      for (const forged of [`${header}.${otherPayload}.${signature}`, `${header}.${payload}.${flipped}`]) {
        await assert.rejects(
          jwtVerify(forged, jwks, { currentDate: new Date(harness.clock.now()) }),
          (error: unknown) => (error as { code?: string }).code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
        )
      }
    })

    test('each token gets its own jti; the header stays the same for one signing key', async () => {
      const [a, b] = [await issue(), await issue()]
      assert.notEqual(a.jti, b.jti)
      assert.equal(a.accessToken.split('.')[0], b.accessToken.split('.')[0])
    })

    test('after a rotation the new key signs, with its own kid in the header', async () => {
      const before = harness.identity.keyRing.signer().kid
      await harness.identity.service.rotateSigningKey(actor)
      const after = harness.identity.keyRing.signer().kid
      assert.notEqual(after, before)
      const { accessToken } = await issue()
      assert.deepEqual(decodeProtectedHeader(accessToken), {
        alg: algorithm,
        kid: after,
        typ: 'at+jwt',
        jku: `${testPublicUrl}/token_keys`,
      })
      assert.equal(
        (await harness.identity.authenticator.authenticate(accessToken)).clientId,
        key.oauth.clientid,
      )
    })
  })
}

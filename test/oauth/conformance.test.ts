import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createRemoteJWKSet, customFetch as joseCustomFetch, jwtVerify } from 'jose'
import * as oauth from 'oauth4webapi'
import { Agent } from 'undici'
import type { SapServiceKey } from '../../src/identity/identity-service.ts'
import { type OpenedBackend, storeBackends } from '../helpers/databases.ts'
import { type OAuthHarness, startOAuthHarness, testClock, testPublicUrl } from '../helpers/oauth-harness.ts'

const actor = { actor: 'cli', sourceAddress: null }
const xsappname = 'it-rt-flowgate!b1'

/**
 * A third-party, spec-conformant OAuth client (oauth4webapi) against Flowgate over real HTTPS.
 * The issuer is the configured public URL; the fetch below resolves that origin to the test
 * server (as DNS would) and trusts the test CA, nothing else.
 */
// ES256 is the default; RS256 is what XSUAA signs with; EdDSA is the third one configurable.
for (const algorithm of ['ES256', 'RS256', 'EdDSA'] as const) {
  describe(`conformance with oauth4webapi and jose (${algorithm})`, () => {
    let backend: OpenedBackend
    let harness: OAuthHarness
    let key: SapServiceKey
    let dispatcher: Agent
    let as: oauth.AuthorizationServer
    const requested: string[] = []

    const fetchViaTestServer = (url: string, init?: RequestInit): Promise<Response> => {
      requested.push(url)
      assert.ok(url.startsWith(`${testPublicUrl}/`), `only the configured issuer is contacted, not ${url}`)
      return fetch(url.replace(testPublicUrl, harness.url), { ...init, dispatcher } as RequestInit)
    }

    before(async () => {
      backend = await (storeBackends()[0] as ReturnType<typeof storeBackends>[number]).open()
      // Real time: the client libraries check exp and iat against their own clock.
      harness = await startOAuthHarness(backend.store, {
        clock: testClock(Date.now()),
        overrides: { 'tokens.algorithm': algorithm },
      })
      dispatcher = new Agent({ connect: { ca: harness.ca, servername: 'localhost' } })
      await harness.identity.service.createInstance('partner-a', 'integration-flow', {}, actor)
      key = await harness.identity.service.createServiceKey('partner-a', 'k1', {}, actor)
      const issuer = new URL(testPublicUrl)
      as = await oauth.processDiscoveryResponse(
        issuer,
        await oauth.discoveryRequest(issuer, {
          algorithm: 'oauth2',
          [oauth.customFetch]: fetchViaTestServer,
        }),
      )
    })
    after(async () => {
      await dispatcher.close()
      await harness.close()
      await backend.drop()
    })

    test('discovers the RFC 8414 metadata', () => {
      assert.equal(as.issuer, testPublicUrl)
      assert.equal(as.token_endpoint, `${testPublicUrl}/oauth/token`)
      assert.equal(as.jwks_uri, `${testPublicUrl}/token_keys`)
      assert.deepEqual(requested, [`${testPublicUrl}/.well-known/oauth-authorization-server`])
    })

    const methods: Array<[string, oauth.ClientAuth]> = []
    before(() => {
      methods.push(['client_secret_basic', oauth.ClientSecretBasic(key.oauth.clientsecret)])
      methods.push(['client_secret_post', oauth.ClientSecretPost(key.oauth.clientsecret)])
    })

    for (const method of ['client_secret_basic', 'client_secret_post']) {
      test(`obtains a token with ${method}; it verifies against the published key set`, async () => {
        const clientAuth = methods.find(([name]) => name === method)?.[1] as oauth.ClientAuth
        const client: oauth.Client = { client_id: key.oauth.clientid }
        const response = await oauth.clientCredentialsGrantRequest(
          as,
          client,
          clientAuth,
          new URLSearchParams(),
          {
            [oauth.customFetch]: fetchViaTestServer,
          },
        )
        const result = await oauth.processClientCredentialsResponse(as, client, response)
        assert.equal(result.token_type, 'bearer')
        assert.equal(result.expires_in, 3599)
        assert.equal(result.scope, `${xsappname}.ESBMessaging.send`)

        const jwks = createRemoteJWKSet(new URL(as.jwks_uri as string), {
          [joseCustomFetch]: fetchViaTestServer as never,
        })
        const { payload, protectedHeader } = await jwtVerify(result.access_token, jwks, {
          issuer: testPublicUrl,
          audience: xsappname,
          typ: 'at+jwt',
          algorithms: [algorithm],
        })
        assert.equal(protectedHeader.alg, algorithm)
        assert.equal(protectedHeader.kid, harness.identity.keyRing.signer().kid)
        assert.equal(payload.client_id, key.oauth.clientid)

        // RFC 9068 validation by the third-party library itself.
        const claims = await oauth.validateJwtAccessToken(
          as,
          new Request('https://flow.example.test/http/orders', {
            headers: { authorization: `Bearer ${result.access_token}` },
          }),
          xsappname,
          { [oauth.customFetch]: fetchViaTestServer },
        )
        assert.equal(claims.client_id, key.oauth.clientid)
        assert.equal(claims.sub, key.oauth.clientid)
      })
    }
  })
}

import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { testPki } from '../helpers/pki.ts'
import {
  echoBehaviour,
  type RecordingUpstream,
  startRecordingUpstream,
  type UpstreamBehaviour,
} from '../helpers/recording-upstream.ts'
import { actor, assertError, type Harness, startHarness } from './proxy-harness.ts'
import { principal } from './table-authenticator.ts'

const token = 'tok-client-4411'
const auth = { authorization: `Bearer ${token}` }
const basicPassword = 'cpi-pass-Secret1'
const clientSecret = 'cs-Secret-2'
const clientId = 'sb-cpi-client!b12|it!b34'

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
}

describe('flow proxy: upstream authentication', () => {
  let h: Harness
  let tokenServer: RecordingUpstream
  let mtlsUpstream: RecordingUpstream
  let issued = 0
  let time = Date.UTC(2026, 5, 1)
  let tokenDelayMs = 0
  let tokenStatus = 200

  const tokenBehaviour: UpstreamBehaviour = (_req, res) => {
    const answer = () => {
      if (tokenStatus !== 200) {
        res.writeHead(tokenStatus, { 'content-type': 'application/json' })
        res.end('{"error":"invalid_client"}')
        return
      }
      issued++
      const body = JSON.stringify({
        access_token: `upstream-token-${issued}`,
        token_type: 'bearer',
        expires_in: 120,
      })
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      res.end(body)
    }
    if (tokenDelayMs > 0) setTimeout(answer, tokenDelayMs)
    else answer()
  }

  /** The only upstream token the upstream accepts, as after its authorization server rotated keys. */
  let wanted = 0
  const wantedTokenOnly: UpstreamBehaviour = (req, res, recorded) => {
    if (req.headers.authorization !== `Bearer upstream-token-${wanted}`) {
      res.writeHead(401, { 'www-authenticate': 'Bearer', 'content-length': 0 })
      res.end()
      return
    }
    echoBehaviour(req, res, recorded)
  }

  before(async () => {
    const pki = await testPki()
    const certificate = await pki.client('flowgate-upstream')
    tokenServer = await startRecordingUpstream()
    tokenServer.behaviour = tokenBehaviour
    mtlsUpstream = await startRecordingUpstream({ requireClientCertificate: true })
    h = await startHarness({
      now: () => time,
      setup: async ({ flows, upstream }) => {
        const flow = { methods: ['GET', 'POST'], csrf: false }
        await flows.createConnection(
          { name: 'basic-cpi', type: 'basic', username: 'cpi-user', password: basicPassword },
          actor,
        )
        await flows.createConnection(
          {
            name: 'oauth-cpi',
            type: 'oauth2-client-credentials',
            serviceKey: JSON.stringify({
              oauth: {
                clientid: clientId,
                clientsecret: clientSecret,
                url: upstream.origin,
                createdate: '2025-07-02T00:17:31.919Z',
                tokenurl: `${tokenServer.origin}/oauth/token`,
              },
            }),
          },
          actor,
        )
        await flows.createConnection(
          {
            name: 'mtls-cpi',
            type: 'client-certificate',
            certificate: certificate.cert,
            key: certificate.key,
          },
          actor,
        )
        await flows.createFlow(
          { ...flow, address: '/basic', upstream: `${upstream.origin}/basic`, connection: 'basic-cpi' },
          actor,
        )
        await flows.createFlow(
          { ...flow, address: '/oauth', upstream: `${upstream.origin}/oauth`, connection: 'oauth-cpi' },
          actor,
        )
        await flows.createFlow(
          {
            ...flow,
            address: '/oauth-big',
            upstream: `${upstream.origin}/oauth`,
            connection: 'oauth-cpi',
            maxBodyBytes: 1 << 20,
          },
          actor,
        )
        await flows.createFlow(
          { ...flow, address: '/mtls', upstream: `${mtlsUpstream.origin}/mtls`, connection: 'mtls-cpi' },
          actor,
        )
        await flows.createFlow(
          { ...flow, address: '/mtls-none', upstream: `${mtlsUpstream.origin}/mtls` },
          actor,
        )
      },
    })
    h.authenticator.allow(token, principal('sb-partner!b1|it-rt-flowgate!b1', ['ESBMessaging.send']))
  })
  after(async () => {
    await h.close()
    await tokenServer.close()
    await mtlsUpstream.close()
  })

  test('basic: the upstream gets the connection credentials, never the client token', async () => {
    const result = await h.call('GET', '/http/basic', { headers: auth })
    assert.equal(result.status, 200)
    assert.equal(h.upstream.requests.at(-1)?.headers.authorization, basic('cpi-user', basicPassword))
  })

  test('oauth2-client-credentials: one token fetch with the service key, then the cached token', async () => {
    const result = await h.call('GET', '/http/oauth', { headers: auth })
    assert.equal(result.status, 200)
    assert.equal(tokenServer.requests.length, 1)
    const tokenRequest = tokenServer.requests[0]
    assert.equal(tokenRequest?.method, 'POST')
    assert.equal(tokenRequest?.url, '/oauth/token')
    assert.equal(tokenRequest?.headers.authorization, basic(clientId, clientSecret))
    assert.equal(tokenRequest?.headers['content-type'], 'application/x-www-form-urlencoded')
    assert.equal(tokenRequest?.body.toString(), 'grant_type=client_credentials')
    assert.equal(h.upstream.requests.at(-1)?.headers.authorization, 'Bearer upstream-token-1')

    assert.equal((await h.call('POST', '/http/oauth', { headers: auth, body: 'x' })).status, 200)
    assert.equal(tokenServer.requests.length, 1)
    assert.equal(h.upstream.requests.at(-1)?.headers.authorization, 'Bearer upstream-token-1')
  })

  test('the token is renewed shortly before it expires, by one fetch shared by concurrent calls', async () => {
    time += 107_000
    assert.equal((await h.call('GET', '/http/oauth', { headers: auth })).status, 200)
    assert.equal(tokenServer.requests.length, 1, 'still valid 13 s before expiry')
    time += 2000
    tokenDelayMs = 100
    const before = h.upstream.requests.length
    try {
      const results = await Promise.all(
        Array.from({ length: 5 }, () => h.call('GET', '/http/oauth', { headers: auth })),
      )
      assert.deepEqual(
        results.map((result) => result.status),
        [200, 200, 200, 200, 200],
      )
    } finally {
      tokenDelayMs = 0
    }
    assert.equal(tokenServer.requests.length, 2)
    const used = new Set(h.upstream.requests.slice(before).map((received) => received.headers.authorization))
    assert.deepEqual([...used], ['Bearer upstream-token-2'])
  })

  test('a 401 from the upstream is answered by one new token and one replay when the body can be replayed', async () => {
    h.upstream.behaviour = wantedTokenOnly
    try {
      // The upstream refuses token 2; Flowgate fetches token 3 and resends.
      wanted = 3
      const start = h.upstream.requests.length
      const get = await h.call('GET', '/http/oauth?n=1', { headers: auth })
      assert.equal(get.status, 200)
      assert.deepEqual(JSON.parse(get.body), { method: 'GET', url: '/oauth?n=1', bodyBytes: 0 })
      assert.deepEqual(
        h.upstream.requests.slice(start).map((received) => received.headers.authorization),
        ['Bearer upstream-token-2', 'Bearer upstream-token-3'],
      )
      assert.equal(tokenServer.requests.length, 3)

      // A small body is buffered, so it is replayed whole.
      wanted = 4
      const start2 = h.upstream.requests.length
      const post = await h.call('POST', '/http/oauth', { headers: auth, body: 'p'.repeat(2048) })
      assert.equal(post.status, 200)
      const replays = h.upstream.requests.slice(start2)
      assert.equal(replays.length, 2)
      assert.deepEqual(
        replays.map((received) => [received.headers.authorization, received.body.toString()]),
        [
          ['Bearer upstream-token-3', 'p'.repeat(2048)],
          ['Bearer upstream-token-4', 'p'.repeat(2048)],
        ],
      )
      const record = await h.record(post.headers['x-correlation-id'])
      assert.deepEqual([record.status, record.upstreamStatus, record.bytesIn], [200, 200, 2048])
    } finally {
      h.upstream.behaviour = echoBehaviour
    }
  })

  test('only once: an upstream that keeps refusing gets its 401 passed back', async () => {
    h.upstream.behaviour = (_req, res) => {
      res.writeHead(401, { 'www-authenticate': 'Bearer', 'content-length': 0 })
      res.end()
    }
    const start = h.upstream.requests.length
    const fetches = tokenServer.requests.length
    try {
      const result = await h.call('GET', '/http/oauth', { headers: auth })
      assert.equal(result.status, 401)
      assert.equal(h.upstream.requests.length - start, 2)
      assert.equal(tokenServer.requests.length - fetches, 1)
    } finally {
      h.upstream.behaviour = echoBehaviour
    }
  })

  test('a streamed body is never replayed: the 401 passes back and the next call fetches a new token', async () => {
    h.upstream.behaviour = (_req, res) => {
      res.writeHead(401, { 'content-length': 0 })
      res.end()
    }
    const start = h.upstream.requests.length
    const fetches = tokenServer.requests.length
    try {
      const result = await h.call('POST', '/http/oauth-big', {
        headers: auth,
        body: Buffer.alloc(100_000, 'z'),
      })
      assert.equal(result.status, 401)
      assert.equal(h.upstream.requests.length - start, 1)
      assert.equal(h.upstream.requests.at(-1)?.bodyBytes, 100_000)
    } finally {
      h.upstream.behaviour = echoBehaviour
    }
    const refused = h.upstream.requests.at(-1)?.headers.authorization
    assert.equal((await h.call('GET', '/http/oauth', { headers: auth })).status, 200)
    // One fetch for the refused call (the previous test left no valid token), one after its 401.
    assert.equal(tokenServer.requests.length - fetches, 2)
    assert.notEqual(h.upstream.requests.at(-1)?.headers.authorization, refused)
  })

  test('a failing token endpoint gives 502 and nothing reaches the upstream', async () => {
    time += 10 * 60_000
    tokenStatus = 401
    const before = h.upstream.requests.length
    try {
      const result = await h.call('GET', '/http/oauth', { headers: auth })
      assertError(result, 502, {
        error: 'upstream_auth',
        error_description: 'upstream authentication failed',
        code: 'ERR_UPSTREAM_AUTH',
      })
      assert.equal(h.upstream.requests.length, before)
      assert.equal((await h.record(result.headers['x-correlation-id'])).reason, 'ERR_UPSTREAM_AUTH')
    } finally {
      tokenStatus = 200
    }
  })

  test('client-certificate: the upstream sees Flowgate present the connection certificate', async () => {
    const result = await h.call('GET', '/http/mtls', { headers: auth })
    assert.equal(result.status, 200)
    assert.equal(mtlsUpstream.requests.at(-1)?.clientCertificateSubject, 'flowgate-upstream')
    const before = mtlsUpstream.requests.length
    const without = await h.call('GET', '/http/mtls-none', { headers: auth })
    assert.equal(without.status, 502)
    assert.equal(mtlsUpstream.requests.length, before)
  })

  test('no upstream secret or token reaches the log', () => {
    const logs = h.logs()
    for (const secret of [
      basicPassword,
      clientSecret,
      'upstream-token-1',
      'upstream-token-2',
      token,
      'PRIVATE KEY',
    ]) {
      assert.equal(logs.includes(secret), false, secret)
    }
  })
})

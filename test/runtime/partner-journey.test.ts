import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { after, before, describe, test } from 'node:test'
import { Agent, request } from 'undici'
import { loadConfig } from '../../src/config/load.ts'
import { createFlowService } from '../../src/flows/flow-service.ts'
import type { SapServiceKey } from '../../src/identity/identity-service.ts'
import { createLogger } from '../../src/lib/logger.ts'
import { type AccessLog, createAccessLog } from '../../src/runtime/access-log.ts'
import { createFlowProxy, type FlowProxy } from '../../src/runtime/flow-proxy.ts'
import { createSecretBox } from '../../src/secrets/master-key.ts'
import { createContextFactory } from '../../src/server/request-context.ts'
import { type ChangeFeed, createChangeFeed } from '../../src/store/change-feed.ts'
import { type OpenedBackend, storeBackends } from '../helpers/databases.ts'
import { type OAuthHarness, startOAuthHarness, testPublicUrl } from '../helpers/oauth-harness.ts'
import { testPki } from '../helpers/pki.ts'
import { type RecordingUpstream, startRecordingUpstream } from '../helpers/recording-upstream.ts'

const admin = { actor: 'cli', sourceAddress: null }

/**
 * What a partner does, end to end, with the real token service: service key → token → CSRF fetch
 * with HEAD on the trailing-slash URL → POST with the token and the SDK's cookies → the iFlow's
 * answer with SAP_MessageProcessingLogID; then what an administrator does: delete the key, and
 * the very same token is refused on the next call.
 */
describe('partner journey through the token service and the flow proxy', () => {
  let opened: OpenedBackend
  let feed: ChangeFeed
  let oauth: OAuthHarness
  let upstream: RecordingUpstream
  let proxy: FlowProxy
  let accessLog: AccessLog
  let server: Server
  let runtimeUrl: string
  let client: Agent
  let serviceKey: SapServiceKey
  let logText = ''

  before(async () => {
    const pki = await testPki()
    const sqlite = storeBackends().find((backend) => backend.name === 'sqlite')
    opened = await (sqlite as NonNullable<typeof sqlite>).open()
    const logger = createLogger(
      'debug',
      new Writable({
        write(chunk, _encoding, done) {
          logText += chunk.toString()
          done()
        },
      }),
    )
    feed = createChangeFeed(opened.store, { intervalMs: 50, logger })
    await feed.start()
    oauth = await startOAuthHarness(opened.store, { feed })
    upstream = await startRecordingUpstream()

    const dir = mkdtempSync(join(tmpdir(), 'flowgate-journey-'))
    writeFileSync(join(dir, 'ca.pem'), pki.ca.cert)
    const config = loadConfig({
      env: {},
      overrides: { publicUrl: testPublicUrl, dataDir: dir, 'upstream.caFile': join(dir, 'ca.pem') },
    })
    const secretBox = createSecretBox(oauth.masterKey)
    const flows = createFlowService({ store: opened.store, secretBox, config })
    await flows.createFlow(
      { address: '/PurchaseOrders', upstream: `${upstream.origin}/http/purchase-orders` },
      admin,
    )
    await oauth.identity.service.createInstance(
      'acme-erp',
      'integration-flow',
      { roles: ['ESBMessaging.send'], 'grant-types': ['client_credentials'], 'token-validity': 3600 },
      admin,
    )
    serviceKey = await oauth.identity.service.createServiceKey('acme-erp', 'key-1', {}, admin)

    accessLog = createAccessLog({
      store: opened.store,
      batchSize: 100,
      flushIntervalMs: 60_000,
      maxBuffered: 1000,
      logger,
    })
    proxy = createFlowProxy({
      config,
      store: opened.store,
      feed,
      authenticator: oauth.identity.authenticator,
      secretBox,
      csrfKey: oauth.masterKey.derive('csrf'),
      accessLog,
      logger,
      now: oauth.clock.now,
    })
    await proxy.start()
    const context = createContextFactory([])
    server = createServer({ cert: pki.server.cert, key: pki.server.key }, (req, res) =>
      proxy.handle(req, res, context(req)),
    )
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    runtimeUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}`
    client = new Agent({ connect: { ca: pki.ca.cert } })
  })

  after(async () => {
    await client.close()
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
    await proxy.close()
    await accessLog.close()
    await oauth.close()
    await feed.stop()
    await upstream.close()
    await opened.drop()
  })

  test('token, CSRF fetch, POST; then the deleted key’s token is refused on the next call', async () => {
    const { clientid, clientsecret } = serviceKey.oauth
    const tokenResponse = await oauth.request('/oauth/token?grant_type=client_credentials', {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${clientid}:${clientsecret}`).toString('base64')}` },
    })
    assert.equal(tokenResponse.status, 200)
    const accessToken = (tokenResponse.json() as { access_token: string }).access_token

    const fetched = await request(`${runtimeUrl}/http/PurchaseOrders/`, {
      dispatcher: client,
      method: 'HEAD',
      headers: { authorization: `Bearer ${accessToken}`, 'x-csrf-token': 'Fetch' },
    })
    await fetched.body.dump()
    assert.equal(fetched.statusCode, 200)
    const csrfToken = fetched.headers['x-csrf-token'] as string
    assert.match(csrfToken, /^[A-Za-z0-9_-]{54}$/)
    assert.equal(upstream.requests.length, 0)

    const order = '<PurchaseOrder><Id>4711</Id></PurchaseOrder>'
    const posted = await request(`${runtimeUrl}/http/PurchaseOrders`, {
      dispatcher: client,
      method: 'POST',
      headers: {
        authorization: `Bearer ${accessToken}`,
        'x-csrf-token': csrfToken,
        cookie: 'JSESSIONID=1;__VCAP_ID__=2',
        'content-type': 'application/xml',
      },
      body: order,
    })
    assert.equal(posted.statusCode, 200)
    assert.equal(posted.headers.sap_messageprocessinglogid, 'AGVfDkmDx4bqZ0tY1l9lq3zN1Xxq')
    assert.deepEqual(await posted.body.json(), {
      method: 'POST',
      url: '/http/purchase-orders',
      bodyBytes: Buffer.byteLength(order),
    })
    const received = upstream.requests[0]
    assert.equal(received?.body.toString(), order)
    assert.equal(received?.headers['x-flowgate-client-id'], clientid)
    assert.equal(received?.headers['x-flowgate-instance'], 'acme-erp')
    assert.equal(received?.headers['x-flowgate-roles'], 'ESBMessaging.send')
    assert.equal(received?.headers.authorization, undefined)
    assert.equal(received?.headers.cookie, undefined)

    await oauth.identity.service.deleteServiceKey('acme-erp', 'key-1', admin)
    await feed.poke()
    const refused = await request(`${runtimeUrl}/http/PurchaseOrders`, {
      dispatcher: client,
      method: 'POST',
      headers: { authorization: `Bearer ${accessToken}`, 'x-csrf-token': csrfToken },
      body: order,
    })
    assert.equal(refused.statusCode, 401)
    assert.match(
      refused.headers['www-authenticate'] as string,
      /^Bearer realm="flowgate", error="invalid_token"/,
    )
    const body = (await refused.body.json()) as Record<string, unknown>
    assert.equal(body.error, 'invalid_token')
    assert.equal(upstream.requests.length, 1, 'nothing more reached the upstream')
    assert.equal(logText.includes(accessToken), false)
    assert.equal(logText.includes(clientsecret), false)
  })
})

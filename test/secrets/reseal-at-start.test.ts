import assert from 'node:assert/strict'
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { request } from 'undici'
import {
  connectionSecretPlace,
  createSecretBox,
  masterKeyFromBytes,
  signingKeyPlace,
} from '../../src/secrets/master-key.ts'
import { openStore } from '../../src/store/open-store.ts'
import { createPostgresDatabase, dropPostgresDatabase, postgresDatabaseUrl } from '../helpers/databases.ts'
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { startRecordingUpstream } from '../helpers/recording-upstream.ts'
import { sealV1 } from './legacy-seal.ts'

const admin = { actor: 'admin-test', sourceAddress: null }

/**
 * A gateway upgraded over a store an earlier release wrote: every secret is still `v1`. The new
 * gateway seals them again at start, before its key ring opens the signing key, and a partner's
 * call reaches the upstream with the connection's credentials.
 */
for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`a gateway started over v1 secrets (${backend})`, () => {
    test('re-seals them once at start: tokens are signed, the upstream gets its credentials', async (t) => {
      const upstream = await startRecordingUpstream()
      t.after(() => upstream.close())
      const database = backend === 'postgres' ? await createPostgresDatabase() : undefined
      const url = database === undefined ? '' : postgresDatabaseUrl(database)
      if (database !== undefined) t.after(() => dropPostgresDatabase(database))

      // The first run writes the master key, the signing keys, a connection and a flow.
      const first = await startTestGateway({ 'store.url': url })
      const dataDir = first.dataDir
      t.after(() => rmSync(dataDir, { recursive: true, force: true }))
      await first.gateway.flows.createConnection(
        { name: 'cpi', type: 'basic', username: 'flowgate', password: 'cpi-pa55word' },
        admin,
      )
      await first.gateway.flows.createFlow(
        { address: '/orders', upstream: `${upstream.origin}/http/orders`, connection: 'cpi', csrf: false },
        admin,
      )
      await first.gateway.identity.createInstance('partner', 'integration-flow', {}, admin)
      const key = await first.gateway.identity.createServiceKey('partner', 'k1', {}, admin)
      await first.dispatcher.close()
      await first.gateway.close()

      // Turn every sealed value back into what an earlier release wrote.
      const masterKey = masterKeyFromBytes(
        Buffer.from(readFileSync(join(dataDir, 'master.key'), 'utf8'), 'base64'),
      )
      const box = createSecretBox(masterKey)
      const store = await openStore({ url, dataDir })
      try {
        const connection = await store.getConnection('cpi')
        const plaintext = box.open(connection?.secretEncrypted as string, connectionSecretPlace('cpi'))
        await store.updateConnection({ ...connection!, secretEncrypted: sealV1(masterKey, plaintext) })
        for (const signing of await store.listSigningKeys()) {
          const pem = box.open(signing.privateKeyEncrypted, signingKeyPlace(signing.kid))
          await store.updateSigningKey({ ...signing, privateKeyEncrypted: sealV1(masterKey, pem) })
        }
      } finally {
        await store.close()
      }

      let second: TestGateway | undefined
      try {
        second = await startTestGateway({ dataDir, 'store.url': url })
        const runtime = second.gateway.runtimeUrl
        const credentials = Buffer.from(`${key.oauth.clientid}:${key.oauth.clientsecret}`).toString('base64')
        const issued = await request(`${runtime}/oauth/token?grant_type=client_credentials`, {
          method: 'POST',
          headers: { authorization: `Basic ${credentials}` },
          dispatcher: second.dispatcher,
        })
        assert.equal(issued.statusCode, 200)
        const { access_token: token } = (await issued.body.json()) as { access_token: string }
        const call = await request(`${runtime}/http/orders`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: '{}',
          dispatcher: second.dispatcher,
        })
        assert.equal(call.statusCode, 200)
        assert.deepEqual(await call.body.json(), { method: 'POST', url: '/http/orders', bodyBytes: 2 })
        assert.equal(upstream.requests.length, 1)
        assert.equal(
          upstream.requests[0]?.headers.authorization,
          `Basic ${Buffer.from('flowgate:cpi-pa55word').toString('base64')}`,
        )

        const check = await openStore({ url, dataDir })
        try {
          const connection = await check.getConnection('cpi')
          assert.match(connection?.secretEncrypted as string, /^v2\./)
          const kids = (await check.listSigningKeys()).map((signing) => {
            assert.match(signing.privateKeyEncrypted, /^v2\./)
            return signing.kid
          })
          const events = (await check.listAuditEvents({ action: 'secrets.reseal', limit: 10 })).items
          assert.equal(events.length, 1)
          assert.deepEqual(events[0]?.after, { connections: ['cpi'], signingKeys: kids })
        } finally {
          await check.close()
        }
        const logs = second.logs.join('')
        assert.ok(logs.includes('secrets at rest sealed again'))
        assert.ok(!logs.includes('cpi-pa55word') && !logs.includes(token))
      } finally {
        await second?.dispatcher.close()
        await second?.gateway.close()
      }
    })
  })
}

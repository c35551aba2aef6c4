import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { request } from 'undici'
import type { AccessRecord } from '../../src/store/types.ts'
import { clientCredentialsToken } from '../helpers/client-credentials.ts'
import { storeBackends } from '../helpers/databases.ts'
import { startTestGateway } from '../helpers/gateway.ts'
import { startTestSimulator } from '../helpers/simulator.ts'

describe('gateway shutdown and access records', () => {
  for (const backend of storeBackends()) {
    test(`the record of a call in flight at close() is written before close() resolves (${backend.name})`, async (t) => {
      const cpi = await startTestSimulator({ auth: 'none' })
      t.after(() => cpi.close())
      cpi.setBehaviour('/slow', { delayMs: 300 })
      const opened = await backend.open()
      t.after(() => opened.drop())
      // No timer flush: only the shutdown path can write the record.
      const env = await startTestGateway({
        dataDir: opened.dataDir,
        'store.url': opened.url,
        'accessLog.flushIntervalMs': 600_000,
      })
      const { identity, flows } = env.gateway
      const admin = { actor: 'test', sourceAddress: null }
      await flows.createFlow({ address: '/slow', upstream: `${cpi.url}/http/slow`, csrf: false }, admin)
      const instance = await identity.createInstance(
        'partner',
        'integration-flow',
        { roles: ['ESBMessaging.send'] },
        admin,
      )
      const key = await identity.createServiceKey('partner', 'k1', {}, admin)
      const token = await clientCredentialsToken(`${env.gateway.runtimeUrl}/oauth/token`, key, env.dispatcher)

      const inFlight = request(`${env.gateway.runtimeUrl}/http/slow`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body: 'order',
        dispatcher: env.dispatcher,
      })
      await cpi.waitForRequest((r) => r.path === '/http/slow')
      const closed = env.close()
      const response = await inFlight
      const body = await response.body.text()
      assert.equal(response.statusCode, 200)
      await closed

      assert.equal(typeof response.headers.sap_messageprocessinglogid, 'string')
      const page = await opened.store.queryAccessRecords({ limit: 10, flow: '/slow' })
      assert.equal(page.items.length, 1)
      const record = page.items[0] as AccessRecord
      assert.ok(record.durationMs >= 300 && (record.upstreamDurationMs ?? 0) >= 300)
      assert.deepEqual(
        { ...record, time: 0, durationMs: 0, upstreamDurationMs: 0 },
        {
          time: 0,
          correlationId: response.headers['x-correlation-id'],
          clientId: key.oauth.clientid,
          instanceId: instance.id,
          flow: '/slow',
          method: 'POST',
          path: '/http/slow',
          status: 200,
          upstreamStatus: 200,
          bytesIn: 5,
          bytesOut: Buffer.byteLength(body),
          durationMs: 0,
          upstreamDurationMs: 0,
          reason: null,
          sourceAddress: '127.0.0.1',
          // CPI's message-processing-log id, as the partner received it.
          mplId: response.headers.sap_messageprocessinglogid,
        },
      )
      assert.ok(
        env.logs.every((line) => !line.includes('access-record worker')),
        'the worker closed without errors',
      )
    })

    test(`the admin API reads access records through the worker; a bad cursor keeps its message (${backend.name})`, async (t) => {
      const cpi = await startTestSimulator({ auth: 'none' })
      t.after(() => cpi.close())
      const opened = await backend.open()
      t.after(() => opened.drop())
      const env = await startTestGateway({ dataDir: opened.dataDir, 'store.url': opened.url })
      t.after(() => env.close())
      const { identity, flows } = env.gateway
      const admin = { actor: 'test', sourceAddress: null }
      await flows.createFlow({ address: '/orders', upstream: `${cpi.url}/http/orders`, csrf: false }, admin)
      await identity.createInstance('partner', 'integration-flow', { roles: ['ESBMessaging.send'] }, admin)
      await identity.createInstance('ops', 'api', { roles: ['Flowgate.Viewer'] }, admin)
      const tokenOf = async (instance: string) =>
        clientCredentialsToken(
          `${env.gateway.runtimeUrl}/oauth/token`,
          await identity.createServiceKey(instance, 'k1', {}, admin),
          env.dispatcher,
        )
      const partner = await tokenOf('partner')
      const operator = await tokenOf('ops')
      const correlationIds: string[] = []
      for (let n = 0; n < 3; n++) {
        const answer = await request(`${env.gateway.runtimeUrl}/http/orders`, {
          method: 'POST',
          headers: { authorization: `Bearer ${partner}` },
          body: `order ${n}`,
          dispatcher: env.dispatcher,
        })
        await answer.body.dump()
        assert.equal(answer.statusCode, 200)
        correlationIds.push(answer.headers['x-correlation-id'] as string)
      }
      await env.gateway.accessLog.flush()

      const read = async (query: string) => {
        const answer = await request(`${env.gateway.adminUrl}/admin/v1/access-records?${query}`, {
          headers: { authorization: `Bearer ${operator}` },
          dispatcher: env.dispatcher,
        })
        return { status: answer.statusCode, body: (await answer.body.json()) as Record<string, unknown> }
      }
      const page = await read('flow=/orders&limit=10')
      assert.equal(page.status, 200)
      assert.deepEqual(
        (page.body.items as { correlationId: string }[]).map((item) => item.correlationId),
        [...correlationIds].reverse(),
      )
      assert.equal(page.body.next, null)
      const refused = await read('cursor=not-a-cursor')
      assert.deepEqual(refused, {
        status: 400,
        body: {
          error: 'validation',
          error_description: 'invalid cursor',
          code: 'ERR_VALIDATION',
          correlation_id: refused.body.correlation_id,
        },
      })
    })
  }
})

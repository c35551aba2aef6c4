import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { request } from 'undici'
import type { SapServiceKey } from '../../src/identity/identity-service.ts'
import { FlowgateError } from '../../src/lib/errors.ts'
import { capturedLogger } from '../helpers/captured-logger.ts'
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { type RecordingUpstream, startRecordingUpstream } from '../helpers/recording-upstream.ts'

const admin = { actor: 'admin-test', sourceAddress: null }

function basic(key: SapServiceKey, secret = key.oauth.clientsecret): string {
  return `Basic ${Buffer.from(`${key.oauth.clientid}:${secret}`).toString('base64')}`
}

describe('expected refusals are logged at info without a stack, never with a token', () => {
  let env: TestGateway
  let upstream: RecordingUpstream
  let partner: SapServiceKey
  let viewer: SapServiceKey

  before(async () => {
    upstream = await startRecordingUpstream()
    env = await startTestGateway()
    const { identity, flows } = env.gateway
    await flows.createFlow({ address: '/orders', upstream: `${upstream.origin}/http/orders` }, admin)
    await identity.createRole('Orders.admin', null, admin)
    await flows.createFlow(
      { address: '/admin-only', upstream: `${upstream.origin}/http/x`, role: 'Orders.admin', csrf: false },
      admin,
    )
    await identity.createInstance('partner', 'integration-flow', {}, admin)
    partner = await identity.createServiceKey('partner', 'k1', {}, admin)
    await identity.createInstance('viewers', 'api', { roles: ['Flowgate.Viewer'] }, admin)
    viewer = await identity.createServiceKey('viewers', 'k1', {}, admin)
  })
  after(async () => {
    await env?.close()
    await upstream?.close()
  })

  async function tokenOf(key: SapServiceKey): Promise<string> {
    const response = await request(`${env.gateway.runtimeUrl}/oauth/token?grant_type=client_credentials`, {
      method: 'POST',
      headers: { authorization: basic(key) },
      dispatcher: env.dispatcher,
    })
    assert.equal(response.statusCode, 200)
    return ((await response.body.json()) as { access_token: string }).access_token
  }

  async function send(
    url: string,
    init: { method?: string; headers?: Record<string, string>; body?: string },
  ): Promise<{ status: number; correlationId: string; body: unknown }> {
    const response = await request(url, { ...init, dispatcher: env.dispatcher } as Parameters<
      typeof request
    >[1])
    return {
      status: response.statusCode,
      correlationId: String(response.headers['x-correlation-id']),
      body: await response.body.json(),
    }
  }

  test('token service, admin API and runtime refusals', async () => {
    const runtime = env.gateway.runtimeUrl
    const partnerToken = await tokenOf(partner)
    const viewerToken = await tokenOf(viewer)
    const forged = `${partnerToken.slice(0, -4)}AAAA`
    const linesBefore = env.logs.length

    const refusals = [
      // Bad client credentials at the token endpoint.
      await send(`${runtime}/oauth/token?grant_type=client_credentials`, {
        method: 'POST',
        headers: { authorization: basic(partner, 'wrong-secret') },
      }),
      // An invalid token at the admin API.
      await send(`${env.gateway.adminUrl}/admin/v1/roles`, {
        headers: { authorization: `Bearer ${forged}` },
      }),
      // A token without the role the admin operation needs.
      await send(`${env.gateway.adminUrl}/admin/v1/roles`, {
        method: 'POST',
        headers: { authorization: `Bearer ${viewerToken}`, 'content-type': 'application/json' },
        body: '{"name":"X.y"}',
      }),
      // Runtime: an invalid token, a missing role, a missing CSRF token.
      await send(`${runtime}/http/orders`, {
        method: 'POST',
        headers: { authorization: `Bearer ${forged}` },
      }),
      await send(`${runtime}/http/admin-only`, {
        method: 'POST',
        headers: { authorization: `Bearer ${partnerToken}` },
      }),
      await send(`${runtime}/http/orders`, {
        method: 'POST',
        headers: { authorization: `Bearer ${partnerToken}` },
      }),
    ]
    assert.deepEqual(
      refusals.map(({ status, body }) => [status, (body as { code: string }).code]),
      [
        [401, 'ERR_OAUTH_INVALID_CLIENT'],
        [401, 'ERR_TOKEN_INVALID'],
        [403, 'ERR_FORBIDDEN'],
        [401, 'ERR_TOKEN_INVALID'],
        [403, 'ERR_INSUFFICIENT_SCOPE'],
        [403, 'ERR_CSRF_REQUIRED'],
      ],
    )
    assert.equal(upstream.requests.length, 0, 'nothing reached the upstream')

    const lines = env.logs.slice(linesBefore).map((line) => JSON.parse(line) as Record<string, unknown>)
    const byCorrelation = (id: string) => lines.filter((line) => line.correlationId === id)
    const [tokenRefusal, invalidAdminToken, missingAdminRole] = refusals
      .slice(0, 3)
      .map((refusal): Record<string, unknown> => {
        const logged = byCorrelation(refusal.correlationId)
        assert.equal(logged.length, 1, `one line for ${refusal.correlationId}`)
        return logged[0] as Record<string, unknown>
      }) as [Record<string, unknown>, Record<string, unknown>, Record<string, unknown>]
    assert.deepEqual(tokenRefusal.err, {
      code: 'ERR_OAUTH_INVALID_CLIENT',
      status: 401,
      description: 'client authentication failed',
      detail: 'wrong client secret',
    })
    assert.deepEqual(
      [tokenRefusal, invalidAdminToken, missingAdminRole].map((line) => {
        const { detail: _detail, ...err } = line.err as Record<string, unknown>
        return { level: line.level, msg: line.msg, err }
      }),
      [
        {
          level: 30,
          msg: 'token request refused',
          err: { code: 'ERR_OAUTH_INVALID_CLIENT', status: 401, description: 'client authentication failed' },
        },
        {
          level: 30,
          msg: 'admin request refused',
          err: { code: 'ERR_TOKEN_INVALID', status: 401, description: 'invalid token' },
        },
        {
          level: 30,
          msg: 'admin request refused',
          err: {
            code: 'ERR_FORBIDDEN',
            status: 403,
            description: 'forbidden: changes need the Flowgate.Admin role',
          },
        },
      ],
    )
    // Runtime refusals have their access record; they add no log line.
    for (const refusal of refusals.slice(3)) assert.deepEqual(byCorrelation(refusal.correlationId), [])

    const text = env.logs.join('')
    assert.ok(!text.includes('"stack"'), 'no stack anywhere')
    for (const secret of [
      partnerToken,
      viewerToken,
      forged,
      partner.oauth.clientsecret,
      viewer.oauth.clientsecret,
    ]) {
      assert.ok(!text.includes(secret))
    }
    assert.ok(!text.includes('eyJ'), 'no JWT, nor a part of one')
  })

  test('an unexpected failure keeps its stack and cause; a refusal never has one', () => {
    const { logger, lines } = capturedLogger()
    logger.info({ err: new FlowgateError('ERR_CSRF_REQUIRED', { cause: new Error('inner') }) }, 'refused')
    logger.error({ err: new FlowgateError('ERR_INTERNAL', { cause: new Error('disk full') }) }, 'failed')
    logger.error({ err: new TypeError('a bug') }, 'failed')
    const [refused, internal, bug] = lines() as [
      Record<string, Record<string, unknown>>,
      Record<string, Record<string, unknown>>,
      Record<string, Record<string, unknown>>,
    ]
    assert.deepEqual(refused.err, {
      code: 'ERR_CSRF_REQUIRED',
      status: 403,
      description: 'CSRF token validation failed',
    })
    assert.match(
      String(internal.err?.stack),
      /^FlowgateError: internal error\n[\s\S]*caused by: Error: disk full/,
    )
    assert.equal(internal.err?.code, 'ERR_INTERNAL')
    assert.match(String(bug.err?.stack), /^TypeError: a bug\n/)
  })
})

import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { FlowgateError } from '../../src/lib/errors.ts'
import { createLogger } from '../../src/lib/logger.ts'
import { createChangeFeed } from '../../src/store/change-feed.ts'
import { type OpenedBackend, storeBackends } from '../helpers/databases.ts'
import { type OAuthHarness, startOAuthHarness, testClock, testPublicUrl } from '../helpers/oauth-harness.ts'

const actor = { actor: 'admin-1', sourceAddress: '192.0.2.1' }

async function failure(run: () => Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await run()
  } catch (error) {
    assert.ok(error instanceof FlowgateError, String(error))
    return { code: error.code, message: error.message }
  }
  assert.fail('expected a FlowgateError')
}

for (const backendType of storeBackends()) {
  describe(`identity service (${backendType.name})`, () => {
    let backend: OpenedBackend
    const clock = testClock()
    let node: OAuthHarness

    before(async () => {
      backend = await backendType.open()
      node = await startOAuthHarness(backend.store, { clock })
    })
    after(async () => {
      await node.close()
      await backend.drop()
    })

    const service = () => node.identity.service

    test('roles: built-ins exist, custom ones are created and deleted, built-ins and used ones stay', async () => {
      const names = (await service().listRoles()).map((role) => role.name)
      for (const builtIn of ['ESBMessaging.send', 'Flowgate.Admin', 'Flowgate.Viewer'])
        assert.ok(names.includes(builtIn))
      await service().createRole('Orders.read', 'read orders', actor)
      assert.deepEqual(await failure(() => service().createRole('Orders.read', null, actor)), {
        code: 'ERR_ALREADY_EXISTS',
        message: 'role "Orders.read" already exists',
      })
      assert.deepEqual(await failure(() => service().createRole('Flowgate.Super', null, actor)), {
        code: 'ERR_INVALID_ROLE_NAME',
        message: `role names starting with "Flowgate." are reserved for Flowgate's admin API`,
      })
      assert.deepEqual(await failure(() => service().createRole('bad name', null, actor)), {
        code: 'ERR_INVALID_ROLE_NAME',
        message: 'invalid role name: 1 to 100 letters, digits, "_" and "."',
      })
      assert.deepEqual(await failure(() => service().deleteRole('ESBMessaging.send', actor)), {
        code: 'ERR_ROLE_BUILT_IN',
        message: 'role "ESBMessaging.send" is built in',
      })
      await service().createInstance('uses-role', 'integration-flow', { roles: ['Orders.read'] }, actor)
      assert.equal((await failure(() => service().deleteRole('Orders.read', actor))).code, 'ERR_ROLE_IN_USE')
      await service().deleteInstance('uses-role', actor)
      await service().deleteRole('Orders.read', actor)
      const events = (await backend.store.listAuditEvents({ actor: 'admin-1', limit: 100 })).items
      assert.deepEqual(
        events
          .filter((event) => event.action.startsWith('role.'))
          .map((event) => [event.action, event.target]),
        [
          ['role.create', 'role:Orders.read'],
          ['role.delete', 'role:Orders.read'],
        ],
      )
    })

    test('instances: unknown roles, duplicates and plan rules are refused; nothing half-written', async () => {
      assert.deepEqual(
        await failure(() =>
          service().createInstance('p1', 'integration-flow', { roles: ['Nope.role'] }, actor),
        ),
        { code: 'ERR_UNKNOWN_ROLE', message: 'unknown role "Nope.role": create it first' },
      )
      assert.equal(await backend.store.getInstanceByName('p1'), undefined)
      assert.equal(
        (await failure(() => service().createInstance('p1', 'api', { roles: ['ESBMessaging.send'] }, actor)))
          .code,
        'ERR_ROLE_NOT_ALLOWED_FOR_PLAN',
      )
      const admin = await service().createInstance('admin-api', 'api', { roles: ['Flowgate.Admin'] }, actor)
      assert.equal(admin.plan, 'api')
      assert.deepEqual(
        await failure(() =>
          service().createInstance('admin-api', 'api', { roles: ['Flowgate.Viewer'] }, actor),
        ),
        {
          code: 'ERR_ALREADY_EXISTS',
          message: 'instance "admin-api" already exists',
        },
      )
      assert.deepEqual(await failure(() => service().getInstance('missing')), {
        code: 'ERR_NOT_FOUND',
        message: 'instance not found',
      })
    })

    test('service keys: SAP JSON once, listed without secrets, audited without secrets', async () => {
      await service().createInstance('partner', 'integration-flow', { 'token-validity': 600 }, actor)
      const instance = await service().getInstance('partner')
      const created = await service().createServiceKey('partner', 'k1', { validity: 30 }, actor)
      assert.deepEqual(Object.keys(created), ['oauth'])
      assert.deepEqual(Object.keys(created.oauth), [
        'clientid',
        'clientsecret',
        'url',
        'createdate',
        'tokenurl',
      ])
      assert.match(created.oauth.clientid, new RegExp(`^sb-${instance.id}!b\\d+\\|it-rt-flowgate!b1$`))
      assert.match(created.oauth.clientsecret, /^[A-Za-z0-9_-]{43}$/)
      assert.equal(created.oauth.url, testPublicUrl)
      assert.equal(created.oauth.tokenurl, `${testPublicUrl}/oauth/token`)
      assert.equal(created.oauth.createdate, new Date(clock.now()).toISOString())
      const second = await service().createServiceKey('partner', 'k2', {}, actor)
      assert.notEqual(second.oauth.clientid, created.oauth.clientid, 'every key has its own client id')

      const listed = await service().listServiceKeys('partner')
      assert.deepEqual(listed[0], {
        name: 'k1',
        instanceName: 'partner',
        clientId: created.oauth.clientid,
        keyType: 'clientsecret',
        secretPrefix: created.oauth.clientsecret.slice(0, 6),
        createdAt: clock.now(),
        expiresAt: clock.now() + 30 * 86_400_000,
        expired: false,
        rotation: null,
      })
      const stored = await backend.store.getServiceKeyByClientId(created.oauth.clientid)
      assert.notEqual(stored?.secretHash, created.oauth.clientsecret)
      assert.equal(stored?.secretHash?.length, 64)
      const trail = JSON.stringify((await backend.store.listAuditEvents({ limit: 1000 })).items)
      assert.ok(!trail.includes(created.oauth.clientsecret), 'no secret in the audit trail')
      assert.ok(!trail.includes(stored?.secretHash as string), 'no secret hash in the audit trail')
    })

    test('rotation keeps the previous secret until the chosen time; 0 ends it at once', async () => {
      const before = (await service().listServiceKeys('partner'))[0]
      const rotated = await service().rotateServiceKey(
        'partner',
        'k1',
        { previousValidForSeconds: 3600 },
        actor,
      )
      const listed = (await service().listServiceKeys('partner'))[0]
      assert.equal(listed?.secretPrefix, rotated.oauth.clientsecret.slice(0, 6))
      assert.deepEqual(listed?.rotation, {
        previousSecretPrefix: before?.secretPrefix,
        validUntil: clock.now() + 3_600_000,
      })
      const key = await backend.store.getServiceKeyByName((await service().getInstance('partner')).id, 'k1')
      assert.equal(node.identity.index.client(rotated.oauth.clientid)?.key.secretHash, key?.secretHash)
      await service().rotateServiceKey('partner', 'k1', { previousValidForSeconds: 0 }, actor)
      assert.equal((await service().listServiceKeys('partner'))[0]?.rotation, null)
      assert.deepEqual(
        await failure(() =>
          service().rotateServiceKey('partner', 'k1', { previousValidForSeconds: -1 }, actor),
        ),
        { code: 'ERR_VALIDATION', message: "the previous secret's validity must be 0 to 2592000 seconds" },
      )
    })

    test('changes reach another node through the change feed', async () => {
      const feed = createChangeFeed(backend.store, { intervalMs: 60_000, logger: createLogger('silent') })
      const other = await startOAuthHarness(backend.store, { clock, feed })
      await feed.start()
      try {
        const key = await service().createServiceKey('partner', 'k3', {}, actor)
        const entry = node.identity.index.client(key.oauth.clientid)!
        const { accessToken, jti, exp } = await node.identity.issuer.issue({
          ...entry,
          roles: ['ESBMessaging.send'],
        })
        await assert.rejects(async () => other.identity.authenticator.authenticate(accessToken))
        await feed.poke()
        assert.equal((await other.identity.authenticator.authenticate(accessToken)).jti, jti)

        await service().revokeToken({ jti, clientId: key.oauth.clientid, exp }, actor)
        // Not yet polled: the other node still accepts the token.
        assert.equal((await other.identity.authenticator.authenticate(accessToken)).jti, jti)
        await feed.poke()
        assert.deepEqual(await failure(async () => other.identity.authenticator.authenticate(accessToken)), {
          code: 'ERR_TOKEN_REVOKED',
          message: 'invalid token',
        })

        await service().updateInstance('partner', { roles: [] }, actor)
        await feed.poke()
        assert.deepEqual(other.identity.index.client(key.oauth.clientid)?.instance.parameters.roles, [])

        await service().deleteInstance('partner', actor)
        await feed.poke()
        assert.equal(other.identity.index.client(key.oauth.clientid), undefined)
        const deleted = (
          await backend.store.listAuditEvents({ action: 'instance.delete', limit: 10 })
        ).items.at(-1)
        const deletedKeys = (deleted?.before as { serviceKeys?: Array<{ name: string }> } | undefined)
          ?.serviceKeys
        assert.deepEqual(deletedKeys?.map((k) => k.name).sort(), ['k1', 'k2', 'k3'])
      } finally {
        await feed.stop()
        await other.close()
      }
    })
  })
}

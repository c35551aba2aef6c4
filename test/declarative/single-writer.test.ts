import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { AuditEvent } from '../../src/store/types.ts'
import { type CliHarness, startCliHarness } from '../cli/cli-harness.ts'

/**
 * The same changes made through the admin API, the CLI and declarative apply write the same audit
 * events: the identity and flow services are the only writers, whichever way a change arrives.
 */

const upstream = 'https://cpi.example.test/http/orders'
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const entityActions = /^(role|connection|flow|instance)\./

/** Time, actor, sequence and hash fields differ by construction; generated ids too. */
function comparable(value: unknown): unknown {
  if (typeof value === 'string') return uuid.test(value) ? '<uuid>' : value
  if (Array.isArray(value)) return value.map(comparable)
  if (value === null || typeof value !== 'object') return value
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [
      key,
      key === 'createdAt' || key === 'updatedAt' ? '<time>' : comparable(item),
    ]),
  )
}

async function entityEvents(cli: CliHarness, afterSeq: number): Promise<unknown[]> {
  const { items } = await cli.harness.store.listAuditEvents({ afterSeq, limit: 1000 })
  return items
    .filter((event) => entityActions.test(event.action))
    .map(
      ({ seq: _seq, time: _time, actor: _actor, sourceAddress: _source, prevHash: _p, hash: _h, ...rest }) =>
        comparable(rest),
    )
}

async function latestSeq(cli: CliHarness): Promise<number> {
  const { items } = await cli.harness.store.listAuditEvents({ limit: 1000 })
  return (items.at(-1) as AuditEvent).seq
}

async function adminToken(cli: CliHarness): Promise<string> {
  return (await cli.harness.token('operators', 'api', ['Flowgate.Admin'])).token
}

describe('one writer per entity: admin API, CLI and apply write the same audit events', () => {
  const harnesses: CliHarness[] = []
  const events: Record<'api' | 'cli' | 'apply', unknown[]> = { api: [], cli: [], apply: [] }

  before(async () => {
    for (let i = 0; i < 3; i++) harnesses.push(await startCliHarness())
  })
  after(async () => {
    for (const cli of harnesses) await cli.close()
  })

  test('admin API', async () => {
    const cli = harnesses[0] as CliHarness
    const token = await adminToken(cli)
    const from = await latestSeq(cli)
    const call = async (method: string, path: string, body?: unknown) => {
      const response = await cli.harness.call(method, path, {
        token,
        ...(body === undefined ? {} : { body }),
      })
      assert.ok(response.status < 300, `${method} ${path}: ${response.status} ${response.text}`)
    }
    await call('POST', '/admin/v1/roles', { name: 'Partner.Orders', description: 'orders' })
    await call('POST', '/admin/v1/connections', {
      name: 'cpi',
      type: 'basic',
      username: 'svc-user',
      password: 'first-password',
    })
    await call('POST', '/admin/v1/flows', {
      address: '/orders',
      upstream,
      role: 'Partner.Orders',
      methods: ['POST', 'PUT'],
      connection: 'cpi',
    })
    await call('POST', '/admin/v1/instances', {
      name: 'acme',
      parameters: { roles: ['Partner.Orders'], 'token-validity': 900 },
    })
    await call('PUT', '/admin/v1/connections/cpi', {
      type: 'basic',
      username: 'svc-user',
      password: 'second-password',
    })
    await call('PATCH', '/admin/v1/flows/orders', { csrf: false })
    await call('PATCH', '/admin/v1/instances/acme', { parameters: { 'token-validity': 1200 } })
    await call('DELETE', '/admin/v1/flows/orders')
    await call('DELETE', '/admin/v1/instances/acme')
    await call('DELETE', '/admin/v1/connections/cpi')
    await call('DELETE', '/admin/v1/roles/Partner.Orders')
    events.api = await entityEvents(cli, from)
  })

  test('CLI', async () => {
    const cli = harnesses[1] as CliHarness
    const from = await latestSeq(cli)
    const run = async (argv: string[], env: Record<string, string> = {}) => {
      const result = await cli.run(argv, env)
      assert.equal(result.code, 0, `${argv.join(' ')}: ${result.stderr}`)
    }
    await run(['role', 'create', 'Partner.Orders', '--description', 'orders'])
    await run(['connection', 'create', 'cpi', '--username', 'svc-user', '--password-env', 'CPI_PASSWORD'], {
      CPI_PASSWORD: 'first-password',
    })
    await run([
      'flow',
      'create',
      '/orders',
      '--upstream',
      upstream,
      '--role',
      'Partner.Orders',
      '--methods',
      'POST,PUT',
      '--connection',
      'cpi',
    ])
    await run(['instance', 'create', 'acme', '-c', '{"roles":["Partner.Orders"],"token-validity":900}'])
    await run(['connection', 'update', 'cpi', '--username', 'svc-user', '--password-env', 'CPI_PASSWORD'], {
      CPI_PASSWORD: 'second-password',
    })
    await run(['flow', 'update', '/orders', '--no-csrf'])
    await run(['instance', 'update', 'acme', '-c', '{"token-validity":1200}'])
    await run(['flow', 'delete', '/orders'])
    await run(['instance', 'delete', 'acme'])
    await run(['connection', 'delete', 'cpi'])
    await run(['role', 'delete', 'Partner.Orders'])
    events.cli = await entityEvents(cli, from)
  })

  test('declarative apply', async () => {
    const cli = harnesses[2] as CliHarness
    const token = await adminToken(cli)
    const from = await latestSeq(cli)
    const apply = async (document: unknown, prune = false) => {
      const response = await cli.harness.call('POST', '/admin/v1/configuration/apply', {
        token,
        body: { document, prune },
      })
      assert.equal(response.status, 200, response.text)
    }
    const document = (password: string, csrf: boolean, tokenValidity: number) => ({
      roles: [{ name: 'Partner.Orders', description: 'orders' }],
      connections: [{ name: 'cpi', type: 'basic', username: 'svc-user', password }],
      flows: [
        {
          address: '/orders',
          upstream,
          role: 'Partner.Orders',
          methods: ['POST', 'PUT'],
          connection: 'cpi',
          csrf,
        },
      ],
      instances: [
        { name: 'acme', parameters: { roles: ['Partner.Orders'], 'token-validity': tokenValidity } },
      ],
    })
    await apply(document('first-password', true, 900))
    await apply(document('second-password', false, 1200))
    await apply({}, true)
    events.apply = await entityEvents(cli, from)
  })

  test('the three paths wrote the same events', () => {
    assert.deepEqual(
      events.api.map((event) => (event as AuditEvent).action),
      [
        'role.create',
        'connection.create',
        'flow.create',
        'instance.create',
        'connection.update',
        'flow.update',
        'instance.update',
        'flow.delete',
        'instance.delete',
        'connection.delete',
        'role.delete',
      ],
    )
    assert.deepEqual(events.cli, events.api)
    assert.deepEqual(events.apply, events.api)
    assert.equal(JSON.stringify(events).includes('password'), false)
  })
})

import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { type CliHarness, runCaptured, startCliHarness } from './cli-harness.ts'

const frozenIso = '2025-07-02T00:17:31.000Z'

describe('flowgate CLI administrative commands', () => {
  let cli: CliHarness

  before(async () => {
    cli = await startCliHarness()
  })
  after(async () => {
    await cli.close()
  })

  test('--help everywhere, exit 0; unknown commands and options are usage errors (exit 2)', async () => {
    const overview = await runCaptured(['--help'], {}, cli.dir)
    assert.equal(overview.code, 0)
    assert.match(overview.stdout, /^Usage: flowgate <command> \[options\]\n/)
    const help = await cli.run(['key', 'create', '--help'])
    assert.deepEqual({ code: help.code, stderr: help.stderr }, { code: 0, stderr: '' })
    assert.match(help.stdout, /^Usage: flowgate key create <instance> <key> \[options\]\n/)
    assert.match(help.stdout, /-c, --parameters JSON\|@FILE/)
    const group = await runCaptured(['flow'], {}, cli.dir)
    assert.equal(group.code, 0)
    assert.match(group.stdout, /^Usage: flowgate flow <create\|list\|show\|update\|delete> \[options\]/)
    assert.deepEqual(await runCaptured(['frobnicate'], {}, cli.dir), {
      code: 2,
      stdout: '',
      stderr: 'flowgate: unknown command "frobnicate"; try `flowgate --help`\n',
    })
    const badOption = await cli.run(['role', 'list', '--colour'])
    assert.equal(badOption.code, 2)
    assert.equal(badOption.stdout, '')
    assert.match(
      badOption.stderr,
      /^flowgate: Unknown option '--colour'.*; try `flowgate role list --help`\n$/,
    )
  })

  test('roles: create, list as table and JSON, delete; API errors go to stderr with exit 1', async () => {
    assert.deepEqual(await cli.run(['role', 'create', 'Partner.Orders', '--description', 'orders']), {
      code: 0,
      stdout: 'Created role Partner.Orders.\n',
      stderr: '',
    })
    const table = await cli.run(['role', 'list'])
    assert.equal(table.code, 0)
    const lines = table.stdout.split('\n')
    assert.match(lines[0] as string, /^NAME\s+BUILT-IN\s+DESCRIPTION\s+CREATED$/)
    assert.match(lines[4] as string, /^Partner\.Orders\s+no\s+orders\s+2025-07-02T00:17:31\.000Z$/)
    const json = await cli.run(['role', 'list', '--json'])
    assert.deepEqual((JSON.parse(json.stdout) as unknown[]).at(-1), {
      name: 'Partner.Orders',
      description: 'orders',
      builtIn: false,
      createdAt: frozenIso,
    })
    assert.deepEqual(await cli.run(['role', 'create', 'Partner.Orders']), {
      code: 1,
      stdout: '',
      stderr: 'flowgate: role "Partner.Orders" already exists (ERR_ALREADY_EXISTS, HTTP 409)\n',
    })
    const events = await cli.backend.store.listAuditEvents({ action: 'role.create' })
    assert.equal(events.items.at(-1)?.actor, cli.clientId)
  })

  test('connections: secrets from the environment or a file, never printed back', async () => {
    const created = await cli.run(
      ['connection', 'create', 'cpi', '--username', 'svc', '--password-env', 'CPI_PW'],
      { CPI_PW: 'env-secret-password' },
    )
    assert.deepEqual(created, { code: 0, stdout: 'Created basic connection cpi.\n', stderr: '' })
    await writeFile(
      join(cli.dir, 'cpi-key.json'),
      JSON.stringify({
        oauth: {
          clientid: 'sb-x!b1|t!b2',
          clientsecret: 'file-secret',
          tokenurl: 'https://tenant.example.test/oauth/token',
        },
      }),
    )
    assert.equal(
      (await cli.run(['connection', 'create', 'cpi-oauth', '--service-key', 'cpi-key.json'])).code,
      0,
    )
    const list = await cli.run(['connection', 'list'])
    assert.equal(list.code, 0)
    assert.match(list.stdout, /^cpi\s+basic\s+user svc\s+2025-07-02T00:17:31\.000Z$/m)
    assert.match(
      list.stdout,
      /^cpi-oauth\s+oauth2-client-credentials\s+client sb-x!b1\|t!b2 at https:\/\/tenant\.example\.test\/oauth\/token\s+/m,
    )
    const show = await cli.run(['connection', 'show', 'cpi', '--json'])
    assert.deepEqual(JSON.parse(show.stdout), {
      name: 'cpi',
      type: 'basic',
      settings: { username: 'svc' },
      hasSecret: true,
      createdAt: frozenIso,
      updatedAt: frozenIso,
    })
    for (const output of [list.stdout, show.stdout, cli.harness.logText()]) {
      assert.equal(output.includes('env-secret-password'), false)
      assert.equal(output.includes('file-secret'), false)
    }
    assert.deepEqual(await cli.run(['connection', 'create', 'x', '--username', 'u']), {
      code: 2,
      stdout: '',
      stderr: 'flowgate: a basic connection needs --password-env VAR or --password-file FILE\n',
    })
  })

  test('flows: create, list, show, update (--no-csrf, --no-connection), delete', async () => {
    const created = await cli.run([
      'flow',
      'create',
      '/orders/eu',
      '--upstream',
      'https://cpi.example.test/http/orders',
      '--role',
      'Partner.Orders',
      '--methods',
      'post,put',
      '--connection',
      'cpi',
    ])
    assert.deepEqual(created, {
      code: 0,
      stdout: 'Created flow /orders/eu -> https://cpi.example.test/http/orders (role Partner.Orders).\n',
      stderr: '',
    })
    const list = await cli.run(['flow', 'list'])
    assert.match(
      list.stdout,
      /^\/orders\/eu\s+https:\/\/cpi\.example\.test\/http\/orders\s+Partner\.Orders\s+POST,PUT\s+on\s+cpi$/m,
    )
    const updated = await cli.run(['flow', 'update', '/orders/eu', '--no-csrf', '--no-connection', '--json'])
    assert.equal(updated.stderr, '')
    const flow = JSON.parse(updated.stdout) as Record<string, unknown>
    assert.deepEqual(flow, {
      id: flow.id,
      address: '/orders/eu',
      upstream: 'https://cpi.example.test/http/orders',
      role: 'Partner.Orders',
      methods: ['POST', 'PUT'],
      csrf: false,
      maxBodyBytes: 10485760,
      timeoutMs: 60000,
      connection: null,
      requestHeaders: { mode: 'deny-list' },
      createdAt: frozenIso,
      updatedAt: frozenIso,
    })
    const show = await cli.run(['flow', 'show', 'orders/eu'])
    assert.match(show.stdout, /^csrf:\s+false$/m)
    assert.deepEqual(await cli.run(['flow', 'delete', '/orders/eu']), {
      code: 0,
      stdout: 'Deleted flow /orders/eu.\n',
      stderr: '',
    })
    assert.deepEqual(await cli.run(['flow', 'show', '/orders/eu']), {
      code: 1,
      stdout: '',
      stderr: 'flowgate: flow not found (ERR_NOT_FOUND, HTTP 404)\n',
    })
  })

  test('flows: --allow-header and --header-mode set the request-header policy', async () => {
    const policy = async (args: string[]) => {
      const answer = await cli.run([...args, '--json'])
      assert.equal(answer.stderr, '')
      assert.equal(answer.code, 0)
      return (JSON.parse(answer.stdout) as { requestHeaders: unknown }).requestHeaders
    }
    const upstream = ['--upstream', 'https://cpi.example.test/http/headers']
    assert.deepEqual(
      await policy([
        'flow',
        'create',
        '/headers',
        ...upstream,
        '--allow-header',
        'SAP_ApplicationID',
        '--allow-header',
        'Content-Type',
      ]),
      { mode: 'allow-list', allow: ['sap_applicationid', 'content-type'] },
    )
    assert.match(
      (await cli.run(['flow', 'show', 'headers'])).stdout,
      /^requestHeaders:\s+\{"mode":"allow-list","allow":\["sap_applicationid","content-type"\]\}$/m,
    )
    // Another --allow-header list replaces the flow's list; other options leave it alone.
    assert.deepEqual(await policy(['flow', 'update', '/headers', '--allow-header', 'X-Custom']), {
      mode: 'allow-list',
      allow: ['x-custom'],
    })
    assert.deepEqual(await policy(['flow', 'update', '/headers', '--no-csrf']), {
      mode: 'allow-list',
      allow: ['x-custom'],
    })
    assert.deepEqual(await policy(['flow', 'update', '/headers', '--header-mode', 'allow-list']), {
      mode: 'allow-list',
      allow: [],
    })
    assert.deepEqual(await policy(['flow', 'update', '/headers', '--header-mode', 'deny-list']), {
      mode: 'deny-list',
    })
    assert.deepEqual(await cli.run(['flow', 'update', '/headers', '--header-mode', 'open']), {
      code: 2,
      stdout: '',
      stderr: 'flowgate: --header-mode must be deny-list or allow-list\n',
    })
    assert.deepEqual(
      await cli.run(['flow', 'update', '/headers', '--header-mode', 'deny-list', '--allow-header', 'x-a']),
      {
        code: 2,
        stdout: '',
        stderr: 'flowgate: --allow-header needs --header-mode allow-list\n',
      },
    )
    assert.deepEqual(await cli.run(['flow', 'update', '/headers', '--allow-header', 'Authorization']), {
      code: 1,
      stdout: '',
      stderr:
        'flowgate: invalid flow: requestHeaders.allow: authorization is always handled by Flowgate and cannot be allowed (docs/runtime.md, "Header rules") (ERR_VALIDATION, HTTP 400)\n',
    })
    assert.equal((await cli.run(['flow', 'delete', '/headers'])).code, 0)
  })

  test('instances and keys: -c inline and @file; key create prints the SAP service key', async () => {
    await writeFile(join(cli.dir, 'params.json'), '{"roles":["Partner.Orders"],"token-validity":600}')
    assert.deepEqual(await cli.run(['instance', 'create', 'acme', '-c', '@params.json']), {
      code: 0,
      stdout: 'Created instance acme (plan integration-flow, roles Partner.Orders).\n',
      stderr: '',
    })
    assert.equal((await cli.run(['instance', 'update', 'acme', '-c', '{"token-validity":900}'])).code, 0)
    const shown = JSON.parse((await cli.run(['instance', 'show', 'acme', '--json'])).stdout) as {
      parameters: unknown
    }
    assert.deepEqual(shown.parameters, {
      roles: ['Partner.Orders'],
      'grant-types': ['client_credentials'],
      'token-validity': 900,
    })
    assert.deepEqual(await cli.run(['instance', 'create', 'bad', '-c', '{not json']), {
      code: 2,
      stdout: '',
      stderr: 'flowgate: -c must be a JSON object, inline or @file\n',
    })

    const created = await cli.run(['key', 'create', 'acme', 'k1', '-c', '{"validity":30}'])
    assert.equal(created.code, 0)
    assert.equal(created.stderr, '')
    const key = JSON.parse(created.stdout) as { oauth: Record<string, string> }
    assert.deepEqual(Object.keys(key.oauth), ['clientid', 'clientsecret', 'url', 'createdate', 'tokenurl'])
    assert.equal(created.stdout, `${JSON.stringify(key, null, 2)}\n`)
    const list = await cli.run(['key', 'list', 'acme'])
    assert.equal(list.stdout.includes(key.oauth.clientsecret as string), false)
    assert.match(
      list.stdout,
      new RegExp(
        `^k1\\s+${(key.oauth.clientid as string).replace(/[|!]/g, '\\$&')}\\s+clientsecret\\s+${key.oauth.clientsecret?.slice(0, 6)}…`,
        'm',
      ),
    )
    const rotated = await cli.run(['key', 'rotate', 'acme', 'k1', '--overlap', '0'])
    const rotatedKey = JSON.parse(rotated.stdout) as { oauth: Record<string, string> }
    assert.notEqual(rotatedKey.oauth.clientsecret, key.oauth.clientsecret)
    const expired = await cli.run(['key', 'expire', 'acme', 'k1'])
    assert.deepEqual(expired, { code: 0, stdout: `Key acme/k1 expires at ${frozenIso}.\n`, stderr: '' })
    assert.deepEqual(await cli.run(['key', 'delete', 'acme', 'k1']), {
      code: 0,
      stdout: 'Deleted service key acme/k1.\n',
      stderr: '',
    })
    assert.deepEqual(await cli.run(['instance', 'delete', 'acme']), {
      code: 0,
      stdout: 'Deleted instance acme and its service keys.\n',
      stderr: '',
    })
  })

  test('signing keys: list and rotate', async () => {
    const before = JSON.parse((await cli.run(['signing-key', 'list', '--json'])).stdout) as {
      kid: string
      state: string
    }[]
    const next = before.find((key) => key.state === 'next')?.kid
    assert.deepEqual(await cli.run(['signing-key', 'rotate']), {
      code: 0,
      stdout: `Rotated signing keys; active key is now ${next}.\n`,
      stderr: '',
    })
  })

  test('logs: access records oldest first, filtered; --json', async () => {
    const t0 = Date.parse(frozenIso)
    await cli.backend.store.insertAccessRecords(
      [1, 2, 3].map((n) => ({
        time: t0 + n * 1000,
        correlationId: `c-${n}`,
        clientId: 'client-a',
        instanceId: null,
        flow: '/orders',
        method: 'POST',
        path: '/http/orders',
        status: n === 2 ? 403 : 200,
        upstreamStatus: n === 2 ? null : 200,
        bytesIn: 1,
        bytesOut: 2,
        durationMs: 7,
        upstreamDurationMs: n === 2 ? null : 5,
        reason: n === 2 ? 'ERR_INSUFFICIENT_SCOPE' : null,
        sourceAddress: '192.0.2.1',
        mplId: null,
      })),
    )
    assert.deepEqual(await cli.run(['logs', '--from', frozenIso]), {
      code: 0,
      stdout: [
        '2025-07-02T00:17:32.000Z 200 POST /http/orders client=client-a flow=/orders upstream=200 7ms id=c-1',
        '2025-07-02T00:17:33.000Z 403 POST /http/orders client=client-a flow=/orders 7ms reason=ERR_INSUFFICIENT_SCOPE id=c-2',
        '2025-07-02T00:17:34.000Z 200 POST /http/orders client=client-a flow=/orders upstream=200 7ms id=c-3',
        '',
      ].join('\n'),
      stderr: '',
    })
    const json = await cli.run(['logs', '--status', '403', '--json'])
    assert.deepEqual(
      (JSON.parse(json.stdout) as { correlationId: string }[]).map((record) => record.correlationId),
      ['c-2'],
    )
  })

  test('apply, diff and export: secrets by reference, idempotent, export | apply changes nothing', async () => {
    await writeFile(
      join(cli.dir, 'flowgate.yaml'),
      [
        'roles:',
        '  - name: Declared.Role',
        'connections:',
        '  - name: declared-cpi',
        '    type: basic',
        '    username: svc',
        '    passwordFrom: { file: cpi-password.txt }',
        'flows:',
        '  - address: /declared',
        '    upstream: https://cpi.example.test/http/declared',
        '    role: Declared.Role',
        '    connection: declared-cpi',
        'instances:',
        '  - name: declared-partner',
        '    parameters: { roles: [Declared.Role] }',
        '',
      ].join('\n'),
    )
    await writeFile(join(cli.dir, 'cpi-password.txt'), 'file-held-password\n')
    const expectedPlan = [
      '+ create role Declared.Role',
      '+ create connection declared-cpi',
      '+ create flow /declared',
      '+ create instance declared-partner',
    ]
    assert.deepEqual(await cli.run(['diff', '-f', 'flowgate.yaml']), {
      code: 0,
      stdout: `${expectedPlan.join('\n')}\nWould apply: 4 to create, 0 to update, 0 to delete; 0 unchanged.\n`,
      stderr: '',
    })
    assert.equal(await cli.backend.store.getRole('Declared.Role'), undefined)
    assert.deepEqual(await cli.run(['apply', '-f', 'flowgate.yaml', '--dry-run']), {
      code: 0,
      stdout: `${expectedPlan.join('\n')}\nWould apply: 4 to create, 0 to update, 0 to delete; 0 unchanged.\n`,
      stderr: '',
    })
    assert.deepEqual(await cli.run(['apply', '-f', 'flowgate.yaml']), {
      code: 0,
      stdout: `${expectedPlan.join('\n')}\nApplied: 4 to create, 0 to update, 0 to delete; 0 unchanged.\n`,
      stderr: '',
    })
    assert.deepEqual(await cli.run(['apply', '-f', 'flowgate.yaml']), {
      code: 0,
      stdout: 'No changes; 4 objects already match.\n',
      stderr: '',
    })
    const exported = await cli.run(['export', '-o', 'exported.yaml'])
    assert.deepEqual(exported, { code: 0, stdout: '', stderr: `Wrote ${join(cli.dir, 'exported.yaml')}.\n` })
    const text = await readFile(join(cli.dir, 'exported.yaml'), 'utf8')
    assert.equal(text.includes('file-held-password'), false)
    const reapplied = await cli.run(['apply', '-f', 'exported.yaml', '--prune', '--json'])
    assert.equal(reapplied.code, 0, reapplied.stderr)
    const plan = JSON.parse(reapplied.stdout) as { changes: unknown[]; applied: boolean }
    assert.deepEqual(plan.changes, [])
    assert.equal(plan.applied, true)
    await writeFile(
      join(cli.dir, 'inline.yaml'),
      'connections:\n  - name: c\n    type: basic\n    username: u\n    password: x\n',
    )
    assert.deepEqual(await cli.run(['apply', '-f', 'inline.yaml']), {
      code: 1,
      stdout: '',
      stderr: `flowgate: ${join(cli.dir, 'inline.yaml')}: unknown key "password" in connections[0] (ERR_VALIDATION)\n`,
    })
  })

  test('no admin key: a usage error that says how to get one', async () => {
    const result = await runCaptured(
      ['role', 'list'],
      { FLOWGATE_DATA_DIR: join(cli.dir, 'elsewhere') },
      cli.dir,
    )
    assert.deepEqual(result, {
      code: 2,
      stdout: '',
      stderr:
        'flowgate: no admin service key: pass --key-file FILE or set FLOWGATE_ADMIN_KEY (flowgate init writes one)\n',
    })
  })
})

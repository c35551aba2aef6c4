import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { freePort } from '../helpers/free-port.ts'
import { runCaptured } from './cli-harness.ts'

const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'flowgate-config-cli-'))
const env = { PATH: process.env.PATH ?? '' }
let gateway: ChildProcess | undefined

after(async () => {
  await stop()
  rmSync(dir, { recursive: true, force: true })
})

/** The gateway configuration without publicUrl: the keys' URLs follow runtime.port. */
function writeConfig(runtimePort: number, adminPort: number): void {
  writeFileSync(
    join(dir, 'gateway.yaml'),
    `dataDir: data
runtime:
  host: 127.0.0.1
  port: ${runtimePort}
admin:
  port: ${adminPort}
shutdown:
  drainTimeoutMs: 200
`,
  )
}

async function start(): Promise<string> {
  const child = spawn(process.execPath, [main, 'start', '--config', 'gateway.yaml'], {
    cwd: dir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  gateway = child
  let logs = ''
  await new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      logs += chunk
      if (logs.includes('"msg":"flowgate started"')) resolve()
    })
    child.once('exit', (code) => reject(new Error(`flowgate start exited with ${code}: ${logs}`)))
  })
  return logs
}

async function stop(): Promise<void> {
  if (gateway === undefined || gateway.exitCode !== null) return
  const exited = once(gateway, 'exit')
  gateway.kill('SIGTERM')
  await exited
}

const warnings = (logs: string) =>
  logs
    .split('\n')
    .filter((line) => line.includes('"level":40'))
    .map((line) => (JSON.parse(line) as { msg: string }).msg)
    .filter((msg) => !msg.includes('self-signed'))

const tokenUrl = (key: string) => (JSON.parse(key) as { oauth: { tokenurl: string } }).oauth.tokenurl

test('the CLI finds the admin listener in the gateway configuration, and a re-issued admin key follows runtime.port', {
  timeout: 90_000,
}, async () => {
  const [firstPort, runtimePort, adminPort, closedPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ]
  writeConfig(firstPort, adminPort)
  const initialised = await runCaptured(['init', '--config', 'gateway.yaml'], env, dir)
  assert.equal(initialised.code, 0, initialised.stderr)
  assert.equal(tokenUrl(initialised.stdout), `https://localhost:${firstPort}/oauth/token`)
  assert.equal(
    initialised.stderr.trimEnd().split('\n').at(-1),
    'Next: bin/flowgate start --config gateway.yaml',
  )

  // runtime.port changes after init: the admin key now points at a port nothing listens on.
  writeConfig(runtimePort, adminPort)
  const keyFile = join(dir, 'data', 'admin-key.json')
  assert.deepEqual(warnings(await start()), [
    `the admin key data/admin-key.json was issued for https://localhost:${firstPort}, not for publicUrl https://localhost:${runtimePort}; re-issue it with bin/flowgate init --reissue-admin-key --config gateway.yaml`,
  ])
  const stale = await runCaptured(['instance', 'list', '--config', 'gateway.yaml'], env, dir)
  assert.deepEqual(stale, {
    code: 1,
    stdout: '',
    stderr: `flowgate: cannot reach https://localhost:${firstPort}/oauth/token (ECONNREFUSED); is the gateway running?\n`,
  })
  await stop()

  const oldKey = readFileSync(keyFile, 'utf8')
  // The old key, pointed at the runtime listener as it is now, to show the key itself is gone.
  writeFileSync(
    join(dir, 'old-admin-key.json'),
    oldKey.replace(`https://localhost:${firstPort}/`, `https://localhost:${runtimePort}/`),
  )
  const reissued = await runCaptured(['init', '--config', 'gateway.yaml', '--reissue-admin-key'], env, dir)
  assert.equal(reissued.code, 0, reissued.stderr)
  assert.equal(reissued.stdout, readFileSync(keyFile, 'utf8'))
  assert.equal(statSync(keyFile).mode & 0o777, 0o600)
  assert.equal(tokenUrl(reissued.stdout), `https://localhost:${runtimePort}/oauth/token`)
  assert.equal(
    reissued.stderr,
    `Re-issued admin-key of admin for https://localhost:${runtimePort}; the old key no longer works. Written to ${keyFile} (mode 0600).\n`,
  )

  assert.deepEqual(warnings(await start()), [])
  // No --admin-url and no FLOWGATE_ADMIN_URL: admin.host and admin.port come from --config.
  const listed = await runCaptured(['instance', 'list', '--config', 'gateway.yaml', '--json'], env, dir)
  assert.equal(listed.code, 0, listed.stderr)
  assert.deepEqual(
    (JSON.parse(listed.stdout) as { name: string }[]).map((instance) => instance.name),
    ['admin'],
  )

  // FLOWGATE_ADMIN_URL wins over the file, --admin-url over both.
  const wrongEnv = { ...env, FLOWGATE_ADMIN_URL: `https://127.0.0.1:${closedPort}` }
  const viaEnv = await runCaptured(['instance', 'list', '--config', 'gateway.yaml'], wrongEnv, dir)
  assert.deepEqual(viaEnv, {
    code: 1,
    stdout: '',
    stderr: `flowgate: cannot reach https://127.0.0.1:${closedPort} (ECONNREFUSED); is the gateway running?\n`,
  })
  const viaFlag = await runCaptured(
    ['instance', 'list', '--config', 'gateway.yaml', '--admin-url', `https://127.0.0.1:${adminPort}`],
    wrongEnv,
    dir,
  )
  assert.equal(viaFlag.code, 0, viaFlag.stderr)

  // The old key was deleted with its tokens; the change is in the audit trail under the CLI.
  const old = await runCaptured(
    ['instance', 'list', '--config', 'gateway.yaml', '--key-file', 'old-admin-key.json'],
    env,
    dir,
  )
  assert.deepEqual(old, {
    code: 1,
    stdout: '',
    stderr:
      'flowgate: the admin service key was refused: client authentication failed (ERR_OAUTH_INVALID_CLIENT, HTTP 401)\n',
  })
  const audit = await runCaptured(['audit', 'list', '--config', 'gateway.yaml', '--json'], env, dir)
  assert.equal(audit.code, 0, audit.stderr)
  const events = (JSON.parse(audit.stdout) as { actor: string; action: string; target: string }[])
    .filter((event) => event.action.startsWith('key.'))
    .map(({ actor, action, target }) => ({ actor, action, target }))
  assert.deepEqual(events.slice(-3), [
    { actor: 'cli', action: 'key.create', target: 'key:admin/admin-key' },
    { actor: 'cli', action: 'key.delete', target: 'key:admin/admin-key' },
    { actor: 'cli', action: 'key.create', target: 'key:admin/admin-key' },
  ])
})

import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import type { CpiSimulator } from '../../src/simulator/cpi-simulator.ts'
import { freePort } from '../helpers/free-port.ts'
import { testPki } from '../helpers/pki.ts'
import { startTestSimulator } from '../helpers/simulator.ts'
import { exampleBlock, fencedBlocks } from './markdown-examples.ts'
import {
  assertSucceeded,
  assertToolsInstalled,
  runShell,
  type ShellResult,
  shellPath,
  startShell,
  stopShell,
} from './shell-examples.ts'

/**
 * docs/operations.md (and the token request of docs/api.md), block by block, as an administrator
 * pastes them into one shell in one directory: `bin/flowgate init`, `bin/flowgate start`, then the
 * administrative commands against the running gateway, the partner's curl calls, and so on.
 *
 * What differs from a reader's machine, and how:
 * - Ports: the gateway listens on free ports instead of 8443/8444, given to every block through the
 *   environment the gateway and the CLI read anyway (FLOWGATE_RUNTIME_PORT, FLOWGATE_ADMIN_PORT; the
 *   public URL follows the runtime port and the CLI finds the admin port there);
 *   `https://localhost:8443` written in a block becomes the gateway's URL.
 * - CPI: a CPI simulator stands in for the tenant. The blocks' tenant URL
 *   (`https://my-tenant.it-cpi.cfapps.eu10.hana.ondemand.com`) becomes the simulator's, the user
 *   `flowgate-svc` its Basic user and the `'…'` of `export CPI_PASSWORD='…'` its password; the files
 *   a block reads (`cpi-runtime-key.json`, `new-cpi-password.txt`, `leaked-token.txt`) are written
 *   first, and the gateway trusts the simulator's CA (FLOWGATE_UPSTREAM_CA_FILE).
 * - `bin/flowgate` runs this checkout's CLI, `npx` nothing (shell-examples.ts).
 */

const guide = 'docs/operations.md'
const tenant = 'https://my-tenant.it-cpi.cfapps.eu10.hana.ondemand.com'

let dir: string
let env: NodeJS.ProcessEnv
let runtimeUrl: string
let simulator: CpiSimulator
let gateway: Awaited<ReturnType<typeof startShell>> | undefined

function substitute(text: string): string {
  return text
    .replaceAll(tenant, simulator.url)
    .replaceAll('flowgate-svc', simulator.basic.username)
    .replaceAll("export CPI_PASSWORD='…'", `export CPI_PASSWORD='${simulator.basic.password}'`)
    .replaceAll('https://localhost:8443', runtimeUrl)
}

const ran = new Set<string>()

/** Blocks run one after another as in one shell: what one exports (CPI_PASSWORD), the next sees. */
const shellState = '.doc-test-shell-state'
const inOneShell = (text: string) =>
  `if [ -f ${shellState} ]; then . ./${shellState}; fi\n${text}\nexport -p > ${shellState}\n`

async function run(id: string, file = guide): Promise<ShellResult> {
  const block = exampleBlock(file, id)
  ran.add(`${file}#${id}`)
  const result = await runShell(inOneShell(substitute(block.text)), { cwd: dir, env })
  assertSucceeded(block.where, result)
  return result
}

const json = (file: string) => JSON.parse(readFileSync(join(dir, file), 'utf8'))

before(async () => {
  assertToolsInstalled()
  dir = mkdtempSync(join(tmpdir(), 'flowgate-docs-'))
  simulator = await startTestSimulator({ auth: 'basic' })
  writeFileSync(join(dir, 'simulator-ca.pem'), (await testPki()).ca.cert)
  writeFileSync(join(dir, 'cpi-runtime-key.json'), JSON.stringify(simulator.serviceKey))
  writeFileSync(join(dir, 'new-cpi-password.txt'), `${simulator.basic.password}\n`)
  const [runtimePort, adminPort] = [await freePort(), await freePort()]
  runtimeUrl = `https://localhost:${runtimePort}`
  env = {
    PATH: shellPath(dir),
    HOME: dir,
    FLOWGATE_RUNTIME_HOST: '127.0.0.1',
    FLOWGATE_RUNTIME_PORT: String(runtimePort),
    FLOWGATE_ADMIN_PORT: String(adminPort),
    FLOWGATE_UPSTREAM_CA_FILE: join(dir, 'simulator-ca.pem'),
    FLOWGATE_ACCESS_LOG_FLUSH_INTERVAL_MS: '10',
    FLOWGATE_SHUTDOWN_DRAIN_TIMEOUT_MS: '500',
  }
})

after(async () => {
  if (gateway !== undefined) await stopShell(gateway)
  await simulator?.close()
  rmSync(dir, { recursive: true, force: true })
})

test('the operations guide runs as written, against a real gateway and a CPI simulator', {
  timeout: 240_000,
}, async () => {
  const initialised = await run('init')
  const adminKey = JSON.parse(initialised.stdout) as { oauth: { clientid: string } }
  assert.deepEqual(json('data/admin-key.json'), adminKey)

  const start = exampleBlock(guide, 'start')
  ran.add(`${guide}#start`)
  gateway = await startShell(`. ./${shellState}\n${substitute(start.text)}`, 'flowgate started', {
    cwd: dir,
    env,
  })

  await run('read-only-access')
  assert.deepEqual(json('auditor-1.json').oauth.tokenurl, `${runtimeUrl}/oauth/token`)

  const onboarded = await run('onboard')
  const partnerKey = json('acme-key.json') as { oauth: { clientid: string; clientsecret: string } }
  assert.ok(onboarded.stdout.includes(partnerKey.oauth.clientsecret), 'key create prints the secret once')
  assert.equal(statSync(join(dir, 'acme-key.json')).mode & 0o777, 0o600)

  const partner = await run('partner')
  const order = '{"orderId":"4711"}'
  const received = simulator.requests.filter((request) => request.path === '/http/orders')
  assert.equal(received.length, 1, 'the CSRF fetch is not forwarded, the POST is')
  const [forwarded] = received
  assert.equal(forwarded?.method, 'POST')
  assert.equal(forwarded?.sha256, createHash('sha256').update(order).digest('hex'))
  assert.equal(forwarded?.headers.authorization?.toString().startsWith('Basic '), true)
  assert.ok(partner.stdout.length > 0, 'the partner sees the iFlow answer')

  const logs = await run('logs')
  assert.match(logs.stdout, /POST/)
  assert.match(logs.stdout, /\/orders/)

  const headerPolicy = await run('header-policy')
  assert.match(
    headerPolicy.stdout,
    /^requestHeaders:\s+\{"mode":"allow-list","allow":\["content-type","sap_applicationid"\]\}$/m,
  )
  assert.ok(headerPolicy.stdout.endsWith('Updated flow /orders.\n'), headerPolicy.stdout)

  const rotated = await run('rotate')
  const rotatedKey = json('acme-key.json') as { oauth: { clientsecret: string } }
  assert.notEqual(rotatedKey.oauth.clientsecret, partnerKey.oauth.clientsecret)
  assert.ok(rotated.stdout.includes(rotatedKey.oauth.clientsecret))

  const audited = await run('audit')
  assert.equal(
    audited.stdout.match(/^Audit trail intact: \d+ events verified\.$/gm)?.length,
    2,
    audited.stdout,
  )
  assert.ok(readFileSync(join(dir, 'audit.jsonl'), 'utf8').split('\n').length > 10)

  const [file] = fencedBlocks(guide).filter((block) => block.attributes.has('doc-test-file'))
  assert.ok(file !== undefined)
  writeFileSync(join(dir, file.attributes.get('doc-test-file') as string), substitute(file.text))
  await run('declarative')
  assert.match(readFileSync(join(dir, 'partners.yaml'), 'utf8'), /address: \/orders/)

  const admin = await run('admin-token', 'docs/api.md')
  assert.equal(JSON.parse(admin.stdout).token_type, 'bearer')

  // Revocation last: it takes away what the blocks above use.
  const tokenOf = `curl -sS --cacert data/tls/localhost.crt -o /dev/null -w '%{http_code}' -X POST "$(jq -r .oauth.tokenurl acme-key.json)" \
    -d grant_type=client_credentials --data-urlencode client_id="$(jq -r .oauth.clientid acme-key.json)" \
    --data-urlencode client_secret="$(jq -r .oauth.clientsecret acme-key.json)"`
  assert.equal((await runShell(tokenOf, { cwd: dir, env })).stdout, '200')
  const leaked = await runShell(
    `${tokenOf.replace("-o /dev/null -w '%{http_code}' ", '')} | jq -r .access_token`,
    {
      cwd: dir,
      env,
    },
  )
  writeFileSync(join(dir, 'leaked-token.txt'), leaked.stdout)
  await run('revoke')
  assert.equal((await runShell(tokenOf, { cwd: dir, env })).stdout, '401')

  assert.equal(await stopShell(gateway), 0)
  gateway = undefined
})

test('every runnable block of the guide ran', () => {
  const marked = fencedBlocks(guide)
    .filter((block) => block.attributes.has('doc-test'))
    .map((block) => `${guide}#${block.attributes.get('doc-test')}`)
  assert.deepEqual(
    marked.filter((id) => !ran.has(id)),
    [],
  )
})

import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { loadConfig } from '../config/load.ts'
import { generateSelfSigned } from '../lib/certificates.ts'
import { createLogger } from '../lib/logger.ts'
import { startGateway } from '../server/gateway.ts'
import { unavailableListeners } from '../server/listener-check.ts'
import { startCpiSimulator } from '../simulator/cpi-simulator.ts'
import { writeAdminAccess } from './demo-admin.ts'
import { demoLockHolder, takeDemoLock } from './demo-lock.ts'

const demoUsage = `Usage: flowgate demo [--port N] [--data-dir DIR]

Starts Flowgate (embedded SQLite, self-signed certificate) and a CPI simulator, exposes a sample
purchase-order flow, onboards a partner (instance + service key) and prints the commands the partner
would run, and an admin service key with a configuration file for the CLI's admin commands. Runs
until Ctrl-C. The data directory (default ./data/demo) is recreated on every run; while a demo
runs, a second one with the same data directory refuses to start.`

const actor = { actor: 'demo', sourceAddress: null }

function shellQuote(value: string): string {
  return `'${value.replaceAll("'", "'\\''")}'`
}

/** `flowgate demo` / `npm run demo`. */
export async function runDemo(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      port: { type: 'string', default: '8443' },
      'data-dir': { type: 'string', default: join('data', 'demo') },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  })
  if (values.help) {
    process.stdout.write(`${demoUsage}\n`)
    return 0
  }
  const port = Number(values.port)
  const dataDir = resolve(values['data-dir'])
  const shownDataDir = relative(process.cwd(), dataDir) || dataDir
  const holder = demoLockHolder(dataDir)
  if (holder !== undefined) {
    process.stderr.write(
      `flowgate: a demo is already running at ${holder.runtimeUrl} (pid ${holder.pid}, data in ${shownDataDir}); stop it first (Ctrl-C in its terminal), or give this one another --port and --data-dir\n`,
    )
    return 1
  }
  const problems = await unavailableListeners([{ name: 'runtime listener', host: '127.0.0.1', port }])
  if (problems.length > 0) {
    process.stderr.write(problems.map((problem) => `flowgate: ${problem}\n`).join(''))
    return 1
  }
  rmSync(dataDir, { recursive: true, force: true })
  // Private like any data directory: it holds the demo's store, keys and certificate.
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  chmodSync(dataDir, 0o700)
  const releaseLock = takeDemoLock(dataDir, `https://localhost:${port}`)
  try {
    return await runDemoIn(dataDir, port)
  } finally {
    releaseLock()
  }
}

async function runDemoIn(dataDir: string, port: number): Promise<number> {
  // Listened for from the start, so Ctrl-C while the demo starts stops it once it has started.
  const stopRequested = new Promise<void>((resolveStop) => {
    process.once('SIGINT', () => resolveStop())
    process.once('SIGTERM', () => resolveStop())
  })
  // The simulator stands in for the CPI tenant, with its own certificate that Flowgate is told to trust.
  const simulatorTls = await generateSelfSigned({
    commonName: 'localhost',
    altNames: ['localhost', '127.0.0.1'],
    usage: 'server',
  })
  const simulator = await startCpiSimulator({ tls: simulatorTls, auth: 'oauth' })
  simulator.setBehaviour('/purchase-orders', { csrf: false })
  const upstreamCa = join(dataDir, 'cpi-simulator-ca.pem')
  writeFileSync(upstreamCa, simulatorTls.cert)

  const config = loadConfig({
    env: {},
    overrides: {
      dataDir,
      publicUrl: `https://localhost:${port}`,
      'runtime.host': '127.0.0.1',
      'runtime.port': port,
      'admin.port': 0,
      'upstream.caFile': upstreamCa,
      'log.level': 'warn',
    },
  })
  const logger = createLogger(config.log.level)
  const gateway = await startGateway(config, { logger })

  await gateway.flows.createConnection(
    {
      name: 'cpi-tenant',
      type: 'oauth2-client-credentials',
      serviceKey: JSON.stringify(simulator.serviceKey),
    },
    actor,
  )
  await gateway.flows.createFlow(
    {
      address: '/purchase-orders',
      upstream: `${simulator.url}/http/purchase-orders`,
      methods: ['GET', 'HEAD', 'POST'],
      connection: 'cpi-tenant',
    },
    actor,
  )
  await gateway.identity.createInstance(
    'acme-supplier',
    'integration-flow',
    { roles: ['ESBMessaging.send'], 'grant-types': ['client_credentials'], 'token-validity': 3600 },
    actor,
  )
  const serviceKey = await gateway.identity.createServiceKey('acme-supplier', 'acme-key', {}, actor)
  const keyFile = join(dataDir, 'acme-key.json')
  writeFileSync(keyFile, `${JSON.stringify(serviceKey, null, 2)}\n`, { mode: 0o600 })
  const configFile = await writeAdminAccess(gateway, dataDir, config)

  const ca =
    relative(process.cwd(), join(dataDir, 'tls', 'localhost.crt')) || join(dataDir, 'tls', 'localhost.crt')
  const { clientid, clientsecret, url, tokenurl } = serviceKey.oauth
  const credentials = shellQuote(`${clientid}:${clientsecret}`)
  const flowUrl = `${url}/http/purchase-orders`
  process.stdout.write(`
Flowgate demo is running.

  runtime listener   ${gateway.runtimeUrl}   (token service + flow proxy)
  admin listener     ${gateway.adminUrl}
  CPI simulator      ${simulator.url}   (the iFlow "purchase-orders", reached only through Flowgate)

A partner "acme-supplier" was onboarded. Its service key (also in ${relative(process.cwd(), keyFile)}):

${JSON.stringify(serviceKey, null, 2)}

Administer the demo with the CLI (its gateway configuration is ${configFile}, the admin
service key next to it in admin-key.json):

bin/flowgate logs --config ${configFile}
bin/flowgate instance list --config ${configFile}
bin/flowgate audit list --config ${configFile}

Run what the partner runs (paste into a shell in this directory):

# 1. Exchange the service key for an access token
TOKEN=$(curl -s --cacert ${ca} -u ${credentials} -X POST '${tokenurl}?grant_type=client_credentials' | sed -E 's/.*"access_token":"([^"]+)".*/\\1/')

# 2. Fetch a CSRF token (HEAD on the flow URL with a trailing slash, as the SAP Cloud SDK does)
CSRF=$(curl -s -I --cacert ${ca} -H "Authorization: Bearer $TOKEN" -H 'X-CSRF-Token: Fetch' '${flowUrl}/' | tr -d '\\r' | sed -n 's/^[Xx]-[Cc][Ss][Rr][Ff]-[Tt]oken: //p')

# 3. Send a purchase order
curl -s -i --cacert ${ca} -X POST -H "Authorization: Bearer $TOKEN" -H "X-CSRF-Token: $CSRF" -H 'Content-Type: application/json' --data '{"orderId":"4711","items":[{"sku":"A-100","quantity":3}]}' '${flowUrl}'

# 4. Without the CSRF token the call is refused (403, X-CSRF-Token: Required), and nothing reaches CPI
curl -s -i --cacert ${ca} -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' --data '{}' '${flowUrl}'

Press Ctrl-C to stop.
`)

  await stopRequested
  try {
    await Promise.all([gateway.close(), simulator.close()])
    return 0
  } catch {
    return 1
  }
}

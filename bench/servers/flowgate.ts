import { randomBytes, randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../src/config/load.ts'
import type { FlowgateConfig } from '../../src/config/schema.ts'
import { generateClientSecret, secretPrefixOf } from '../../src/identity/client-secret.ts'
import type { SapServiceKey } from '../../src/identity/identity-service.ts'
import { clientIdFor, xsappnameOf } from '../../src/identity/names.ts'
import { createLogger } from '../../src/lib/logger.ts'
import { createSecretHasher, loadMasterKey } from '../../src/secrets/master-key.ts'
import { type Gateway, startGateway } from '../../src/server/gateway.ts'
import type { Flow, Instance, ServiceKey, StoreOperations } from '../../src/store/types.ts'
import { localhostCertificate } from './localhost-certificate.ts'
import { serveBench } from './serve.ts'

/**
 * Flowgate as partners meet it: one flow with the role check on, CSRF off (the load generator has
 * no CSRF round-trip), access records on and upstream connection `none`, one instance and service
 * key, plus filler flows and keys for the scale runs. Data is seeded through one gateway, which is
 * then closed, and a second gateway is started on the same data directory, so the measured process
 * loaded everything the way a restarted node does and no change-feed catch-up runs during a round.
 */
interface FlowgateOptions {
  readonly upstream: string
  readonly flows: number
  readonly serviceKeys: number
  /** Configuration keys (dotted) to change for a before/after comparison, e.g. `tokens.verifiedCacheSize`. */
  readonly overrides?: Readonly<Record<string, unknown>>
}

/** A streamed upload of 1 GiB must fit the flow's body limit. */
const benchFlow = { address: '/bench', maxBodyBytes: 4 * 2 ** 30 }
const keysPerInstance = 100

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      probe.close(() => resolve(port))
    })
  })
}

function instanceRow(name: string, now: number): Instance {
  return {
    id: randomUUID(),
    name,
    plan: 'integration-flow',
    parameters: { roles: ['ESBMessaging.send'], grantTypes: ['client_credentials'], tokenValidity: 3600 },
    createdAt: now,
    updatedAt: now,
  }
}

async function keyRow(
  tx: StoreOperations,
  instance: Instance,
  name: string,
  secret: string,
  hashSecret: (secret: string) => string,
  xsappname: string,
  now: number,
): Promise<ServiceKey> {
  return {
    id: randomUUID(),
    instanceId: instance.id,
    name,
    clientId: clientIdFor(instance.id, await tx.nextKeyNumber(), xsappname),
    keyType: 'clientsecret',
    secretHash: hashSecret(secret),
    secretPrefix: secretPrefixOf(secret),
    previousSecretHash: null,
    previousSecretPrefix: null,
    previousSecretValidUntil: null,
    certificatePem: null,
    certificateFingerprint: null,
    expiresAt: null,
    createdAt: now,
    updatedAt: now,
  }
}

function fillerFlow(index: number, upstream: string, now: number): Flow {
  // One in ten is a wildcard, as partners' sub-path flows are, so route lookup meets both kinds.
  const address = index % 10 === 0 ? `/partner-${index}/*` : `/partner-${index}/orders`
  return {
    id: randomUUID(),
    address,
    upstream,
    role: 'ESBMessaging.send',
    methods: ['POST'],
    csrf: true,
    maxBodyBytes: 10 * 2 ** 20,
    timeoutMs: 60_000,
    connection: null,
    requestHeaders: { mode: 'deny-list' },
    createdAt: now,
    updatedAt: now,
  }
}

const actor = { actor: 'bench', sourceAddress: null }

/** The flow, instance and key partners use go through Flowgate's own services; filler rows go in bulk. */
async function seed(config: FlowgateConfig, options: FlowgateOptions): Promise<SapServiceKey> {
  const gateway = await startGateway(config, { logger: createLogger('warn') })
  try {
    await gateway.flows.createFlow(
      {
        address: benchFlow.address,
        upstream: options.upstream,
        role: 'ESBMessaging.send',
        methods: ['GET', 'POST'],
        csrf: false,
        maxBodyBytes: benchFlow.maxBodyBytes,
        connection: null,
      },
      actor,
    )
    await gateway.identity.createInstance(
      'bench-partner',
      'integration-flow',
      { roles: ['ESBMessaging.send'], 'grant-types': ['client_credentials'], 'token-validity': 3600 },
      actor,
    )
    const serviceKey = await gateway.identity.createServiceKey('bench-partner', 'bench-key', {}, actor)

    const hashSecret = createSecretHasher(loadMasterKey(config))
    const xsappname = xsappnameOf(config)
    const now = Date.now()
    await gateway.store.transaction(async (tx) => {
      for (let i = 1; i < options.flows; i++) await tx.createFlow(fillerFlow(i, options.upstream, now))
      let instance: Instance | undefined
      for (let i = 1; i < options.serviceKeys; i++) {
        if (instance === undefined || i % keysPerInstance === 0) {
          instance = instanceRow(`bench-filler-${Math.floor(i / keysPerInstance)}`, now)
          await tx.createInstance(instance)
        }
        await tx.createServiceKey(
          await keyRow(tx, instance, `key-${i}`, generateClientSecret(), hashSecret, xsappname, now),
        )
      }
    })
    return serviceKey
  } finally {
    await gateway.close()
  }
}

serveBench<FlowgateOptions>(async (options) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'flowgate-bench-'))
  const certificate = await localhostCertificate()
  writeFileSync(join(dataDir, 'bench.crt'), certificate.cert)
  writeFileSync(join(dataDir, 'bench.key'), certificate.key, { mode: 0o600 })
  const port = await freePort()
  const config = loadConfig({
    env: {},
    overrides: {
      dataDir,
      publicUrl: `https://127.0.0.1:${port}`,
      'runtime.host': '127.0.0.1',
      'runtime.port': port,
      'admin.port': 0,
      'tls.certFile': join(dataDir, 'bench.crt'),
      'tls.keyFile': join(dataDir, 'bench.key'),
      'secrets.masterKey': randomBytes(32).toString('base64'),
      'log.level': 'warn',
      ...options.overrides,
    },
  })
  let oauth: SapServiceKey['oauth']
  let gateway: Gateway
  try {
    oauth = (await seed(config, options)).oauth
    gateway = await startGateway(config, { logger: createLogger(config.log.level) })
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true })
    throw error
  }
  return {
    url: gateway.runtimeUrl,
    info: {
      ca: gateway.certificate,
      clientId: oauth.clientid,
      clientSecret: oauth.clientsecret,
      tokenUrl: oauth.tokenurl,
      flows: options.flows,
      serviceKeys: options.serviceKeys,
    },
    async close() {
      await gateway.close()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
})

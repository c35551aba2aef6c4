import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Agent } from 'undici'
import { loadConfig } from '../../src/config/load.ts'
import { createLogger } from '../../src/lib/logger.ts'
import { type Gateway, startGateway } from '../../src/server/gateway.ts'
import { testPki } from './pki.ts'

export interface TestGateway {
  readonly gateway: Gateway
  /** An undici dispatcher that trusts the gateway's self-signed certificate. */
  readonly dispatcher: Agent
  readonly dataDir: string
  /** JSON log lines written by the gateway, to assert what was (not) logged. */
  readonly logs: string[]
  close(): Promise<void>
}

/**
 * A real gateway on ephemeral loopback ports with a fresh SQLite store (or `store.url`) in a temp
 * dir, a generated self-signed certificate, and the test CA trusted for upstreams.
 */
export async function startTestGateway(overrides: Record<string, unknown> = {}): Promise<TestGateway> {
  const pki = await testPki()
  const dataDir = mkdtempSync(join(tmpdir(), 'flowgate-gateway-'))
  const caFile = join(dataDir, 'upstream-ca.pem')
  writeFileSync(caFile, pki.ca.cert)
  const config = loadConfig({
    env: {},
    overrides: {
      dataDir,
      'runtime.host': '127.0.0.1',
      'runtime.port': 0,
      'admin.port': 0,
      'upstream.caFile': caFile,
      'accessLog.flushIntervalMs': 50,
      'shutdown.drainTimeoutMs': 2000,
      'log.level': 'debug',
      ...overrides,
    },
  })
  const logs: string[] = []
  const logger = createLogger(config.log.level, {
    write(line: string) {
      logs.push(line)
      return true
    },
  } as unknown as NodeJS.WritableStream)
  const gateway = await startGateway(config, { logger })
  const dispatcher = new Agent({ connect: { ca: gateway.certificate } })
  return {
    gateway,
    dispatcher,
    dataDir,
    logs,
    async close() {
      await dispatcher.close()
      await gateway.close()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

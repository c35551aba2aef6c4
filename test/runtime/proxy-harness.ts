import nodeAssert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import type { IncomingHttpHeaders } from 'node:http'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { type TLSSocket, connect as tlsConnect } from 'node:tls'
import { Agent, type Dispatcher, request } from 'undici'
import { loadConfig } from '../../src/config/load.ts'
import type { FlowgateConfig } from '../../src/config/schema.ts'
import { createFlowService, type FlowService } from '../../src/flows/flow-service.ts'
import { createLogger } from '../../src/lib/logger.ts'
import { type AccessLog, createAccessLog } from '../../src/runtime/access-log.ts'
import { createFlowProxy, type FlowProxy } from '../../src/runtime/flow-proxy.ts'
import { createSecretBox, masterKeyFromBytes, type SecretBox } from '../../src/secrets/master-key.ts'
import { createContextFactory } from '../../src/server/request-context.ts'
import { createChangeFeed } from '../../src/store/change-feed.ts'
import { openStore } from '../../src/store/open-store.ts'
import type { AccessRecord, Store } from '../../src/store/types.ts'
import { testPki } from '../helpers/pki.ts'
import {
  type RecordingUpstream,
  type RecordingUpstreamOptions,
  startRecordingUpstream,
} from '../helpers/recording-upstream.ts'
import { TableAuthenticator } from './table-authenticator.ts'

export const actor = { actor: 'test', sourceAddress: null }

export interface HarnessOptions {
  /** Configuration overrides (dotted keys). */
  readonly overrides?: Record<string, unknown>
  readonly trustedProxies?: readonly string[]
  readonly now?: () => number
  readonly upstream?: RecordingUpstreamOptions
  /** Runs against the store before the proxy starts (flows to route from the first request). */
  readonly setup?: (harness: {
    flows: FlowService
    store: Store
    upstream: RecordingUpstream
  }) => Promise<void>
}

export interface CallResult {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly body: string
}

export interface CallOptions {
  readonly headers?: Record<string, string | string[]>
  readonly body?: string | Buffer | Dispatcher.DispatchOptions['body']
}

/**
 * Everything the flow proxy runs with, for real: a SQLite store in a temporary directory, the
 * flow service, the change feed, the access log, an HTTPS listener calling `proxy.handle`, a
 * recording HTTPS upstream, and a client trusting the test CA. Only token validation is a table
 * (see table-authenticator.ts). Logs are captured so tests can assert what was never logged.
 */
export interface Harness {
  readonly config: FlowgateConfig
  readonly store: Store
  readonly flows: FlowService
  readonly secretBox: SecretBox
  readonly proxy: FlowProxy
  readonly accessLog: AccessLog
  readonly authenticator: TableAuthenticator
  readonly upstream: RecordingUpstream
  /** `https://127.0.0.1:<port>` of the runtime listener. */
  readonly url: string
  readonly client: Agent
  call(method: string, path: string, options?: CallOptions): Promise<CallResult>
  /** The access record of a response (by its X-Correlation-ID), after flushing. */
  record(correlationId: string | string[] | undefined): Promise<AccessRecord>
  logs(): string
  close(): Promise<void>
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const pki = await testPki()
  const dir = mkdtempSync(join(tmpdir(), 'flowgate-runtime-'))
  const caFile = join(dir, 'upstream-ca.pem')
  writeFileSync(caFile, pki.ca.cert)
  const config = loadConfig({
    env: {},
    overrides: { dataDir: dir, 'upstream.caFile': caFile, 'store.pollIntervalMs': 50, ...options.overrides },
  })
  let logText = ''
  const logger = createLogger(
    'debug',
    new Writable({
      write(chunk, _encoding, done) {
        logText += chunk.toString()
        done()
      },
    }),
  )
  const store = await openStore({ url: '', dataDir: dir })
  await store.migrate()
  const secretBox = createSecretBox(masterKeyFromBytes(randomBytes(32)))
  const flows = createFlowService({ store, secretBox, config })
  const upstream = await startRecordingUpstream(options.upstream)
  await options.setup?.({ flows, store, upstream })

  const feed = createChangeFeed(store, { intervalMs: config.store.pollIntervalMs, logger })
  await feed.start()
  const accessLog = createAccessLog({
    store,
    batchSize: 50,
    flushIntervalMs: 60_000,
    maxBuffered: 10_000,
    logger,
  })
  const authenticator = new TableAuthenticator()
  const proxy = createFlowProxy({
    config,
    store,
    feed,
    authenticator,
    secretBox,
    csrfKey: randomBytes(32),
    accessLog,
    logger,
    ...(options.now === undefined ? {} : { now: options.now }),
  })
  await proxy.start()

  const context = createContextFactory(options.trustedProxies ?? [])
  const server: Server = createServer({ cert: pki.server.cert, key: pki.server.key }, (req, res) => {
    proxy.handle(req, res, context(req))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`
  const client = new Agent({ connect: { ca: pki.ca.cert } })

  return {
    config,
    store,
    flows,
    secretBox,
    proxy,
    accessLog,
    authenticator,
    upstream,
    url,
    client,
    async call(method, path, callOptions = {}) {
      const response = await request(`${url}${path}`, {
        dispatcher: client,
        method: method as Dispatcher.HttpMethod,
        headers: callOptions.headers ?? {},
        body: callOptions.body ?? null,
      })
      return { status: response.statusCode, headers: response.headers, body: await response.body.text() }
    },
    async record(correlationId) {
      assert(typeof correlationId === 'string', 'response has an X-Correlation-ID')
      // A client can hold the whole response a moment before the proxy has finished its side.
      const deadline = Date.now() + 2000
      for (;;) {
        await accessLog.flush()
        const page = await store.queryAccessRecords({ limit: 1000 })
        const found = page.items.find((item) => item.correlationId === correlationId)
        if (found !== undefined) return found
        assert(Date.now() < deadline, `access record for ${correlationId}`)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    },
    logs: () => logText,
    async close() {
      await client.close()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await proxy.close()
      await accessLog.close()
      await feed.stop()
      await upstream.close()
      await store.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

function assert(condition: boolean, what: string): asserts condition {
  if (!condition) throw new Error(`expected ${what}`)
}

/** Polls `check` until it returns true (for changes that reach the proxy through the change feed). */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

/** A TLS connection to the harness listener, trusting the test CA, once its handshake is done. */
export async function rawConnect(url: string): Promise<TLSSocket> {
  const pki = await testPki()
  const { port } = new URL(url)
  return new Promise<TLSSocket>((resolve, reject) => {
    const socket = tlsConnect(
      { host: '127.0.0.1', port: Number(port), ca: pki.ca.cert, servername: 'localhost' },
      () => {
        socket.off('error', reject)
        resolve(socket)
      },
    )
    socket.once('error', reject)
  })
}

/** Sends bytes as they are (for request forms no client library produces) and returns the whole answer. */
export async function rawRequest(
  url: string,
  text: string,
): Promise<{ status: number; head: string; body: string }> {
  const socket = await rawConnect(url)
  const answer = await new Promise<string>((resolve, reject) => {
    let data = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      data += chunk
    })
    socket.on('end', () => resolve(data))
    socket.on('error', reject)
    // Not end(): a half-closed client counts as gone; `Connection: close` makes the server close.
    socket.write(text)
  })
  const split = answer.indexOf('\r\n\r\n')
  const head = answer.slice(0, split)
  return { status: Number(head.slice(9, 12)), head, body: answer.slice(split + 4) }
}

/** Asserts a Flowgate error answer as a whole: status, JSON body, correlation id, no-store. */
export function assertError(
  result: CallResult,
  status: number,
  expected: { error: string; error_description: string; code: string },
): void {
  nodeAssert.equal(result.status, status)
  nodeAssert.equal(result.headers['content-type'], 'application/json')
  nodeAssert.equal(result.headers['cache-control'], 'no-store')
  const correlationId = result.headers['x-correlation-id']
  nodeAssert.match(String(correlationId), /^[0-9a-f-]{36}$/)
  nodeAssert.deepEqual(JSON.parse(result.body), { ...expected, correlation_id: correlationId })
}

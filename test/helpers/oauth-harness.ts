import type { IncomingHttpHeaders } from 'node:http'
import { createServer, request as httpsRequest, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import { loadConfig } from '../../src/config/load.ts'
import type { FlowgateConfig } from '../../src/config/schema.ts'
import { type ChangeSubscriber, type Identity, startIdentity } from '../../src/identity/start-identity.ts'
import { FlowgateError } from '../../src/lib/errors.ts'
import { sendError } from '../../src/lib/http-error.ts'
import { createLogger } from '../../src/lib/logger.ts'
import type { RequestContext } from '../../src/lib/request-context.ts'
import { createTokenEndpoints, type TokenEndpoints } from '../../src/oauth/token-endpoints.ts'
import { type MasterKey, masterKeyFromBytes } from '../../src/secrets/master-key.ts'
import type { Store } from '../../src/store/types.ts'
import { testPki } from './pki.ts'

export interface TestClock {
  now(): number
  set(ms: number): void
  advance(ms: number): void
}

/** A frozen clock: time moves only when a test moves it. */
export function testClock(start = Date.UTC(2025, 6, 2, 0, 17, 31)): TestClock {
  let time = start
  return {
    now: () => time,
    set: (ms) => {
      time = ms
    },
    advance: (ms) => {
      time += ms
    },
  }
}

export interface TestResponse {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly text: string
  json(): unknown
}

export interface RequestOptions {
  readonly method?: string
  readonly headers?: Record<string, string>
  readonly body?: string | Buffer
  /** The client address the dispatcher puts into the RequestContext (default 127.0.0.1). */
  readonly clientAddress?: string
}

export interface OAuthHarness {
  readonly url: string
  readonly config: FlowgateConfig
  readonly store: Store
  readonly masterKey: MasterKey
  readonly clock: TestClock
  readonly identity: Identity
  readonly endpoints: TokenEndpoints
  /** The test CA's certificate, to trust in clients. */
  readonly ca: string
  /** Every log line written, parsed. */
  readonly logs: Array<Record<string, unknown>>
  /** Raw log output, to assert that no secret or token ever reached it. */
  logText(): string
  request(path: string, options?: RequestOptions): Promise<TestResponse>
  /** Closes the server and the components; the store stays open (the backend helper owns it). */
  close(): Promise<void>
}

export interface HarnessOptions {
  /** Configuration keys (dotted) over the test defaults. */
  readonly overrides?: Record<string, unknown>
  readonly clock?: TestClock
  readonly masterKey?: MasterKey
  readonly feed?: ChangeSubscriber
}

export const testPublicUrl = 'https://gateway.example.test'

/**
 * Serves the token service's routes on a real HTTPS server on an ephemeral loopback port, with
 * the components a node builds at start, against the store the test passes in. The dispatcher
 * trusts an `x-test-client-address` header for the RequestContext's clientAddress: it stands in
 * for the server's trusted-proxy handling so tests can act from several addresses.
 */
export async function startOAuthHarness(store: Store, options: HarnessOptions = {}): Promise<OAuthHarness> {
  const clock = options.clock ?? testClock()
  const config = loadConfig({
    env: {},
    overrides: {
      publicUrl: testPublicUrl,
      gatewayName: 'flowgate',
      zoneId: 'test-zone',
      ...options.overrides,
    },
  })
  const masterKey = options.masterKey ?? masterKeyFromBytes(Buffer.alloc(32, 7))
  const lines: string[] = []
  const logs: Array<Record<string, unknown>> = []
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const text = chunk.toString('utf8')
      lines.push(text)
      for (const line of text.split('\n'))
        if (line !== '') logs.push(JSON.parse(line) as Record<string, unknown>)
      done()
    },
  })
  const logger = createLogger('debug', sink)
  const identity = await startIdentity({
    config,
    store,
    masterKey,
    logger,
    now: clock.now,
    keyRing: { maintenanceIntervalMs: 0 },
    ...(options.feed === undefined ? {} : { feed: options.feed }),
  })
  const endpoints = createTokenEndpoints({
    config,
    store,
    masterKey,
    keyRing: identity.keyRing,
    index: identity.index,
    issuer: identity.issuer,
    authenticator: identity.authenticator,
    identity: identity.service,
    logger,
    now: clock.now,
  })

  const pki = await testPki()
  let sequence = 0
  const server: Server = createServer({ cert: pki.server.cert, key: pki.server.key }, (req, res) => {
    const address = req.headers['x-test-client-address']
    const ctx: RequestContext = {
      correlationId: `corr-${++sequence}`,
      peerAddress: '127.0.0.1',
      clientAddress: typeof address === 'string' ? address : '127.0.0.1',
      trustedProxy: false,
      receivedAt: clock.now(),
      startedNs: process.hrtime.bigint(),
    }
    const url = req.url ?? '/'
    const query = url.indexOf('?')
    const route = endpoints.routes.get(query === -1 ? url : url.slice(0, query))
    if (route === undefined) {
      req.resume()
      sendError(res, new FlowgateError('ERR_NOT_FOUND'), { correlationId: ctx.correlationId })
      return
    }
    Promise.resolve(route(req, res, ctx)).catch((error: unknown) => sendError(res, error))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `https://localhost:${(server.address() as AddressInfo).port}`

  return {
    url,
    config,
    store,
    masterKey,
    clock,
    identity,
    endpoints,
    ca: pki.ca.cert,
    logs,
    logText: () => lines.join(''),
    request(path, requestOptions = {}) {
      const headers: Record<string, string> = { ...requestOptions.headers }
      if (requestOptions.clientAddress !== undefined)
        headers['x-test-client-address'] = requestOptions.clientAddress
      const body = requestOptions.body
      if (
        body !== undefined &&
        headers['content-length'] === undefined &&
        headers['transfer-encoding'] === undefined
      ) {
        headers['content-length'] = String(Buffer.byteLength(body))
      }
      return new Promise<TestResponse>((resolve, reject) => {
        const req = httpsRequest(
          `${url}${path}`,
          {
            method: requestOptions.method ?? 'GET',
            headers,
            ca: pki.ca.cert,
            servername: 'localhost',
            agent: false,
          },
          (res) => {
            const chunks: Buffer[] = []
            res.on('data', (chunk: Buffer) => chunks.push(chunk))
            res.on('end', () => {
              const text = Buffer.concat(chunks).toString('utf8')
              resolve({
                status: res.statusCode ?? 0,
                headers: res.headers,
                text,
                json: () => JSON.parse(text),
              })
            })
            res.on('error', reject)
          },
        )
        req.on('error', reject)
        req.end(body)
      })
    },
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await endpoints.close()
      identity.close()
    },
  }
}

import {
  createServer as createHttpServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import type { TLSSocket } from 'node:tls'
import { testPki } from './pki.ts'

/** What the upstream received, as it received it. */
export interface RecordedRequest {
  readonly method: string
  readonly url: string
  readonly headers: IncomingHttpHeaders
  /** Bytes of the request body seen so far. */
  bodyBytes: number
  /** The body, kept only up to `keepBodyBytes`. */
  body: Buffer
  /** True when the whole request body arrived. */
  complete: boolean
  /** True when the connection closed before the response was finished. */
  aborted: boolean
  /** Subject of the client certificate presented (mutual TLS), or null. */
  clientCertificateSubject: string | null
  /** The proxy's source port: equal ports mean a reused connection. */
  readonly remotePort: number
}

/**
 * Answers one request. Called once the request body has been read completely, unless the
 * behaviour's `early` flag is set, in which case it is called as soon as the headers arrive.
 */
export type UpstreamBehaviour = (req: IncomingMessage, res: ServerResponse, recorded: RecordedRequest) => void

export interface RecordingUpstreamOptions {
  /** Default `https` with the test PKI's localhost certificate. */
  readonly protocol?: 'https' | 'http'
  /** Ask for a client certificate signed by the test CA (mutual TLS); requests without one are refused. */
  readonly requireClientCertificate?: boolean
  readonly keepBodyBytes?: number
}

export interface RecordingUpstream {
  /** `https://127.0.0.1:<port>` */
  readonly origin: string
  readonly requests: RecordedRequest[]
  /** Replace to change how the next requests are answered. */
  behaviour: UpstreamBehaviour
  /** When true, `behaviour` runs as soon as headers arrive instead of after the body. */
  early: boolean
  /** Resolves once `count` requests have been received. */
  received(count: number): Promise<void>
  /** Resolves once the `index`-th request has finished or been aborted. */
  settled(index: number): Promise<RecordedRequest>
  close(): Promise<void>
}

/** Echoes what it got as JSON, with a CPI-style message processing log id. */
export const echoBehaviour: UpstreamBehaviour = (req, res, recorded) => {
  const body = JSON.stringify({ method: recorded.method, url: recorded.url, bodyBytes: recorded.bodyBytes })
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    SAP_MessageProcessingLogID: 'AGVfDkmDx4bqZ0tY1l9lq3zN1Xxq',
  })
  res.end(req.method === 'HEAD' ? undefined : body)
}

/**
 * A small upstream for runtime tests: a real HTTPS server on an ephemeral loopback port that
 * records every request it receives (headers, body size, completion, abort) and answers with a
 * replaceable behaviour. Nothing is mocked: the proxy talks to it over TLS like to CPI.
 */
export async function startRecordingUpstream(
  options: RecordingUpstreamOptions = {},
): Promise<RecordingUpstream> {
  const keepBodyBytes = options.keepBodyBytes ?? 1_048_576
  const requests: RecordedRequest[] = []
  const waiters: { count: number; resolve: () => void }[] = []
  const settledWaiters = new Map<number, ((recorded: RecordedRequest) => void)[]>()
  const settledSet = new Set<number>()

  const markSettled = (index: number) => {
    if (settledSet.has(index)) return
    settledSet.add(index)
    const recorded = requests[index] as RecordedRequest
    for (const resolve of settledWaiters.get(index) ?? []) resolve(recorded)
    settledWaiters.delete(index)
  }

  const upstream: RecordingUpstream = {
    origin: '',
    requests,
    behaviour: echoBehaviour,
    early: false,
    received(count) {
      if (requests.length >= count) return Promise.resolve()
      return new Promise((resolve) => waiters.push({ count, resolve }))
    },
    settled(index) {
      if (settledSet.has(index)) return Promise.resolve(requests[index] as RecordedRequest)
      return new Promise((resolve) => {
        const list = settledWaiters.get(index) ?? []
        list.push(resolve)
        settledWaiters.set(index, list)
      })
    },
    close: async () => {},
  }

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket as TLSSocket
    let subject: string | null = null
    if (options.requireClientCertificate) {
      const peer = socket.getPeerCertificate?.()
      const cn = peer?.subject?.CN
      subject = typeof cn === 'string' ? cn : null
    }
    const recorded: RecordedRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      bodyBytes: 0,
      body: Buffer.alloc(0),
      complete: false,
      aborted: false,
      clientCertificateSubject: subject,
      remotePort: socket.remotePort ?? 0,
    }
    const index = requests.push(recorded) - 1
    for (let i = waiters.length - 1; i >= 0; i--) {
      const waiter = waiters[i] as { count: number; resolve: () => void }
      if (requests.length >= waiter.count) {
        waiters.splice(i, 1)
        waiter.resolve()
      }
    }
    const kept: Buffer[] = []
    let keptBytes = 0
    res.on('finish', () => markSettled(index))
    res.on('close', () => {
      if (!res.writableFinished) recorded.aborted = true
      markSettled(index)
    })
    req.on('data', (chunk: Buffer) => {
      recorded.bodyBytes += chunk.length
      if (keptBytes < keepBodyBytes) {
        kept.push(chunk)
        keptBytes += chunk.length
      }
    })
    req.on('end', () => {
      recorded.complete = true
      recorded.body = Buffer.concat(kept)
      if (!upstream.early) upstream.behaviour(req, res, recorded)
    })
    req.on('error', () => {})
    if (upstream.early) upstream.behaviour(req, res, recorded)
  }

  const pki = await testPki()
  const server =
    options.protocol === 'http'
      ? createHttpServer(onRequest)
      : createHttpsServer(
          {
            cert: pki.server.cert,
            key: pki.server.key,
            ...(options.requireClientCertificate
              ? { requestCert: true, rejectUnauthorized: true, ca: pki.ca.cert }
              : {}),
          },
          onRequest,
        )
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  Object.assign(upstream, {
    origin: `${options.protocol === 'http' ? 'http' : 'https'}://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  })
  return upstream
}

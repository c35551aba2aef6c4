import { constants } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { createClientErrorHandler } from './client-error.ts'
import { FlowgateError } from './errors.ts'
import { sendError } from './http-error.ts'
import { requestHeadRefusal } from './request-head.ts'
import type { TlsMaterial } from './tls-material.ts'

/** TLS 1.2 suites: forward secrecy and AEAD only. TLS 1.3 suites are all acceptable. */
const ciphers = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':')

export interface HttpsListenerOptions {
  readonly host: string
  readonly port: number
  readonly tls: TlsMaterial
  readonly minVersion: 'TLSv1.2' | 'TLSv1.3'
  readonly requestTimeoutMs: number
  readonly headersTimeoutMs: number
  readonly keepAliveTimeoutMs: number
  /** Longer request targets are refused with 414 before any handler sees them. */
  readonly maxRequestTargetBytes: number
  /** Strict-Transport-Security value of the listener's own refusals; '' for none. */
  readonly hsts?: string
  readonly onRequest: (req: IncomingMessage, res: ServerResponse) => void
}

/** What both listeners (runtime and admin) take alike from the configuration's `tls` and `runtime`. */
export function listenerSettings(config: {
  readonly tls: { readonly minVersion: 'TLSv1.2' | 'TLSv1.3'; readonly hsts: string }
  readonly runtime: {
    readonly requestTimeoutMs: number
    readonly headersTimeoutMs: number
    readonly keepAliveTimeoutMs: number
    readonly maxRequestTargetBytes: number
  }
}): Omit<HttpsListenerOptions, 'host' | 'port' | 'tls' | 'onRequest'> {
  return {
    minVersion: config.tls.minVersion,
    requestTimeoutMs: config.runtime.requestTimeoutMs,
    headersTimeoutMs: config.runtime.headersTimeoutMs,
    keepAliveTimeoutMs: config.runtime.keepAliveTimeoutMs,
    maxRequestTargetBytes: config.runtime.maxRequestTargetBytes,
    hsts: config.tls.hsts,
  }
}

export interface HttpsListener {
  readonly server: Server
  /** `https://<host>:<port>` as bound (the real port when 0 was asked for). */
  readonly url: string
  readonly port: number
  /** Requests whose response has not finished. */
  inFlight(): number
  /**
   * Stops accepting connections, lets in-flight requests finish for up to `drainMs`, then closes
   * whatever is left. Resolves when the server is closed.
   */
  close(drainMs: number): Promise<void>
}

/**
 * How often node:http sweeps its connections for the headers and request timeouts: a tenth of the
 * shorter one, between 100 ms and 1 s, so a slow client is closed at most a second after its
 * timeout. Node's own default sweeps every 30 s, which let slow-header clients stay for up to
 * twice the headers timeout.
 */
export function connectionsCheckingIntervalMs(headersTimeoutMs: number, requestTimeoutMs: number): number {
  return Math.min(1000, Math.max(100, Math.floor(Math.min(headersTimeoutMs, requestTimeoutMs) / 10)))
}

export async function startHttpsListener(options: HttpsListenerOptions): Promise<HttpsListener> {
  if (options.headersTimeoutMs > options.requestTimeoutMs) {
    // node:http throws a RangeError for this at creation; say which settings are wrong instead.
    throw new FlowgateError('ERR_CONFIG_INVALID', {
      description: 'invalid configuration: runtime.headersTimeoutMs must not exceed runtime.requestTimeoutMs',
    })
  }
  const hsts = options.hsts ?? ''
  const maxTargetBytes = options.maxRequestTargetBytes
  const refusalHeaders = hsts === '' ? undefined : { 'strict-transport-security': hsts }
  let inFlight = 0
  let draining = false
  // One listener function for every response ('close' is emitted once): `once` with a closure
  // allocated a wrapper and a function per request.
  const finished = () => {
    inFlight--
  }
  const server = createServer(
    {
      cert: options.tls.cert,
      key: options.tls.key,
      minVersion: options.minVersion,
      ciphers,
      honorCipherOrder: true,
      // Client-initiated TLS 1.2 renegotiation costs the server a full handshake per request of
      // the client's; OpenSSL refuses it outright with this option (TLS 1.3 has none).
      secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
      requestTimeout: options.requestTimeoutMs,
      headersTimeout: options.headersTimeoutMs,
      connectionsCheckingInterval: connectionsCheckingIntervalMs(
        options.headersTimeoutMs,
        options.requestTimeoutMs,
      ),
      keepAliveTimeout: options.keepAliveTimeoutMs,
      // Host is checked by requestHeadRefusal, which answers with Flowgate's error body.
      requireHostHeader: false,
    },
    (req, res) => {
      inFlight++
      res.on('close', finished)
      const refusal = requestHeadRefusal(req, maxTargetBytes)
      if (refusal !== null) {
        sendError(res, refusal, refusalHeaders === undefined ? {} : { headers: refusalHeaders })
        return
      }
      // While draining, every answer closes its connection so keep-alive clients move elsewhere.
      if (draining) res.setHeader('connection', 'close')
      options.onRequest(req, res)
    },
  )
  // A bad handshake or a client that vanishes is not Flowgate's error; never let it crash the process.
  server.on('tlsClientError', () => {})
  server.on('clientError', createClientErrorHandler(hsts))

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address() as AddressInfo
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  const shownHost = host === '0.0.0.0' || host === '[::]' ? 'localhost' : host

  return {
    server,
    url: `https://${shownHost}:${address.port}`,
    port: address.port,
    inFlight: () => inFlight,
    close(drainMs) {
      draining = true
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeIdleConnections()
      const deadline = Date.now() + drainMs
      return new Promise<void>((resolve) => {
        const tick = () => {
          server.closeIdleConnections()
          if (inFlight === 0 || Date.now() >= deadline) {
            server.closeAllConnections()
            closed.then(resolve)
            return
          }
          setTimeout(tick, 25)
        }
        tick()
      })
    },
  }
}

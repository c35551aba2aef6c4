import type { IncomingMessage, ServerResponse } from 'node:http'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
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
  readonly onRequest: (req: IncomingMessage, res: ServerResponse) => void
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

export async function startHttpsListener(options: HttpsListenerOptions): Promise<HttpsListener> {
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
      requestTimeout: options.requestTimeoutMs,
      headersTimeout: options.headersTimeoutMs,
      keepAliveTimeout: options.keepAliveTimeoutMs,
    },
    (req, res) => {
      inFlight++
      res.on('close', finished)
      // While draining, every answer closes its connection so keep-alive clients move elsewhere.
      if (draining) res.setHeader('connection', 'close')
      options.onRequest(req, res)
    },
  )
  // A bad handshake or a client that vanishes is not Flowgate's error; never let it crash the process.
  server.on('tlsClientError', () => {})
  server.on('clientError', (_error, socket) => {
    if (socket.writable)
      socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n')
    else socket.destroy()
  })

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

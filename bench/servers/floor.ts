import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'
import { createServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { Pool } from 'undici'
import { localhostCertificate } from './localhost-certificate.ts'
import { serveBench } from './serve.ts'

/**
 * The floor: the least a TLS-terminating Node.js proxy can do. No authentication, no logging, no
 * routing; hop-by-hop headers removed both ways (RFC 9110 §7.6.1), and the partner's
 * `authorization` header not passed on (the least a proxy in front of CPI must do with it), and
 * bodies streamed both ways with undici's `stream`, which writes the upstream body straight into
 * the response.
 */
interface FloorOptions {
  readonly upstream: string
}

const notForwarded = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'host',
  'authorization',
])

function endToEnd(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>) {
  const kept: Record<string, string | string[]> = {}
  for (const name in headers) {
    const value = headers[name]
    if (value !== undefined && !notForwarded.has(name)) kept[name] = value
  }
  return kept
}

// One factory for every request (the response travels as `opaque`), so no closure per request.
function intoResponse({
  statusCode,
  headers,
  opaque,
}: {
  statusCode: number
  headers: Record<string, string | string[] | undefined>
  opaque: unknown
}): ServerResponse {
  const res = opaque as ServerResponse
  res.writeHead(statusCode, endToEnd(headers))
  return res
}

serveBench<FloorOptions>(async (options) => {
  const pool = new Pool(options.upstream, { keepAliveTimeout: 60_000 })
  const certificate = await localhostCertificate()

  function fail(res: ServerResponse): void {
    if (res.headersSent) res.destroy()
    else res.writeHead(502, { 'content-length': '0' }).end()
  }

  const server = createServer(
    { cert: certificate.cert, key: certificate.key, keepAliveTimeout: 120_000 },
    (req: IncomingMessage, res: ServerResponse) => {
      const hasBody =
        req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined
      pool
        .stream(
          {
            method: req.method as string,
            path: req.url as string,
            headers: endToEnd(req.headers),
            body: hasBody ? req : null,
            opaque: res,
          },
          intoResponse,
        )
        .catch(() => fail(res))
    },
  )
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `https://127.0.0.1:${port}`,
    info: { ca: certificate.cert },
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await pool.close()
    },
  }
})

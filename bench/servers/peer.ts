import proxy from '@fastify/http-proxy'
import Fastify from 'fastify'
import { localhostCertificate } from './localhost-certificate.ts'
import { serveBench } from './serve.ts'

/**
 * The peer: @fastify/http-proxy in front of the same upstream, with TLS and no authentication —
 * the best-known Node.js proxy as most people would deploy it.
 */
interface PeerOptions {
  readonly upstream: string
}

serveBench<PeerOptions>(async (options) => {
  const certificate = await localhostCertificate()
  const app = Fastify({
    logger: false,
    https: { cert: certificate.cert, key: certificate.key },
    keepAliveTimeout: 120_000,
    // The 1 GiB streamed POST must not be cut off by fastify's 1 MiB default.
    bodyLimit: 2 ** 31,
  })
  await app.register(proxy, { upstream: options.upstream, prefix: '/' })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  return { url: `https://127.0.0.1:${port}`, info: { ca: certificate.cert }, close: () => app.close() }
})

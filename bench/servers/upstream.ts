import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serveBench } from './serve.ts'

/** About 200 bytes, the size of a typical iFlow acknowledgement. */
const body = Buffer.from(
  JSON.stringify({
    status: 'accepted',
    messageId: 'AGcVkq2m3X0bWc1y8rT7pQh9Lz4N',
    correlationId: '6c1f0e9a-3b5d-4c2e-9f7a-1d8b2e4c6a0f',
    receivedAt: '2025-07-02T00:17:31.919Z',
    detail: 'the message was accepted for processing by the integration flow',
  }),
)
const headers = { 'content-type': 'application/json', 'content-length': String(body.length) }

serveBench<Record<string, never>>(async () => {
  // The body is drained before answering, as an iFlow reads the whole message first.
  const server = createServer({ keepAliveTimeout: 120_000 }, (req, res) => {
    req.on('end', () => res.writeHead(200, headers).end(body))
    req.resume()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
})

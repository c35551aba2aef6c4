import { once } from 'node:events'
import { createServer } from 'node:net'

/**
 * A loopback port free a moment ago, for a child process that must be told its port before it
 * starts (`flowgate start`, `flowgate demo`); an in-process server listens on port 0 instead.
 */
export async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

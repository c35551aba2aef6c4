import { once } from 'node:events'
import { connect, createServer, type Socket } from 'node:net'
import { type OpenedBackend, storeBackends } from './databases.ts'

export interface CuttableProxy {
  /** Where clients connect: 127.0.0.1 and this port. */
  readonly port: number
  /** Closes every connection and stops listening: clients are refused, as by a stopped server. */
  cut(): Promise<void>
  /** Listens again on the same port. */
  restore(): Promise<void>
  close(): Promise<void>
}

/**
 * A TCP proxy on loopback to `target`, which a test can cut and restore: the process behind it sees
 * its server go away (connections reset, new ones refused) and come back, without stopping a server
 * that other tests share.
 */
export async function startCuttableProxy(target: { host: string; port: number }): Promise<CuttableProxy> {
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    const upstream = connect(target.port, target.host)
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
      socket.on('error', () => {
        client.destroy()
        upstream.destroy()
      })
    }
    client.pipe(upstream).pipe(client)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  let listening = true

  async function cut(): Promise<void> {
    if (!listening) return
    listening = false
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    for (const socket of sockets) socket.destroy()
    await closed
  }

  return {
    port,
    cut,
    async restore() {
      if (listening) return
      server.listen(port, '127.0.0.1')
      await once(server, 'listening')
      listening = true
    },
    close: cut,
  }
}

/**
 * A fresh PostgreSQL test database (dropped after the test), a proxy to its server, and the
 * database's URL through the proxy.
 */
export async function proxiedPostgres(t: {
  after: (fn: () => unknown) => void
}): Promise<{ opened: OpenedBackend; proxy: CuttableProxy; url: string }> {
  const postgres = storeBackends().find((backend) => backend.name === 'postgres')
  if (postgres === undefined) throw new Error('no PostgreSQL backend')
  const opened = await postgres.open()
  t.after(() => opened.drop())
  const direct = new URL(opened.url)
  const proxy = await startCuttableProxy({ host: direct.hostname, port: Number(direct.port || 5432) })
  t.after(() => proxy.close())
  const proxied = new URL(opened.url)
  proxied.hostname = '127.0.0.1'
  proxied.port = String(proxy.port)
  return { opened, proxy, url: proxied.toString() }
}

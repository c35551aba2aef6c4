import { type ConnectionOptions, connect, type TLSSocket } from 'node:tls'
import { clientCredentialsToken } from '../helpers/client-credentials.ts'
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { type RecordingUpstream, startRecordingUpstream } from '../helpers/recording-upstream.ts'

/** A real gateway with one partner and flows to a recording upstream, for attacks sent as raw bytes. */
export interface RawGateway {
  readonly env: TestGateway
  readonly upstream: RecordingUpstream
  /** A valid partner token for every flow. */
  readonly token: string
  /** `localhost:<port>` of the runtime listener, as a client's Host header says it. */
  readonly host: string
  readonly runtimeUrl: string
  close(): Promise<void>
}

/** Flows `/orders` (GET, POST) and `/big` (GET), no CSRF, both to the recording upstream. */
export async function startRawGateway(overrides: Record<string, unknown> = {}): Promise<RawGateway> {
  const upstream = await startRecordingUpstream()
  const env = await startTestGateway(overrides)
  const { identity, flows } = env.gateway
  const admin = { actor: 'test', sourceAddress: null }
  await flows.createFlow(
    { address: '/orders', upstream: `${upstream.origin}/cpi/orders`, methods: ['GET', 'POST'], csrf: false },
    admin,
  )
  await flows.createFlow(
    { address: '/big', upstream: `${upstream.origin}/cpi/big`, methods: ['GET'], csrf: false },
    admin,
  )
  await identity.createInstance('partner', 'integration-flow', { roles: ['ESBMessaging.send'] }, admin)
  const key = await identity.createServiceKey('partner', 'k1', {}, admin)
  const token = await clientCredentialsToken(`${env.gateway.runtimeUrl}/oauth/token`, key, env.dispatcher)
  const runtimeUrl = env.gateway.runtimeUrl
  return {
    env,
    upstream,
    token,
    host: `localhost:${new URL(runtimeUrl).port}`,
    runtimeUrl,
    async close() {
      await env.close()
      await upstream.close()
    },
  }
}

/** A TLS connection to a listener of the gateway, trusting its certificate, once the handshake is done. */
export function connectTls(
  url: string,
  ca: string,
  options: Partial<ConnectionOptions> = {},
): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect(
      { host: '127.0.0.1', port: Number(new URL(url).port), ca, servername: 'localhost', ...options },
      () => {
        socket.off('error', reject)
        resolve(socket)
      },
    )
    socket.once('error', reject)
  })
}

export interface RawAnswer {
  readonly status: number
  /** Lower-cased names; the last value of a repeated header. */
  readonly headers: Record<string, string>
  readonly body: string
  /** True when the server closed the connection after the answer. */
  readonly closed: boolean
}

export function parseAnswer(text: string, closed: boolean): RawAnswer {
  const split = text.indexOf('\r\n\r\n')
  const head = split === -1 ? text : text.slice(0, split)
  const [statusLine = '', ...lines] = head.split('\r\n')
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim()
  }
  return {
    status: Number(statusLine.slice(9, 12)),
    headers,
    body: split === -1 ? '' : text.slice(split + 4),
    closed,
  }
}

/**
 * Sends bytes as they are, in one write, to the runtime listener (or `url`) and returns the answer
 * once the server has closed the connection (or after 5 s, with `closed: false`). The client never half-closes first: a
 * half-closed client counts as gone.
 */
export async function rawExchange(
  gateway: RawGateway,
  request: string | Buffer,
  url = gateway.runtimeUrl,
): Promise<RawAnswer> {
  const waitMs = 5000
  const socket = await connectTls(url, gateway.env.gateway.certificate)
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    const done = (closed: boolean) => {
      clearTimeout(timer)
      socket.destroy()
      resolve(parseAnswer(Buffer.concat(chunks).toString('latin1'), closed))
    }
    const timer = setTimeout(() => done(false), waitMs)
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('end', () => done(true))
    // A reset after the answer (the server closing with request bytes unread) still ends the exchange.
    socket.on('error', () => done(true))
    socket.write(request)
  })
}

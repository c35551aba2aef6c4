import { randomBytes, randomUUID } from 'node:crypto'
import { createServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { FlowgateError } from '../lib/errors.ts'
import { sendError } from '../lib/http-error.ts'
import { type Behaviour, createBehaviourTable } from './behaviour.ts'
import { type AuthMode, createIflowEndpoint } from './iflow-endpoint.ts'
import { createOpaqueTokenStore } from './opaque-tokens.ts'
import { createRequestLog, type RecordedRequest } from './request-log.ts'
import { createTokenEndpoint } from './token-endpoint.ts'

export type { Behaviour } from './behaviour.ts'
export type { AuthMode } from './iflow-endpoint.ts'
export type { RecordedRequest } from './request-log.ts'

export interface CpiSimulatorOptions {
  readonly tls: { readonly cert: string; readonly key: string }
  /** Default 127.0.0.1. */
  readonly host?: string
  /** Default 0: an ephemeral port. */
  readonly port?: number
  /** What `/http/…` accepts: a token from `/oauth/token`, the Basic user, either (default) or nothing. */
  readonly auth?: AuthMode
  /** PEM CA; when set, every connection must present a client certificate it issued (mutual TLS). */
  readonly clientCa?: string
  /** `expires_in` of issued tokens, after which they are refused. Default 3600. */
  readonly tokenValiditySeconds?: number
  /** Milliseconds since the epoch; inject a frozen clock to test expiry. */
  readonly now?: () => number
}

/** The SAP service key of the simulator's own OAuth client, in the shape SAP prints. */
export interface CpiServiceKey {
  readonly oauth: {
    readonly clientid: string
    readonly clientsecret: string
    readonly url: string
    readonly createdate: string
    readonly tokenurl: string
  }
}

export interface CpiSimulator {
  /** `https://127.0.0.1:<port>` (the bound host and port). */
  readonly url: string
  readonly serviceKey: CpiServiceKey
  readonly basic: { readonly username: string; readonly password: string }
  /** Every `/http/…` call that reached the simulator, in arrival order. */
  readonly requests: readonly RecordedRequest[]
  /** Requests to `/oauth/token`, answered or refused. */
  readonly tokenRequests: number
  /** Applies to `/http<prefix>` and everything below it (segment-wise, case-insensitive; longest wins). */
  setBehaviour(addressPrefix: string, behaviour: Behaviour): void
  clearBehaviours(): void
  /** Forgets recorded requests and resets `tokenRequests`. */
  clearRecords(): void
  /** Every token issued so far is refused from now on, as after a key rotation on the CPI side. */
  revokeAllTokens(): void
  /** Resolves with the first recorded request (past or future) that matches; rejects after `timeoutMs`. */
  waitForRequest(
    predicate: (request: RecordedRequest) => boolean,
    timeoutMs?: number,
  ): Promise<RecordedRequest>
  close(): Promise<void>
}

const authModes: readonly AuthMode[] = ['oauth', 'basic', 'either', 'none']
const gatewayName = 'it-rt-cpi-simulator!b2'
/** Bounds for tokens kept in memory; far above what a test or a demo issues. */
const tokenCapacity = 100_000

function invalid(reason: string): FlowgateError {
  return new FlowgateError('ERR_CONFIG_INVALID', { description: `invalid CPI simulator options: ${reason}` })
}

function checkOptions(options: CpiSimulatorOptions): Required<Omit<CpiSimulatorOptions, 'clientCa'>> & {
  clientCa: string | undefined
} {
  const {
    tls,
    host = '127.0.0.1',
    port = 0,
    auth = 'either',
    clientCa,
    tokenValiditySeconds = 3600,
  } = options
  const now = options.now ?? Date.now
  if (typeof tls?.cert !== 'string' || tls.cert === '' || typeof tls.key !== 'string' || tls.key === '') {
    throw invalid('tls.cert and tls.key must be PEM strings')
  }
  if (typeof host !== 'string' || host === '') throw invalid('host must be a non-empty string')
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw invalid('port must be an integer from 0 to 65535')
  if (!authModes.includes(auth)) throw invalid(`auth must be one of ${authModes.join(', ')}`)
  if (clientCa !== undefined && (typeof clientCa !== 'string' || clientCa === '')) {
    throw invalid('clientCa must be a PEM string')
  }
  if (!Number.isInteger(tokenValiditySeconds) || tokenValiditySeconds < 1) {
    throw invalid('tokenValiditySeconds must be a positive integer')
  }
  if (typeof now !== 'function') throw invalid('now must be a function')
  return { tls, host, port, auth, clientCa, tokenValiditySeconds, now }
}

/**
 * A small stand-in for SAP Cloud Integration, for tests and the demo: an HTTPS server with its own
 * XSUAA-like token endpoint (`POST /oauth/token`) and iFlow endpoints at `/http/<address>` that echo
 * what they received, answer with `SAP_MessageProcessingLogID`, record every call, and can be told
 * per address to be CSRF-protected, slow, failing, resetting, redirecting or large.
 */
export async function startCpiSimulator(options: CpiSimulatorOptions): Promise<CpiSimulator> {
  const { tls, host, port, auth, clientCa, tokenValiditySeconds, now } = checkOptions(options)
  const clientId = `sb-${randomUUID()}!b1|${gatewayName}`
  // Shaped like an XSUAA secret (`<uuid>$<base64>`): `$`, `+`, `/` and `=` exercise client encoding.
  const clientSecret = `${randomUUID()}$${randomBytes(33).toString('base64')}`
  const basic = Object.freeze({ username: 'cpi-simulator', password: randomBytes(24).toString('base64url') })
  const accessTokens = createOpaqueTokenStore({
    lifetimeMs: tokenValiditySeconds * 1000,
    now,
    capacity: tokenCapacity,
  })
  // CPI's CSRF token lives as long as the session behind it (30 minutes by default).
  const csrfTokens = createOpaqueTokenStore({ lifetimeMs: 30 * 60_000, now, capacity: tokenCapacity })
  const behaviours = createBehaviourTable()
  const log = createRequestLog()
  let tokenRequests = 0

  const tokenEndpoint = createTokenEndpoint({
    clientId,
    clientSecret,
    scope: `${gatewayName}.ESBMessaging.send`,
    validitySeconds: tokenValiditySeconds,
    tokens: accessTokens,
  })
  const iflowEndpoint = createIflowEndpoint({
    auth,
    basic,
    accessTokens,
    csrfTokens,
    behaviours,
    log,
    now,
    mutualTls: clientCa !== undefined,
  })
  const notFound = new FlowgateError('ERR_NOT_FOUND')

  const server = createServer(
    {
      cert: tls.cert,
      key: tls.key,
      minVersion: 'TLSv1.2',
      ...(clientCa !== undefined && { ca: clientCa, requestCert: true, rejectUnauthorized: true }),
    },
    (req, res) => {
      // The path is taken verbatim (no URL parsing) so records show exactly what a gateway sent.
      const target = req.url ?? '/'
      const mark = target.indexOf('?')
      const path = mark === -1 ? target : target.slice(0, mark)
      const query = mark === -1 ? '' : target.slice(mark + 1)
      if (path === '/oauth/token') {
        tokenRequests++
        void tokenEndpoint(req, res, query)
      } else if (path === '/http' || path.startsWith('/http/')) {
        iflowEndpoint(req, res, path, query)
      } else {
        req.resume()
        sendError(res, notFound)
      }
    },
  )

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address() as AddressInfo
  const shownHost =
    address.address === '0.0.0.0' || address.address === '::'
      ? '127.0.0.1'
      : address.family === 'IPv6'
        ? `[${address.address}]`
        : address.address
  const url = `https://${shownHost}:${address.port}`
  const serviceKey: CpiServiceKey = Object.freeze({
    oauth: Object.freeze({
      clientid: clientId,
      clientsecret: clientSecret,
      url,
      createdate: new Date(now()).toISOString(),
      tokenurl: `${url}/oauth/token`,
    }),
  })

  return {
    url,
    serviceKey,
    basic,
    get requests() {
      return log.entries
    },
    get tokenRequests() {
      return tokenRequests
    },
    setBehaviour: (addressPrefix, behaviour) => behaviours.set(addressPrefix, behaviour),
    clearBehaviours: () => behaviours.clear(),
    clearRecords() {
      log.clear()
      tokenRequests = 0
    },
    revokeAllTokens: () => accessTokens.revokeAll(),
    waitForRequest: (predicate, timeoutMs = 5000) => log.waitFor(predicate, timeoutMs),
    close() {
      log.cancelWaiters()
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeAllConnections()
      return closed
    },
  }
}

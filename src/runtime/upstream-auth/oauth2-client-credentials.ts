import { type Dispatcher, request } from 'undici'
import { FlowgateError } from '../../lib/errors.ts'
import type { Logger } from '../../lib/logger.ts'
import { shortHash } from '../../lib/logger.ts'
import type { UpstreamAuth } from './upstream-auth.ts'

export interface OAuthClientCredentialsOptions {
  readonly key: string
  readonly connection: string
  readonly tokenUrl: string
  readonly clientId: string
  readonly clientSecret: string
  /** Dispatcher for the token endpoint (carries the upstream CA configuration). */
  readonly dispatcher: Dispatcher
  readonly logger: Logger
  readonly now: () => number
  /** Upper bound of one token request. */
  readonly timeoutMs?: number
}

/** Tokens are renewed this long before they expire, or after 90% of a shorter lifetime. */
const renewMarginMs = 60_000
/** Lifetime assumed when the token endpoint does not say (RFC 6749 makes expires_in optional). */
const defaultLifetimeSeconds = 300
const maxTokenResponseBytes = 65_536

function authFailure(detail: string, cause?: unknown): FlowgateError {
  return new FlowgateError('ERR_UPSTREAM_AUTH', { detail, cause })
}

/**
 * OAuth 2.0 client credentials from an SAP service key. The token is fetched from the key's
 * `tokenurl` with HTTP Basic client authentication, cached until shortly before it expires, and
 * fetched by one request at a time: concurrent callers share the fetch in flight. After a 401 from
 * the upstream the cached token is forgotten, so one fresh fetch follows.
 *
 * The Basic credentials are `clientid:clientsecret` as SAP prints them, not form-encoded: that is
 * what XSUAA and SAP's own tooling send, and XSUAA client ids hold `!` and `|`.
 */
export function createOAuthClientCredentialsAuth(options: OAuthClientCredentialsOptions): UpstreamAuth {
  const { key, connection, tokenUrl, dispatcher, logger, now } = options
  const timeoutMs = options.timeoutMs ?? 10_000
  const basic = `Basic ${Buffer.from(`${options.clientId}:${options.clientSecret}`, 'utf8').toString('base64')}`
  const body = 'grant_type=client_credentials'

  let current: string | null = null
  let renewAt = 0
  let inFlight: Promise<string> | null = null
  let closed = false

  async function fetchToken(): Promise<string> {
    let response: Dispatcher.ResponseData
    try {
      response = await request(tokenUrl, {
        dispatcher,
        method: 'POST',
        headers: {
          authorization: basic,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      })
    } catch (cause) {
      throw authFailure(
        `token endpoint of connection ${connection} unreachable: ${(cause as Error).message}`,
        cause,
      )
    }
    const chunks: Buffer[] = []
    let size = 0
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      size += chunk.length
      if (size > maxTokenResponseBytes) {
        response.body.destroy()
        throw authFailure(`token endpoint of connection ${connection} sent an oversized response`)
      }
      chunks.push(chunk)
    }
    if (response.statusCode !== 200) {
      throw authFailure(`token endpoint of connection ${connection} answered ${response.statusCode}`)
    }
    let parsed: { access_token?: unknown; token_type?: unknown; expires_in?: unknown }
    try {
      parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'))
    } catch {
      throw authFailure(`token endpoint of connection ${connection} sent no JSON`)
    }
    const token = parsed.access_token
    if (typeof token !== 'string' || token === '' || /[\s,]/.test(token)) {
      throw authFailure(`token endpoint of connection ${connection} sent no usable access_token`)
    }
    if (typeof parsed.token_type === 'string' && parsed.token_type.toLowerCase() !== 'bearer') {
      throw authFailure(`token endpoint of connection ${connection} sent token_type ${parsed.token_type}`)
    }
    const lifetimeMs =
      (typeof parsed.expires_in === 'number' && parsed.expires_in > 0
        ? parsed.expires_in
        : defaultLifetimeSeconds) * 1000
    const value = `Bearer ${token}`
    if (!closed) {
      current = value
      renewAt = now() + Math.max(0, lifetimeMs - Math.min(renewMarginMs, lifetimeMs / 10))
    }
    logger.debug({ connection, tokenHash: shortHash(token), lifetimeMs }, 'upstream token fetched')
    return value
  }

  return {
    key,
    refreshable: true,
    tls: null,
    async authorization() {
      if (current !== null && now() < renewAt) return current
      if (inFlight === null) {
        inFlight = fetchToken().finally(() => {
          inFlight = null
        })
      }
      return inFlight
    },
    rejected(used) {
      if (current === used) {
        current = null
        renewAt = 0
      }
    },
    close() {
      closed = true
      current = null
    },
  }
}

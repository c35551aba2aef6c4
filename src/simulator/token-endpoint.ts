import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { FlowgateError } from '../lib/errors.ts'
import { sendError } from '../lib/http-error.ts'
import { formDecodings, parseAuthorization } from './authorization-header.ts'
import { safeEqual } from './constant-time.ts'
import type { OpaqueTokenStore } from './opaque-tokens.ts'

export interface TokenEndpointOptions {
  readonly clientId: string
  readonly clientSecret: string
  /** The `scope` string of every token, like XSUAA's `<xsappname>.ESBMessaging.send`. */
  readonly scope: string
  readonly validitySeconds: number
  readonly tokens: OpaqueTokenStore
}

/** Token requests are a few hundred bytes; anything far larger is not a token request. */
const maxBodyBytes = 16 * 1024
const realm = 'cpi-simulator'

function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size <= maxBodyBytes) {
        chunks.push(chunk)
        return
      }
      // Answer at once (the caller closes the connection) instead of reading an unbounded body.
      req.off('data', onData)
      req.off('end', onEnd)
      reject(
        new FlowgateError('ERR_PAYLOAD_TOO_LARGE', {
          detail: `token request body over ${maxBodyBytes} bytes`,
        }),
      )
    }
    const onEnd = () => {
      if (size === 0) {
        resolve(new URLSearchParams())
        return
      }
      const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase()
      if (type !== 'application/x-www-form-urlencoded') {
        reject(
          new FlowgateError('ERR_OAUTH_INVALID_REQUEST', { detail: `token request body of type ${type}` }),
        )
        return
      }
      resolve(new URLSearchParams(Buffer.concat(chunks).toString('utf8')))
    }
    req.on('data', onData)
    req.once('end', onEnd)
    req.once('error', reject)
    // Settles nothing when the body was complete; otherwise the client went away mid-body.
    req.once('close', () => reject(new FlowgateError('ERR_BAD_REQUEST', { detail: 'token request aborted' })))
  })
}

/** The single value of a parameter that may come in the query string or the form body, never both differing. */
function parameter(name: string, query: URLSearchParams, form: URLSearchParams): string | undefined {
  const values = [...query.getAll(name), ...form.getAll(name)]
  if (values.length === 0) return undefined
  if (values.some((value) => value !== values[0])) {
    throw new FlowgateError('ERR_OAUTH_INVALID_REQUEST', { detail: `conflicting ${name} parameters` })
  }
  return values[0]
}

/**
 * `POST /oauth/token` as XSUAA answers it for a client-credentials service key: `grant_type` in the
 * query string or the form body, client credentials in HTTP Basic (plain or form-urlencoded) or as
 * `client_id`/`client_secret` in the body. Tokens are opaque; only this simulator validates them.
 */
export function createTokenEndpoint(
  options: TokenEndpointOptions,
): (req: IncomingMessage, res: ServerResponse, query: string) => Promise<void> {
  const { clientId, clientSecret, scope, validitySeconds, tokens } = options
  const challenge = { 'www-authenticate': `Basic realm="${realm}"` }

  const authenticate = (req: IncomingMessage, query: URLSearchParams, form: URLSearchParams): void => {
    const presented = parseAuthorization(req.headers.authorization)
    const bodySecret = parameter('client_secret', query, form)
    const bodyId = parameter('client_id', query, form)
    let id: string[]
    let secret: string[]
    if (presented.scheme === 'basic') {
      // RFC 6749 §2.3: one authentication method per request.
      if (bodySecret !== undefined) {
        throw new FlowgateError('ERR_OAUTH_INVALID_REQUEST', {
          detail: 'client secret in both Basic and body',
        })
      }
      id = formDecodings(presented.username)
      secret = formDecodings(presented.password)
      if (bodyId !== undefined && !id.includes(bodyId)) {
        throw new FlowgateError('ERR_OAUTH_INVALID_CLIENT', {
          detail: 'client_id differs from the Basic user',
          headers: challenge,
        })
      }
    } else if (presented.scheme === 'none' && bodyId !== undefined && bodySecret !== undefined) {
      id = [bodyId]
      secret = [bodySecret]
    } else {
      throw new FlowgateError('ERR_OAUTH_INVALID_CLIENT', {
        detail: `no usable client credentials (authorization scheme ${presented.scheme})`,
        headers: challenge,
      })
    }
    // Every comparison runs, so timing does not tell which part was wrong.
    const idMatches = id.map((value) => safeEqual(value, clientId)).includes(true)
    const secretMatches = secret.map((value) => safeEqual(value, clientSecret)).includes(true)
    if (!idMatches || !secretMatches) {
      throw new FlowgateError('ERR_OAUTH_INVALID_CLIENT', {
        detail: idMatches ? 'wrong client secret' : 'unknown client id',
        headers: challenge,
      })
    }
  }

  return async (req, res, rawQuery) => {
    try {
      if (req.method !== 'POST') {
        req.resume()
        throw new FlowgateError('ERR_METHOD_NOT_ALLOWED', { headers: { allow: 'POST' } })
      }
      const query = new URLSearchParams(rawQuery)
      const form = await readForm(req)
      authenticate(req, query, form)
      const grantType = parameter('grant_type', query, form)
      if (grantType === undefined) {
        throw new FlowgateError('ERR_OAUTH_INVALID_REQUEST', { detail: 'grant_type missing' })
      }
      if (grantType !== 'client_credentials') {
        throw new FlowgateError('ERR_OAUTH_UNSUPPORTED_GRANT_TYPE', { detail: `grant_type ${grantType}` })
      }
      const body = JSON.stringify({
        access_token: tokens.issue(),
        token_type: 'bearer',
        expires_in: validitySeconds,
        scope,
        jti: randomUUID().replaceAll('-', ''),
      })
      res.writeHead(200, {
        'content-type': 'application/json;charset=UTF-8',
        'content-length': Buffer.byteLength(body),
        'cache-control': 'no-store',
        pragma: 'no-cache',
      })
      res.end(body)
    } catch (error) {
      if (error instanceof FlowgateError && error.code === 'ERR_PAYLOAD_TOO_LARGE') {
        res.setHeader('connection', 'close')
      }
      sendError(res, error)
    }
  }
}

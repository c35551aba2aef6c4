import { createHash } from 'node:crypto'
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import type { TLSSocket } from 'node:tls'
import { FlowgateError } from '../lib/errors.ts'
import { bearerChallenge, sendError } from '../lib/http-error.ts'
import { parseAuthorization } from './authorization-header.ts'
import type { Behaviour, BehaviourTable } from './behaviour.ts'
import { safeEqual } from './constant-time.ts'
import { messageProcessingLogId } from './message-processing-log-id.ts'
import type { OpaqueTokenStore } from './opaque-tokens.ts'
import type { MutableRecordedRequest, RequestLog } from './request-log.ts'

export type AuthMode = 'oauth' | 'basic' | 'either' | 'none'

export interface IflowEndpointOptions {
  readonly auth: AuthMode
  readonly basic: { readonly username: string; readonly password: string }
  readonly accessTokens: OpaqueTokenStore
  readonly csrfTokens: OpaqueTokenStore
  readonly behaviours: BehaviourTable
  readonly log: RequestLog
  readonly now: () => number
  /** Client certificates are required and verified by the TLS layer; record their common name. */
  readonly mutualTls: boolean
}

const realm = 'cpi-simulator'
const modifying = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])
const fillerChunk = Buffer.alloc(64 * 1024, 'cpi-simulator ')

function challengeFor(auth: AuthMode): string {
  if (auth === 'oauth') return bearerChallenge(realm)
  if (auth === 'basic') return `Basic realm="${realm}"`
  return `${bearerChallenge(realm)}, Basic realm="${realm}"`
}

function headersOf(req: IncomingMessage): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {}
  for (const [name, value] of Object.entries(req.headers)) if (value !== undefined) headers[name] = value
  return headers
}

function commonNameOf(req: IncomingMessage): string | undefined {
  const cn: unknown = (req.socket as TLSSocket).getPeerCertificate().subject?.CN
  return Array.isArray(cn) ? cn.join(',') : typeof cn === 'string' ? cn : undefined
}

/** Streams `bytes` of filler with back-pressure, handing the last (possibly empty) chunk to `last`. */
function pumpFiller(res: ServerResponse, bytes: number, last: (chunk: Buffer) => void): void {
  let left = bytes
  const pump = () => {
    while (!res.destroyed) {
      const size = Math.min(left, fillerChunk.length)
      const chunk = size === fillerChunk.length ? fillerChunk : fillerChunk.subarray(0, size)
      left -= size
      if (left === 0) {
        last(chunk)
        return
      }
      if (!res.write(chunk)) {
        res.once('drain', pump)
        return
      }
    }
  }
  pump()
}

/**
 * `/http/<address>`: what an iFlow behind CPI's HTTPS sender adapter does, reduced to what a
 * gateway's tests need to see. Every call is recorded once its body has been read (or abandoned);
 * the response echoes what arrived, unless a behaviour registered for the address says otherwise.
 */
export function createIflowEndpoint(
  options: IflowEndpointOptions,
): (req: IncomingMessage, res: ServerResponse, path: string, query: string) => void {
  const { auth, basic, accessTokens, csrfTokens, behaviours, log, now, mutualTls } = options
  const challenge = challengeFor(auth)
  const acceptsBearer = auth === 'oauth' || auth === 'either'
  const acceptsBasic = auth === 'basic' || auth === 'either'

  const authenticate = (
    header: string | undefined,
  ): { error: FlowgateError; challenge: string } | undefined => {
    if (auth === 'none') return undefined
    const presented = parseAuthorization(header)
    if (presented.scheme === 'bearer' && acceptsBearer) {
      if (accessTokens.isValid(presented.token)) return undefined
      const error = new FlowgateError('ERR_TOKEN_INVALID', { detail: 'unknown, expired or revoked token' })
      const bearer = bearerChallenge(realm, error)
      return { error, challenge: acceptsBasic ? `${bearer}, Basic realm="${realm}"` : bearer }
    }
    if (presented.scheme === 'basic' && acceptsBasic) {
      const userMatches = safeEqual(presented.username, basic.username)
      const passwordMatches = safeEqual(presented.password, basic.password)
      if (userMatches && passwordMatches) return undefined
      return {
        error: new FlowgateError('ERR_TOKEN_MISSING', { detail: 'wrong Basic credentials' }),
        challenge,
      }
    }
    return {
      error: new FlowgateError('ERR_TOKEN_MISSING', { detail: `authorization scheme ${presented.scheme}` }),
      challenge,
    }
  }

  return (req, res, path, query) => {
    const time = now()
    const entry: MutableRecordedRequest = {
      method: req.method ?? 'GET',
      path,
      query,
      headers: headersOf(req),
      bytes: 0,
      sha256: '',
      aborted: false,
      time,
      messageProcessingLogId: messageProcessingLogId(time),
      clientCertificateCommonName: mutualTls ? commonNameOf(req) : undefined,
      status: undefined,
    }
    // CPI sends the id on every answer of a flow call, errors included.
    res.setHeader('SAP_MessageProcessingLogID', entry.messageProcessingLogId)
    const hash = createHash('sha256')
    let bodyDone = false
    // Set when the simulator cuts the connection itself, which is a behaviour, not a client abort.
    let resetByUs = false

    const writeHead = (status: number, headers: OutgoingHttpHeaders) => {
      entry.status = status
      res.writeHead(status, headers)
      log.changed()
    }

    const fail = (error: FlowgateError, headers?: Record<string, string>, wwwAuthenticate?: string) => {
      entry.status = error.status
      sendError(res, error, { ...(headers && { headers }), ...(wwwAuthenticate && { wwwAuthenticate }) })
      log.changed()
    }

    const reset = () => {
      resetByUs = true
      req.socket.destroy()
    }

    const run = (behaviour: Behaviour | undefined) => {
      if (behaviour?.reset === 'before-response') {
        reset()
        return
      }
      const status = behaviour?.status ?? (behaviour?.redirect === undefined ? 200 : 302)
      const headers: OutgoingHttpHeaders = {}
      let body: Buffer | undefined
      if (behaviour?.redirect !== undefined) {
        headers.location = behaviour.redirect
        body = Buffer.from(behaviour.body ?? '')
        if (body.length > 0) headers['content-type'] = 'text/plain; charset=utf-8'
      } else if (behaviour?.responseBytes !== undefined) {
        headers['content-type'] = 'application/octet-stream'
      } else if (behaviour?.body !== undefined) {
        body = Buffer.from(behaviour.body)
        headers['content-type'] = 'text/plain; charset=utf-8'
      } else {
        const contentType = req.headers['content-type'] ?? null
        body = Buffer.from(
          JSON.stringify({
            received: {
              method: entry.method,
              path,
              query,
              bytes: entry.bytes,
              sha256: entry.sha256,
              contentType,
            },
            iflow: path.slice('/http'.length) || '/',
          }),
        )
        headers['content-type'] = 'application/json'
      }
      Object.assign(headers, behaviour?.headers)
      const total = body?.length ?? behaviour?.responseBytes ?? 0
      headers['content-length'] = total
      const midReset = behaviour?.reset === 'mid-response'
      writeHead(status, headers)
      if (midReset) res.flushHeaders()
      // The last chunk either ends the response or, mid-response, is the final half before the cut.
      const send = midReset ? (chunk: Buffer) => res.write(chunk, reset) : (chunk: Buffer) => res.end(chunk)
      if (body === undefined) pumpFiller(res, midReset ? Math.floor(total / 2) : total, send)
      else send(midReset ? body.subarray(0, Math.floor(body.length / 2)) : body)
    }

    const respond = () => {
      const denied = authenticate(req.headers.authorization)
      if (denied !== undefined) {
        fail(denied.error, undefined, denied.challenge)
        return
      }
      const behaviour = behaviours.match(path.slice('/http'.length))
      if (behaviour?.csrf === true) {
        const header = req.headers['x-csrf-token']
        const presented = typeof header === 'string' ? header : undefined
        if ((req.method === 'GET' || req.method === 'HEAD') && presented?.toLowerCase() === 'fetch') {
          // CPI answers a fetch itself; the flow does not run.
          writeHead(200, {
            'X-CSRF-Token': csrfTokens.issue(),
            'cache-control': 'no-store',
            'content-length': 0,
          })
          res.end()
          return
        }
        if (modifying.has(entry.method) && (presented === undefined || !csrfTokens.isValid(presented))) {
          fail(new FlowgateError('ERR_CSRF_REQUIRED', { detail: 'missing or unknown CSRF token' }), {
            'X-CSRF-Token': 'Required',
          })
          return
        }
      }
      const delayMs = behaviour?.delayMs ?? 0
      if (delayMs === 0) {
        run(behaviour)
        return
      }
      const timer = setTimeout(run, delayMs, behaviour)
      res.once('close', () => clearTimeout(timer))
    }

    req.on('data', (chunk: Buffer) => {
      entry.bytes += chunk.length
      hash.update(chunk)
    })
    req.once('end', () => {
      bodyDone = true
      entry.sha256 = hash.digest('hex')
      log.add(entry)
      respond()
    })
    res.once('close', () => {
      if (!bodyDone) {
        bodyDone = true
        entry.aborted = true
        entry.sha256 = hash.digest('hex')
        log.add(entry)
      } else if (!res.writableFinished && !resetByUs) {
        entry.aborted = true
        log.changed()
      }
    })
  }
}

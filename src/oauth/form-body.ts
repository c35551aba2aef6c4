import type { IncomingMessage } from 'node:http'
import { FlowgateError } from '../lib/errors.ts'

/** Token, introspection and revocation requests are a few hundred bytes; nothing near this is legitimate. */
export const maxFormBodyBytes = 8192

const formMediaType = 'application/x-www-form-urlencoded'

function tooLarge(detail: string): FlowgateError {
  // The rest of the body is never read: closing the connection is the only clean way out.
  return new FlowgateError('ERR_PAYLOAD_TOO_LARGE', { detail, headers: { connection: 'close' } })
}

function invalidRequest(description: string, detail?: string): FlowgateError {
  return new FlowgateError('ERR_OAUTH_INVALID_REQUEST', {
    description,
    ...(detail === undefined ? {} : { detail }),
  })
}

/**
 * Decodes one `application/x-www-form-urlencoded` string (also RFC 6749 Appendix B): `+` is a
 * space, then percent-decoding. Returns undefined for a malformed escape.
 */
export function formDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replaceAll('+', ' '))
  } catch {
    return undefined
  }
}

/** Parses form-encoded parameters; a parameter given twice is an invalid request (RFC 6749 §3.2). */
export function parseForm(text: string, into: Map<string, string> = new Map()): Map<string, string> {
  if (text === '') return into
  for (const pair of text.split('&')) {
    if (pair === '') continue
    const equals = pair.indexOf('=')
    const name = formDecode(equals === -1 ? pair : pair.slice(0, equals))
    const value = formDecode(equals === -1 ? '' : pair.slice(equals + 1))
    if (name === undefined || value === undefined) {
      throw invalidRequest('malformed form encoding', 'a parameter has an invalid percent escape')
    }
    if (into.has(name)) {
      throw invalidRequest(
        'a parameter is given more than once',
        `parameter ${name.slice(0, 40)} is duplicated (query and body count together)`,
      )
    }
    into.set(name, value)
  }
  return into
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length']
  if (length !== undefined) return length !== '0'
  return req.headers['transfer-encoding'] !== undefined
}

/**
 * Reads a form body of at most `limit` bytes. An empty body is fine whatever its content type;
 * a body of any other media type is refused (`invalid_request`) before it is read, and so is one
 * announced or found to be larger than the limit.
 */
export async function readFormBody(req: IncomingMessage, limit: number = maxFormBodyBytes): Promise<string> {
  if (!hasBody(req)) {
    req.resume()
    return ''
  }
  const mediaType = (req.headers['content-type'] ?? '').split(';', 1)[0]?.trim().toLowerCase()
  if (mediaType !== formMediaType) {
    // An RFC 6749 error code, not 415: OAuth clients only know how to read those (§5.2).
    throw new FlowgateError('ERR_OAUTH_INVALID_REQUEST', {
      description: `the request body must be ${formMediaType}`,
      detail: `content type ${mediaType === '' ? '(none)' : mediaType?.slice(0, 60)}`,
      headers: { connection: 'close' },
    })
  }
  const announced = Number(req.headers['content-length'] ?? Number.NaN)
  if (announced > limit) throw tooLarge(`content-length ${announced} exceeds ${limit}`)

  return await new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const cleanup = () => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onError)
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        cleanup()
        req.pause()
        reject(tooLarge(`body exceeds ${limit} bytes`))
        return
      }
      chunks.push(chunk)
    }
    const onEnd = () => {
      cleanup()
      resolve(Buffer.concat(chunks).toString('utf8'))
    }
    const onError = (error: Error) => {
      cleanup()
      reject(new FlowgateError('ERR_BAD_REQUEST', { detail: 'request body aborted', cause: error }))
    }
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onError)
  })
}

/** Secrets in a URL end up in proxy and server logs (RFC 6749 §2.3.1, RFC 7009 §2.1). */
const bodyOnly = ['client_secret', 'token']

/**
 * Query and body parameters together (SAP clients send `?grant_type=client_credentials` with an
 * empty body): a name in both is a duplicate, as it would be within one.
 */
export async function readParameters(req: IncomingMessage): Promise<Map<string, string>> {
  const url = req.url ?? ''
  const query = url.indexOf('?')
  const params = parseForm(query === -1 ? '' : url.slice(query + 1))
  for (const name of bodyOnly) {
    if (params.has(name)) {
      req.resume()
      throw invalidRequest(`${name} must be sent in the request body, not in the URL`)
    }
  }
  return parseForm(await readFormBody(req), params)
}

import { STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'
import { type ErrorCode, FlowgateError } from './errors.ts'
import { renderError } from './http-error.ts'

/** How long a refused connection may take to read the answer and close before it is destroyed. */
const lingerMs = 1000

/** Which Flowgate error a node:http `clientError` stands for, or null when it deserves no answer. */
function errorCodeOf(code: string | undefined): ErrorCode | null {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return 'ERR_HEADERS_TOO_LARGE'
    case 'HPE_INVALID_VERSION':
      return 'ERR_HTTP_VERSION_NOT_SUPPORTED'
    case 'HPE_INVALID_TRANSFER_ENCODING':
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
    case 'HPE_INVALID_CONTENT_LENGTH':
    case 'HPE_INVALID_CHUNK_SIZE':
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return 'ERR_BAD_FRAMING'
    // The headers timeout and the request timeout both arrive as this code.
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 'ERR_REQUEST_TIMEOUT'
    default:
      // Every other llhttp error is a request that cannot be parsed; TLS and socket errors
      // (resets, renegotiation attempts) leave nothing to answer on.
      return code?.startsWith('HPE_') ? 'ERR_MALFORMED_REQUEST' : null
  }
}

function rawAnswer(code: ErrorCode, hsts: string): string {
  const { status, headers, body } = renderError(new FlowgateError(code), {
    headers:
      hsts === '' ? { connection: 'close' } : { connection: 'close', 'strict-transport-security': hsts },
  })
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n`
  for (const name in headers) head += `${name}: ${headers[name]}\r\n`
  return `${head}\r\n${body}`
}

/** A socket with node:http's in-flight response, which it keeps on `_httpMessage`. */
type ServerSocket = Duplex & { _httpMessage?: { headersSent: boolean } | null }

/**
 * The listener's `clientError` handler. node:http answers its parse errors with an empty 400 (or
 * nothing at all, once a handler is installed); this one answers with Flowgate's JSON error body
 * and the right status (431, 505, 408, 400), then closes the connection. The answers are rendered
 * once, when the listener starts. Nothing is written into a response already under way.
 */
export function createClientErrorHandler(hsts: string): (error: Error, socket: Duplex) => void {
  const answers = new Map<ErrorCode, string>()
  const answerOf = (code: ErrorCode): string => {
    let answer = answers.get(code)
    if (answer === undefined) {
      answer = rawAnswer(code, hsts)
      answers.set(code, answer)
    }
    return answer
  }
  return (error, socket) => {
    // Already answered: the parser reports every later chunk of the same bad request again.
    if (socket.writableEnded) return
    const code = errorCodeOf((error as NodeJS.ErrnoException).code)
    const inFlight = (socket as ServerSocket)._httpMessage
    if (code === null || !socket.writable || inFlight?.headersSent === true) {
      socket.destroy()
      return
    }
    // Ending (not destroying) lets the client read the answer; a client that neither reads nor
    // closes is destroyed shortly after.
    socket.end(answerOf(code))
    setTimeout(() => socket.destroy(), lingerMs).unref()
  }
}

import { createHash } from 'node:crypto'
import { type Logger, pino, stdSerializers } from 'pino'
import { isFlowgateError } from './errors.ts'

export type { Logger }

/**
 * How `err` is logged. A refusal (a Flowgate error below 500: bad client credentials, an invalid
 * token, a missing role, a CSRF failure, a bad request) is expected and says all there is to say
 * in its code and private detail, so it is logged without a stack or cause; a stack there is noise
 * an operator learns to ignore. Anything else is a failure to investigate and keeps its stack and
 * cause chain.
 */
export function serializeError(value: unknown): unknown {
  if (isFlowgateError(value) && value.status < 500) return value.toJSON()
  return value instanceof Error ? stdSerializers.err(value) : value
}

/**
 * JSON logs. Secrets never reach a log call by construction (errors carry no secrets, tokens are
 * logged as `tokenHash`); the redaction list is a second line of defence for header objects.
 * Levels (docs/operations.md, *Logs*): refusals of requests are `info`, routine events such as
 * issued tokens `debug`, failures `warn` and `error`.
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const options = {
    level,
    base: { service: 'flowgate' },
    serializers: { err: serializeError },
    redact: {
      paths: [
        'authorization',
        'password',
        'secret',
        'clientsecret',
        'client_secret',
        'token',
        '*.authorization',
        '*.password',
        '*.secret',
        '*.clientsecret',
        '*.client_secret',
        '*.token',
        'headers.authorization',
        'headers.cookie',
        'headers["x-csrf-token"]',
      ],
      censor: '[redacted]',
    },
  }
  return destination === undefined ? pino(options) : pino(options, destination)
}

/** A short, non-reversible reference to a token or secret for log lines and records. */
export function shortHash(value: string): string {
  return createHash('sha256').update(value).digest('base64url').slice(0, 12)
}

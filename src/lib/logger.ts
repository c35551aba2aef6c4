import { createHash } from 'node:crypto'
import { type Logger, pino } from 'pino'

export type { Logger }

/**
 * JSON logs. Secrets never reach a log call by construction (errors carry no secrets, tokens are
 * logged as `tokenHash`); the redaction list is a second line of defence for header objects.
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const options = {
    level,
    base: { service: 'flowgate' },
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

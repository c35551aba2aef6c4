import { Writable } from 'node:stream'
import { createLogger, type Logger } from '../../src/lib/logger.ts'

/** A real pino logger writing into memory, and its lines parsed back, for assertions on what was logged. */
export function capturedLogger(): { logger: Logger; lines: () => Record<string, unknown>[] } {
  let text = ''
  const logger = createLogger(
    'info',
    new Writable({
      write(chunk, _encoding, done) {
        text += chunk.toString()
        done()
      },
    }),
  )
  return {
    logger,
    lines: () =>
      text
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  }
}

import { randomBytes } from 'node:crypto'

/**
 * An id shaped like CPI's `SAP_MessageProcessingLogID`: 28 base64url characters (21 bytes). The
 * first six bytes hold the time in milliseconds, which makes the ids begin with `A` as CPI's do;
 * the other fifteen are random, so ids stay unique under a frozen clock.
 */
export function messageProcessingLogId(nowMs: number): string {
  const bytes = randomBytes(21)
  bytes.writeUIntBE(Math.trunc(nowMs) % 2 ** 48, 0, 6)
  return bytes.toString('base64url')
}

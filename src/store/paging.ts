import { FlowgateError } from '../lib/errors.ts'

export const defaultPageLimit = 100
const maxPageLimit = 1000

/** Checks a page size once per query: absent means the default; anything else must be 1..1000. */
export function pageLimit(limit: number | undefined): number {
  if (limit === undefined) return defaultPageLimit
  if (!Number.isInteger(limit) || limit < 1 || limit > maxPageLimit) {
    throw new FlowgateError('ERR_VALIDATION', {
      description: `invalid limit: must be an integer from 1 to ${maxPageLimit}`,
    })
  }
  return limit
}

/**
 * Cursors are base64url JSON of the last item's position and the listing they belong to, so a
 * cursor of one listing is refused by another rather than silently misread.
 */
export function encodeCursor(listing: string, position: readonly number[]): string {
  return Buffer.from(JSON.stringify({ l: listing, p: position })).toString('base64url')
}

export function decodeCursor(listing: string, cursor: string, length: number): number[] {
  let decoded: unknown
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    decoded = undefined
  }
  const position = (decoded as { p?: unknown } | undefined)?.p
  if (
    (decoded as { l?: unknown } | undefined)?.l !== listing ||
    !Array.isArray(position) ||
    position.length !== length ||
    !position.every((value) => Number.isSafeInteger(value))
  ) {
    throw new FlowgateError('ERR_VALIDATION', { description: 'invalid cursor' })
  }
  return position as number[]
}

import { createHash, timingSafeEqual } from 'node:crypto'

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest()
}

/**
 * Compares a presented credential with the expected one in constant time. Hashing first gives both
 * sides the same length, so neither the content nor the length of the secret leaks through timing.
 */
export function safeEqual(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected))
}

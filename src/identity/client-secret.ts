import { randomBytes, timingSafeEqual } from 'node:crypto'
import type { ServiceKey } from '../store/types.ts'

/** 256 random bits, base64url (43 characters): far above the 128 bits a client secret needs. */
export function generateClientSecret(): string {
  return randomBytes(32).toString('base64url')
}

/** Enough characters to tell keys apart in a listing, far too few to help guess the secret. */
const secretPrefixLength = 6

export function secretPrefixOf(secret: string): string {
  return secret.slice(0, secretPrefixLength)
}

/**
 * Checks a presented secret against a key's current and (during rotation) previous hash. The work
 * is the same whether the key exists, has a previous secret or not: one HMAC and two constant-time
 * comparisons, so an unknown client id cannot be told from a wrong secret by timing.
 */
export function createSecretVerifier(
  hashSecret: (secret: string) => string,
): (presented: string, key: ServiceKey | undefined, now: number) => boolean {
  // A hash no secret produces, compared against when there is nothing real to compare with.
  const dummy = Buffer.from(hashSecret(randomBytes(32).toString('base64url')), 'hex')
  const asBuffer = (hash: string | null | undefined): Buffer => {
    if (hash === null || hash === undefined) return dummy
    const buffer = Buffer.from(hash, 'hex')
    return buffer.length === dummy.length ? buffer : dummy
  }
  return (presented, key, now) => {
    const hash = Buffer.from(hashSecret(presented), 'hex')
    const current = asBuffer(key?.secretHash)
    const previous = asBuffer(key?.previousSecretHash)
    const currentMatches = timingSafeEqual(hash, current)
    const previousMatches = timingSafeEqual(hash, previous)
    if (key === undefined || key.secretHash === null) return false
    if (currentMatches && current !== dummy) return true
    return (
      previousMatches &&
      previous !== dummy &&
      key.previousSecretValidUntil !== null &&
      key.previousSecretValidUntil > now
    )
  }
}

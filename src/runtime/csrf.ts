import { createHmac, timingSafeEqual } from 'node:crypto'

export interface CsrfOptions {
  /** HMAC key, `masterKey.derive('csrf')`: every node sharing the master key accepts every node's tokens. */
  readonly key: Buffer
  readonly validitySeconds: number
  readonly now?: () => number
}

export interface Csrf {
  /** A token for this client and flow, valid for `validitySeconds`. */
  issue(clientId: string, flowAddress: string): string
  /** True only for an unexpired token issued for exactly this client and flow. */
  verify(token: string | undefined, clientId: string, flowAddress: string): boolean
}

const expiryBytes = 8
const macBytes = 32
const tokenBytes = expiryBytes + macBytes
/** base64url length of 40 bytes, without padding. */
const tokenLength = Math.ceil((tokenBytes * 4) / 3)
const separator = Buffer.from([0])

/**
 * Stateless CSRF tokens, as CPI clients use them but bound to the caller instead of a session
 * cookie (machine clients have none): base64url(expiry || HMAC-SHA-256(key, clientId \0 flow \0 expiry)),
 * expiry being 8 bytes big-endian epoch seconds. Nothing is stored, so any node can check any
 * token, and a token cannot be moved to another client or flow or outlive its expiry.
 */
export function createCsrf(options: CsrfOptions): Csrf {
  const { key, validitySeconds } = options
  if (!Buffer.isBuffer(key) || key.length < 32)
    throw new TypeError('csrf key must be a Buffer of at least 32 bytes')
  if (!Number.isSafeInteger(validitySeconds) || validitySeconds <= 0)
    throw new TypeError('invalid validitySeconds')
  const now = options.now ?? Date.now

  const mac = (clientId: string, flowAddress: string, expiry: Buffer): Buffer =>
    createHmac('sha256', key)
      .update(clientId, 'utf8')
      .update(separator)
      .update(flowAddress, 'utf8')
      .update(separator)
      .update(expiry)
      .digest()

  return {
    issue(clientId, flowAddress) {
      const token = Buffer.allocUnsafe(tokenBytes)
      token.writeBigUInt64BE(BigInt(Math.floor(now() / 1000) + validitySeconds), 0)
      mac(clientId, flowAddress, token.subarray(0, expiryBytes)).copy(token, expiryBytes)
      return token.toString('base64url')
    },
    verify(token, clientId, flowAddress) {
      if (token === undefined || token.length !== tokenLength) return false
      const raw = Buffer.from(token, 'base64url')
      if (raw.length !== tokenBytes) return false
      const expiry = raw.subarray(0, expiryBytes)
      if (Number(expiry.readBigUInt64BE(0)) * 1000 <= now()) return false
      return timingSafeEqual(raw.subarray(expiryBytes), mac(clientId, flowAddress, expiry))
    },
  }
}

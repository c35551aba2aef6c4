import { createHash, randomBytes } from 'node:crypto'

export interface OpaqueTokenStore {
  /** A new random token, valid for `lifetimeMs` from now. */
  issue(): string
  /** True while the token was issued here, is unexpired and has not been revoked. */
  isValid(token: string): boolean
  revokeAll(): void
}

export interface OpaqueTokenStoreOptions {
  readonly lifetimeMs: number
  readonly now: () => number
  /** Oldest tokens are forgotten beyond this many, so a long-running simulator stays bounded. */
  readonly capacity: number
}

function fingerprint(token: string): string {
  return createHash('sha256').update(token).digest('base64url')
}

/**
 * Random bearer strings that only this process can validate, as the simulator stands in for CPI and
 * nobody else needs to read them. Entries are keyed by the token's SHA-256 so a lookup never
 * compares the presented value with a stored secret, and no token is kept in memory in clear.
 */
export function createOpaqueTokenStore(options: OpaqueTokenStoreOptions): OpaqueTokenStore {
  const { lifetimeMs, now, capacity } = options
  // Insertion order is expiry order because every token gets the same lifetime.
  const expiries = new Map<string, number>()

  const prune = (time: number) => {
    for (const [key, expiresAt] of expiries) {
      if (expiresAt > time && expiries.size < capacity) break
      expiries.delete(key)
    }
  }

  return {
    issue() {
      const time = now()
      prune(time)
      const token = randomBytes(32).toString('base64url')
      expiries.set(fingerprint(token), time + lifetimeMs)
      return token
    },
    isValid(token) {
      const expiresAt = expiries.get(fingerprint(token))
      return expiresAt !== undefined && expiresAt > now()
    },
    revokeAll() {
      expiries.clear()
    },
  }
}

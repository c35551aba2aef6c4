import type { FlowgateConfig } from '../config/schema.ts'
import { shortHash } from '../lib/logger.ts'

/**
 * Counts failures per key in fixed windows and blocks a key that reaches its limit. The local
 * counter's limits hold per node; the interface is small so that a shared counter can stand in.
 */
export interface FailureCounter {
  /** Milliseconds until `key` may try again; 0 when it is not blocked. */
  blockedFor(key: string, now: number): Promise<number>
  /** Counts one failure; the `limit`-th within one window blocks the key. */
  fail(key: string, limit: number, now: number): Promise<void>
}

export interface MemoryFailureCounterOptions {
  readonly windowMs: number
  readonly blockMs: number
  /** Entries kept at most; idle ones go first, then the least recently touched. */
  readonly maxEntries?: number
}

interface Entry {
  windowStart: number
  count: number
  blockedUntil: number
}

export function createMemoryFailureCounter(options: MemoryFailureCounterOptions): FailureCounter & {
  size(): number
} {
  const { windowMs, blockMs } = options
  const maxEntries = options.maxEntries ?? 100_000
  if (!(windowMs > 0 && blockMs > 0 && maxEntries > 0))
    throw new RangeError('invalid failure counter options')
  const entries = new Map<string, Entry>()

  function prune(now: number): void {
    for (const [key, entry] of entries) {
      if (entry.windowStart + windowMs <= now && entry.blockedUntil <= now) entries.delete(key)
    }
    // Still full of live entries (a distributed attack): forget the least recently touched.
    const target = Math.floor(maxEntries * 0.9)
    for (const key of entries.keys()) {
      if (entries.size <= target) break
      entries.delete(key)
    }
  }

  return {
    async blockedFor(key, now) {
      const entry = entries.get(key)
      return entry === undefined || entry.blockedUntil <= now ? 0 : entry.blockedUntil - now
    },
    async fail(key, limit, now) {
      let entry = entries.get(key)
      if (entry === undefined || entry.windowStart + windowMs <= now) {
        entry = { windowStart: now, count: 0, blockedUntil: entry?.blockedUntil ?? 0 }
      }
      entries.delete(key)
      entry.count++
      if (entry.count >= limit) {
        entry.blockedUntil = now + blockMs
        entry.windowStart = now
        entry.count = 0
      }
      // Re-inserted so the Map's order is least recently touched first.
      entries.set(key, entry)
      if (entries.size > maxEntries) prune(now)
    },
    size: () => entries.size,
  }
}

export interface BruteForceGuard {
  /** Seconds the caller must wait (the Retry-After value); 0 when it may try now. */
  retryAfter(clientId: string | undefined, address: string): Promise<number>
  recordFailure(clientId: string | undefined, address: string): Promise<void>
}

export interface BruteForceGuardOptions {
  readonly config: Pick<FlowgateConfig, 'bruteForce'>
  /** Defaults to a local counter; a shared one makes the limits cluster-wide. */
  readonly counter?: FailureCounter
  readonly now?: () => number
}

/** Keys of unbounded length (an attacker's client id) are hashed so entries stay small. */
function clientKey(clientId: string): string {
  return clientId.length <= 200 ? `client:${clientId}` : `client#${shortHash(clientId)}`
}

/**
 * Failed client authentications per claimed client id (existing or not, so blocking reveals
 * nothing about which ids exist) and per source address. A success does not clear an address's
 * count: an attacker holding one valid key could otherwise reset it between guesses. A block ends
 * after blockSeconds, so a legitimate client is never locked out for long.
 */
export function createBruteForceGuard(options: BruteForceGuardOptions): BruteForceGuard {
  const { windowSeconds, blockSeconds, maxFailuresPerClient, maxFailuresPerAddress } =
    options.config.bruteForce
  const counter =
    options.counter ??
    createMemoryFailureCounter({ windowMs: windowSeconds * 1000, blockMs: blockSeconds * 1000 })
  const now = options.now ?? Date.now
  return {
    async retryAfter(clientId, address) {
      const time = now()
      const [byClient, byAddress] = await Promise.all([
        clientId === undefined ? 0 : counter.blockedFor(clientKey(clientId), time),
        counter.blockedFor(`address:${address}`, time),
      ])
      const ms = Math.max(byClient, byAddress)
      return ms === 0 ? 0 : Math.ceil(ms / 1000)
    },
    async recordFailure(clientId, address) {
      const time = now()
      await Promise.all([
        clientId === undefined ? undefined : counter.fail(clientKey(clientId), maxFailuresPerClient, time),
        counter.fail(`address:${address}`, maxFailuresPerAddress, time),
      ])
    },
  }
}

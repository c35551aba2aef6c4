import { Pool } from 'undici'
import type { Logger } from '../lib/logger.ts'
import type { UpstreamTls } from './upstream-auth/upstream-auth.ts'

export interface UpstreamPools {
  /** The pool for an origin (and client certificate), created on first use and kept across rebuilds. */
  acquire(origin: string, tls: UpstreamTls | null, tlsKey: string): Pool
  /** Closes every pool not acquired since the last `sweep` (its flows are gone); in-flight requests finish. */
  sweep(): void
  readonly size: number
  close(): Promise<void>
}

export interface UpstreamPoolsOptions {
  /** Trusted CAs; undefined means Node's bundled roots. Certificate verification is never disabled. */
  readonly ca: readonly string[] | undefined
  readonly logger: Logger
}

/**
 * One undici Pool per upstream origin, so connections to an iFlow host are reused by every flow
 * that points at it; a client certificate gets pools of its own, keyed by the connection version.
 */
export function createUpstreamPools(options: UpstreamPoolsOptions): UpstreamPools {
  const { ca, logger } = options
  let pools = new Map<string, Pool>()
  let used = new Set<string>()

  return {
    get size() {
      return pools.size
    },
    acquire(origin, tls, tlsKey) {
      const key = tls === null ? origin : `${origin}#${tlsKey}`
      used.add(key)
      let pool = pools.get(key)
      if (pool === undefined) {
        const trusted = tls === null ? ca : tls.ca
        pool = new Pool(origin, {
          connect: {
            rejectUnauthorized: true,
            ...(trusted === undefined ? {} : { ca: [...trusted] }),
            ...(tls === null ? {} : { cert: tls.cert, key: tls.key }),
          },
        })
        pools.set(key, pool)
      }
      return pool
    },
    sweep() {
      const keep = new Map<string, Pool>()
      for (const [key, pool] of pools) {
        if (used.has(key)) {
          keep.set(key, pool)
        } else {
          pool
            .close()
            .catch((error: unknown) => logger.warn({ err: error }, 'closing an upstream pool failed'))
        }
      }
      pools = keep
      used = new Set()
    },
    async close() {
      const all = [...pools.values()]
      pools = new Map()
      used = new Set()
      await Promise.allSettled(all.map((pool) => pool.close()))
    },
  }
}

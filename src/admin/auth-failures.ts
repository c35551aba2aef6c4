import type { ErrorCode } from '../lib/errors.ts'
import type { Logger } from '../lib/logger.ts'
import type { Store } from '../store/types.ts'

export interface AdminAuthFailure {
  /** Client id when the token was valid but not allowed; `anonymous` when no valid token was shown. */
  readonly actor: string
  readonly sourceAddress: string | null
  readonly code: ErrorCode
}

/**
 * Admin authentication and authorization failures, aggregated per (actor, source address, code)
 * and window into one audit event each, so a scanner hammering the admin port cannot flood the
 * audit trail while every failure is still counted. A window's event is written when the window
 * ends, or at `flush()` (shutdown). A failed write keeps the counts for the next attempt.
 */
export interface AdminAuthFailureLog {
  record(failure: AdminAuthFailure): void
  /** Writes every open window now. */
  flush(): Promise<void>
  /** Stops the timer and flushes. */
  close(): Promise<void>
}

export interface AdminAuthFailureLogOptions {
  readonly store: Pick<Store, 'appendAudit'>
  readonly windowMs: number
  readonly logger: Logger
  readonly now?: () => number
  /** Distinct (actor, address, code) windows held at once; beyond it failures fold into one bucket. */
  readonly maxBuckets?: number
}

interface Bucket {
  readonly failure: AdminAuthFailure
  count: number
  readonly from: number
  to: number
}

const actionOf = (code: ErrorCode): string =>
  code === 'ERR_FORBIDDEN' ? 'admin.authorization-failure' : 'admin.authentication-failure'

export function createAdminAuthFailureLog(options: AdminAuthFailureLogOptions): AdminAuthFailureLog {
  const { store, windowMs, logger } = options
  const now = options.now ?? Date.now
  const maxBuckets = options.maxBuckets ?? 10_000
  if (!Number.isInteger(windowMs) || windowMs < 1) throw new RangeError('windowMs must be a positive integer')
  let buckets = new Map<string, Bucket>()
  let writing: Promise<void> = Promise.resolve()

  const write = async (due: Bucket[]): Promise<void> => {
    for (const bucket of due) {
      try {
        await store.appendAudit(
          {
            actor: bucket.failure.actor,
            sourceAddress: bucket.failure.sourceAddress,
            action: actionOf(bucket.failure.code),
            target: 'admin-api',
            after: {
              code: bucket.failure.code,
              count: bucket.count,
              from: new Date(bucket.from).toISOString(),
              to: new Date(bucket.to).toISOString(),
            },
          },
          now(),
        )
      } catch (error) {
        logger.error({ err: error, count: bucket.count }, 'could not write admin authentication failures')
        merge(bucket)
      }
    }
  }

  const merge = (bucket: Bucket): void => {
    const key = keyOf(bucket.failure)
    const open = buckets.get(key)
    if (open === undefined) buckets.set(key, bucket)
    else open.count += bucket.count
  }

  const keyOf = (failure: AdminAuthFailure) =>
    `${failure.actor}\n${failure.sourceAddress ?? ''}\n${failure.code}`

  const take = (all: boolean): Bucket[] => {
    const cutoff = now() - windowMs
    const due: Bucket[] = []
    for (const [key, bucket] of buckets) {
      if (all || bucket.from <= cutoff) {
        due.push(bucket)
        buckets.delete(key)
      }
    }
    return due
  }

  const drain = (all: boolean): Promise<void> => {
    const due = take(all)
    if (due.length === 0) return writing
    writing = writing.then(() => write(due))
    return writing
  }

  const timer = setInterval(() => void drain(false), Math.min(windowMs, 60_000))
  timer.unref()

  return {
    record(failure) {
      const time = now()
      let key = keyOf(failure)
      let counted = failure
      if (!buckets.has(key) && buckets.size >= maxBuckets) {
        counted = { actor: '*', sourceAddress: null, code: failure.code }
        key = keyOf(counted)
      }
      const bucket = buckets.get(key)
      if (bucket === undefined) buckets.set(key, { failure: counted, count: 1, from: time, to: time })
      else {
        bucket.count++
        bucket.to = time
      }
    },
    flush: () => drain(true),
    async close() {
      clearInterval(timer)
      await drain(true)
      buckets = new Map()
    },
  }
}

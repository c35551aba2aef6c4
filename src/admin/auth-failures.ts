import type { ErrorCode } from '../lib/errors.ts'
import type { Logger } from '../lib/logger.ts'
import { createWindowedAggregator } from '../lib/windowed-aggregator.ts'
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
  from: number
  to: number
}

const actionOf = (code: ErrorCode): string =>
  code === 'ERR_FORBIDDEN' ? 'admin.authorization-failure' : 'admin.authentication-failure'

export function createAdminAuthFailureLog(options: AdminAuthFailureLogOptions): AdminAuthFailureLog {
  const { store } = options
  const now = options.now ?? Date.now
  const aggregator = createWindowedAggregator<AdminAuthFailure, Bucket>({
    windowMs: options.windowMs,
    logger: options.logger,
    now,
    what: 'admin authentication failures',
    ...(options.maxBuckets === undefined ? {} : { maxAggregates: options.maxBuckets }),
    subjectOf: (failure) => `${failure.actor}\n${failure.sourceAddress ?? ''}\n${failure.code}`,
    overflow: (failure) => ({ actor: '*', sourceAddress: null, code: failure.code }),
    create: (failure) => ({ failure, count: 0, from: 0, to: 0 }),
    add(bucket, _failure, time) {
      if (bucket.count === 0) bucket.from = time
      bucket.count++
      bucket.to = time
    },
    async write(bucket) {
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
    },
  })
  return { record: aggregator.record, flush: () => aggregator.flush(true), close: aggregator.close }
}

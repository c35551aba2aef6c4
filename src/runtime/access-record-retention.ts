import type { Logger } from '../lib/logger.ts'
import type { Store } from '../store/types.ts'

export interface RetentionOptions {
  readonly store: Pick<Store, 'deleteAccessRecordsBefore'>
  /** accessLog.retentionDays; 0 keeps access records forever (the job then never runs). */
  readonly retentionDays: number
  readonly logger: Logger
  /** Default one hour. */
  readonly intervalMs?: number
  readonly now?: () => number
}

export interface RetentionJob {
  /** Deletes access records older than the retention age now; resolves to how many were deleted. */
  runOnce(): Promise<number>
  stop(): void
}

const dayMs = 86_400_000

/**
 * Deletes access records older than accessLog.retentionDays: once at start, then every interval.
 * The timer is unref'd so it never keeps a process alive, and runs never overlap. Audit events are
 * not touched: they are kept (the chain would not verify with a hole in it). The gateway gives it
 * the access-record writer as its store, so the deletes run in the worker thread: on SQLite a
 * delete is synchronous, and on the event loop it would hold up every call while it runs.
 */
export function startRetention(options: RetentionOptions): RetentionJob {
  const { store, retentionDays, logger } = options
  const now = options.now ?? Date.now
  const intervalMs = options.intervalMs ?? 3_600_000
  if (!Number.isInteger(retentionDays) || retentionDays < 0)
    throw new RangeError('retentionDays must be >= 0')
  if (!Number.isInteger(intervalMs) || intervalMs < 1)
    throw new RangeError('intervalMs must be a positive integer')
  let running: Promise<number> | undefined

  const runOnce = (): Promise<number> => {
    if (retentionDays === 0) return Promise.resolve(0)
    running ??= (async () => {
      const before = now() - retentionDays * dayMs
      try {
        const deleted = await store.deleteAccessRecordsBefore(before)
        if (deleted > 0)
          logger.info({ deleted, before: new Date(before).toISOString() }, 'access records expired')
        return deleted
      } catch (error) {
        logger.error({ err: error }, 'deleting expired access records failed; retrying at the next interval')
        return 0
      } finally {
        running = undefined
      }
    })()
    return running
  }

  let timer: NodeJS.Timeout | undefined
  if (retentionDays > 0) {
    void runOnce()
    timer = setInterval(() => void runOnce(), intervalMs)
    timer.unref()
  }
  return {
    runOnce,
    stop() {
      if (timer !== undefined) clearInterval(timer)
      timer = undefined
    },
  }
}

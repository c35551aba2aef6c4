import type { Logger } from '../lib/logger.ts'
import type { AccessRecord, Store } from '../store/types.ts'

export interface AccessLogOptions {
  readonly store: Pick<Store, 'insertAccessRecords'>
  /** Records per store round-trip. */
  readonly batchSize: number
  /** Longest time a record waits in memory before a write is attempted. */
  readonly flushIntervalMs: number
  /** Records held while the store is unavailable; beyond it new records are dropped and counted. */
  readonly maxBuffered: number
  readonly logger: Logger
  /** Least time between two log lines about failures and drops. */
  readonly reportIntervalMs?: number
  readonly now?: () => number
}

export interface AccessLogStats {
  readonly written: number
  readonly dropped: number
  readonly buffered: number
  readonly failedFlushes: number
}

export interface AccessLog {
  /** O(1), no I/O, never throws: the record is written later, in a batch. */
  record(record: AccessRecord): void
  /** Writes everything buffered now; resolves when done or when the store failed (records stay buffered). */
  flush(): Promise<void>
  /** Stops the timer and writes what it can; records it cannot write are counted as dropped. */
  close(): Promise<void>
  stats(): AccessLogStats
}

/**
 * Access records, one per runtime call, written off the hot path: `record` appends to an array;
 * a write starts when a batch is full or on the one interval timer, never per request. While the
 * store fails the records stay buffered (up to maxBuffered) and the write is retried on every tick;
 * beyond the bound the newest records are dropped — dropping is O(1) and keeps the records that
 * lead into the outage — and the count is reported, never silently lost.
 */
export function createAccessLog(options: AccessLogOptions): AccessLog {
  const { store, logger } = options
  const batchSize = options.batchSize
  const maxBuffered = options.maxBuffered
  if (!Number.isSafeInteger(batchSize) || batchSize < 1)
    throw new TypeError('accessLog batchSize must be >= 1')
  if (!Number.isSafeInteger(maxBuffered) || maxBuffered < batchSize) {
    throw new TypeError('accessLog maxBuffered must be >= batchSize')
  }
  if (!Number.isSafeInteger(options.flushIntervalMs) || options.flushIntervalMs < 1) {
    throw new TypeError('accessLog flushIntervalMs must be >= 1')
  }
  const reportIntervalMs = options.reportIntervalMs ?? 60_000
  const now = options.now ?? Date.now

  let pending: AccessRecord[] = []
  /** Records taken by the write in progress and not yet written. */
  let inFlight = 0
  let writing: Promise<void> | null = null
  let written = 0
  let dropped = 0
  let failedFlushes = 0
  let reportedDropped = 0
  let lastReport = Number.NEGATIVE_INFINITY
  let lastError: unknown = null
  let closed = false

  function report(force: boolean): void {
    const time = now()
    if (!force && time - lastReport < reportIntervalMs) return
    if (dropped === reportedDropped && lastError === null) return
    lastReport = time
    logger.error(
      {
        err: lastError ?? undefined,
        dropped,
        droppedSinceLastReport: dropped - reportedDropped,
        buffered: pending.length + inFlight,
        failedFlushes,
      },
      'access records could not be written',
    )
    reportedDropped = dropped
    lastError = null
  }

  /** One write pass: everything pending at its start, in batches; stops at the first failure. */
  async function drain(): Promise<boolean> {
    const taken = pending
    pending = []
    inFlight = taken.length
    let offset = 0
    try {
      while (offset < taken.length) {
        const batch =
          offset === 0 && taken.length <= batchSize ? taken : taken.slice(offset, offset + batchSize)
        await store.insertAccessRecords(batch)
        offset += batch.length
        written += batch.length
        inFlight = taken.length - offset
      }
      return true
    } catch (error) {
      failedFlushes++
      lastError = error
      inFlight = 0
      // Put the unwritten records back in front, in order, within the bound.
      const rest = offset === 0 ? taken : taken.slice(offset)
      const room = maxBuffered - pending.length
      if (rest.length > room) {
        dropped += rest.length - room
        rest.length = Math.max(0, room)
      }
      pending = rest.length === 0 ? pending : rest.concat(pending)
      report(false)
      return false
    } finally {
      inFlight = 0
    }
  }

  function startWrite(): Promise<void> {
    if (writing !== null) return writing
    writing = (async () => {
      try {
        while (pending.length > 0) {
          if (!(await drain())) break
        }
        if (dropped !== reportedDropped) report(false)
      } finally {
        writing = null
      }
    })()
    return writing
  }

  const timer = setInterval(() => {
    if (pending.length > 0) void startWrite()
    else if (dropped !== reportedDropped) report(false)
  }, options.flushIntervalMs)
  timer.unref()

  return {
    record(record) {
      if (pending.length + inFlight >= maxBuffered || closed) {
        dropped++
        return
      }
      pending.push(record)
      if (pending.length === batchSize && writing === null) void startWrite()
    },
    async flush() {
      if (writing !== null) await writing
      if (pending.length > 0) await startWrite()
    },
    async close() {
      if (closed) return
      closed = true
      clearInterval(timer)
      if (writing !== null) await writing
      if (pending.length > 0) await startWrite()
      if (pending.length > 0) {
        dropped += pending.length
        pending = []
      }
      report(true)
    },
    stats: () => ({ written, dropped, buffered: pending.length + inFlight, failedFlushes }),
  }
}

import type { Logger } from '../lib/logger.ts'
import {
  decodeAccessRecords,
  type EncodedAccessRecords,
  encodeAccessRecords,
  encodedRecordCount,
} from '../store/access-record-batch.ts'
import type { AccessRecord, Store } from '../store/types.ts'

/**
 * Where the access log writes: a store, or the access-record writer, which also takes batches
 * already encoded (`insertEncoded`) and then keeps no record objects while they are written.
 */
export type AccessRecordStore = Pick<Store, 'insertAccessRecords'> & {
  insertEncoded?(batch: EncodedAccessRecords): Promise<void>
}

export interface AccessLogOptions {
  readonly store: AccessRecordStore
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
 * Access records, one per runtime call, written off the hot path: `record` appends to an array,
 * and each full batch is encoded (access-record-batch.ts) and handed to the store at once, without
 * waiting for the answers to earlier ones — the access-record writer acknowledges written batches
 * at an interval, so waiting would put that interval between every two batches and the worker
 * would write them in bursts. Until its answer only the encoded batch is kept: record objects held
 * that long would outlive young-generation collections. The one interval
 * timer hands over a partial batch, never a write per request. A batch the store refuses comes
 * back in front, in order, and new batches wait while the store fails: every tick retries with the
 * oldest batch, and its success hands over the rest. At most maxBuffered records are held
 * (waiting, refused or being written); beyond the bound the newest records are dropped — dropping
 * is O(1) and keeps the records that lead into the outage — and the count is reported, never
 * silently lost.
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
  const insert: (batch: EncodedAccessRecords) => Promise<void> =
    store.insertEncoded === undefined
      ? (batch) => store.insertAccessRecords(decodeAccessRecords(batch))
      : store.insertEncoded.bind(store)

  /** Recorded and not yet handed to the store. */
  let pending: AccessRecord[] = []
  /** Batches the store refused, oldest first; handed over again before `pending`. */
  let refused: EncodedAccessRecords[] = []
  let refusedRecords = 0
  /** Records handed to the store and not yet answered. */
  let inFlight = 0
  /** The store's answers still to come. */
  const writes = new Set<Promise<void>>()
  /** The last answer was a refusal: new batches wait for a retry to succeed. */
  let failing = false
  let written = 0
  let dropped = 0
  let failedFlushes = 0
  let reportedDropped = 0
  let lastReport = Number.NEGATIVE_INFINITY
  let lastError: unknown = null
  let closed = false

  function buffered(): number {
    return pending.length + refusedRecords + inFlight
  }

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
        buffered: buffered(),
        failedFlushes,
      },
      'access records could not be written',
    )
    reportedDropped = dropped
    lastError = null
  }

  function send(batch: EncodedAccessRecords): void {
    const count = encodedRecordCount(batch)
    inFlight += count
    let answer: Promise<void>
    try {
      answer = insert(batch)
    } catch (error) {
      // `record` never throws, whatever the store does.
      answer = Promise.reject(error)
    }
    const write = answer.then(
      () => {
        inFlight -= count
        written += count
        writes.delete(write)
        if (failing) {
          // The store is back: what it refused goes now.
          failing = false
          handOver(false)
        }
      },
      (error: unknown) => {
        inFlight -= count
        writes.delete(write)
        failedFlushes++
        lastError = error
        failing = true
        // Answers come in the order the batches went, so the refused batches stay in order.
        refused.push(batch)
        refusedRecords += count
        report(false)
      },
    )
    writes.add(write)
  }

  /** Hands over the refused batches, then the waiting records in full batches; the rest too when `all`. */
  function handOver(all: boolean): void {
    const again = refused
    refused = []
    refusedRecords = 0
    for (const batch of again) send(batch)
    let offset = 0
    while (pending.length - offset >= batchSize) {
      send(encodeAccessRecords(pending.slice(offset, offset + batchSize)))
      offset += batchSize
    }
    if (all && pending.length > offset) {
      send(encodeAccessRecords(offset === 0 ? pending : pending.slice(offset)))
      offset = pending.length
    }
    pending = offset === 0 ? pending : pending.slice(offset)
  }

  /** While the store fails: the oldest batch alone, as a probe. */
  function retryOne(): void {
    const batch = refused.shift()
    if (batch !== undefined) {
      refusedRecords -= encodedRecordCount(batch)
      send(batch)
    } else if (pending.length > 0) {
      send(encodeAccessRecords(pending.splice(0, batchSize)))
    }
  }

  async function settle(): Promise<void> {
    // A success may hand over refused records; their answers are waited for too.
    while (writes.size > 0) await Promise.allSettled([...writes])
  }

  const timer = setInterval(() => {
    if (failing) {
      if (writes.size === 0) retryOne()
    } else if (pending.length > 0 || refusedRecords > 0) {
      handOver(true)
    }
    if (dropped !== reportedDropped) report(false)
  }, options.flushIntervalMs)
  timer.unref()

  return {
    record(record) {
      if (closed || buffered() >= maxBuffered) {
        dropped++
        return
      }
      pending.push(record)
      if (pending.length === batchSize && !failing) {
        const batch = pending
        pending = []
        send(encodeAccessRecords(batch))
      }
    },
    async flush() {
      // Everything, even while the store fails: an explicit retry.
      handOver(true)
      await settle()
    },
    async close() {
      if (closed) return
      closed = true
      clearInterval(timer)
      handOver(true)
      await settle()
      const left = pending.length + refusedRecords
      if (left > 0) {
        dropped += left
        pending = []
        refused = []
        refusedRecords = 0
      }
      report(true)
    },
    stats: () => ({ written, dropped, buffered: buffered(), failedFlushes }),
  }
}

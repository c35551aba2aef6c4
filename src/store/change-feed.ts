import { isFlowgateError } from '../lib/errors.ts'
import type { Logger } from '../lib/logger.ts'
import { isStoreStateError } from './store-health.ts'
import type { Change, Store } from './types.ts'

export type ChangeListener = (changes: Change[]) => void | Promise<void>

/**
 * How a node learns what other nodes sharing the database changed: it polls the change log and
 * hands each batch to its listeners (caches re-read the named entities). The store's maintenance
 * prunes old rows (store-maintenance.ts); a node that had not seen all of them (it was cut off
 * from the database for longer than the window) gets one `reload` change instead, and reloads all.
 */
export interface ChangeFeed {
  /** Remembers the current latest change (everything before it is in the caller's initial load) and starts polling. */
  start(): Promise<void>
  /** Listeners get batches in sequence order; one that throws is logged and does not stop the others. */
  subscribe(listener: ChangeListener): () => void
  /**
   * Polls now, after any poll already in flight (which may have read before the caller's write
   * committed). Call it after a local write so this node has seen its own change before answering.
   * Never rejects: callers often fire and forget it, so a store failure is logged (as on the timer)
   * and the next poll catches up.
   */
  poke(): Promise<void>
  /** Stops polling; resolves once a poll in flight has finished. */
  stop(): Promise<void>
}

export interface ChangeFeedOptions {
  readonly intervalMs: number
  readonly logger: Logger
  /** Changes read per query (default 1000). */
  readonly batchSize?: number
}

export function createChangeFeed(
  store: Pick<Store, 'latestChange' | 'changesSince' | 'oldestChange'>,
  options: ChangeFeedOptions,
): ChangeFeed {
  const { intervalMs, logger } = options
  const batchSize = options.batchSize ?? 1000
  if (!Number.isInteger(intervalMs) || intervalMs < 1)
    throw new RangeError('intervalMs must be a positive integer')
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new RangeError('batchSize must be a positive integer')

  const listeners = new Set<ChangeListener>()
  let last: number | undefined
  let timer: NodeJS.Timeout | undefined
  let running = false
  let inFlight: Promise<void> | undefined
  // A poll queued behind the one in flight, shared by every poke that arrives meanwhile.
  let queued: Promise<void> | undefined

  async function deliver(changes: Change[]): Promise<void> {
    for (const listener of listeners) {
      try {
        await listener(changes)
      } catch (error) {
        logger.error({ err: error, firstSeq: changes[0]?.seq }, 'change listener failed')
      }
    }
  }

  async function pollOnce(): Promise<void> {
    if (last === undefined) throw new Error('change feed not started')
    for (;;) {
      const changes = await store.changesSince(last, batchSize)
      const newest = changes.at(-1)
      if (newest === undefined) return
      // Sequence numbers may skip (a rolled-back insert on PostgreSQL); rows after `last` are gone
      // only when the oldest row kept is beyond them (pruning deletes a prefix of the sequence).
      if ((changes[0] as Change).seq > last + 1) {
        const oldest = await store.oldestChange()
        if (oldest !== undefined && oldest > last + 1) {
          // The state read by a reload includes every change up to the latest one now.
          const latest = await store.latestChange()
          last = latest
          await deliver([{ seq: latest, kind: 'reload', entityId: '', time: newest.time }])
          continue
        }
      }
      last = newest.seq
      await deliver(changes)
      if (changes.length < batchSize) return
    }
  }

  function poll(): Promise<void> {
    if (inFlight === undefined) {
      inFlight = pollOnce().finally(() => {
        inFlight = undefined
      })
      return inFlight
    }
    queued ??= inFlight
      .catch(() => {})
      .then(() => {
        queued = undefined
        return poll()
      })
    return queued
  }

  /**
   * An unreachable store fails every poll: the store logs that once when it goes and once when it
   * comes back, so those failures are only debug lines here.
   */
  function pollFailed(error: unknown): void {
    if (isFlowgateError(error) && isStoreStateError(error)) {
      logger.debug({ err: error }, 'change feed poll failed; retrying')
    } else {
      logger.warn({ err: error }, 'change feed poll failed; retrying')
    }
  }

  function schedule(): void {
    if (!running) return
    timer = setTimeout(() => {
      poll().catch(pollFailed).finally(schedule)
    }, intervalMs)
    // Polling alone must not keep the process alive.
    timer.unref()
  }

  return {
    async start() {
      if (running) return
      last = await store.latestChange()
      running = true
      schedule()
    },
    subscribe(listener) {
      listeners.add(listener)
      return () => {
        listeners.delete(listener)
      }
    },
    poke: () => poll().catch(pollFailed),
    async stop() {
      running = false
      if (timer !== undefined) clearTimeout(timer)
      timer = undefined
      await Promise.allSettled([inFlight, queued])
    },
  }
}

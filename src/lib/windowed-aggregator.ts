import type { Logger } from './logger.ts'

export interface WindowedAggregatorOptions<Item, Aggregate> {
  /** Window length; windows are aligned to multiples of it. */
  readonly windowMs: number
  /** How often ended windows are written (default: the window length, at most a minute). */
  readonly flushIntervalMs?: number
  /** Distinct (window, subject) aggregates held; beyond it items go to one overflow aggregate per window. */
  readonly maxAggregates?: number
  readonly logger: Logger
  readonly now?: () => number
  /** Names what is aggregated in log lines, e.g. `token failure audit events`. */
  readonly what: string
  /** The subject an item is counted under within its window. */
  subjectOf(item: Item): string
  /** The item as the overflow aggregate counts it (its subject must be the same for every item). */
  overflow(item: Item): Item
  /** A new, empty aggregate for the first item of a subject in a window. */
  create(item: Item, windowStart: number): Aggregate
  /** Counts one more item at `time`. */
  add(aggregate: Aggregate, item: Item, time: number): void
  /** Writes one aggregate; a rejection keeps it for the next flush. */
  write(aggregate: Aggregate, windowStart: number): Promise<void>
}

export interface WindowedAggregator<Item> {
  record(item: Item): void
  /** Writes every aggregate whose window has ended (all of them with `all`). */
  flush(all?: boolean): Promise<void>
  /** Aggregates not yet written. */
  pending(): number
  /** Stops the timer and writes everything, including the current window. */
  close(): Promise<void>
}

interface Slot<Aggregate> {
  readonly windowStart: number
  readonly aggregate: Aggregate
}

/**
 * Counts items (failed authentications, for instance) per subject and fixed window, and writes one
 * aggregate per subject and window when the window has ended: an attack shows in the audit trail
 * without one event per guess. Aggregates that could not be written are kept and retried, never
 * dropped; beyond `maxAggregates` new subjects are still counted, in one overflow aggregate.
 */
export function createWindowedAggregator<Item, Aggregate>(
  options: WindowedAggregatorOptions<Item, Aggregate>,
): WindowedAggregator<Item> {
  const { windowMs, logger, what } = options
  if (!Number.isInteger(windowMs) || windowMs < 1) throw new RangeError('windowMs must be a positive integer')
  const now = options.now ?? Date.now
  const maxAggregates = options.maxAggregates ?? 10_000
  const slots = new Map<string, Slot<Aggregate>>()
  let flushing: Promise<void> | undefined
  let closed = false

  async function writeDue(all: boolean): Promise<void> {
    const time = now()
    for (const [id, slot] of slots) {
      if (!all && slot.windowStart + windowMs > time) continue
      try {
        await options.write(slot.aggregate, slot.windowStart)
      } catch (error) {
        logger.warn(
          { err: error, pendingAggregates: slots.size },
          `could not write ${what}; keeping them to retry`,
        )
        return
      }
      slots.delete(id)
    }
  }

  function flush(all = false): Promise<void> {
    if (flushing !== undefined) return flushing.then(() => flush(all))
    flushing = writeDue(all).finally(() => {
      flushing = undefined
    })
    return flushing
  }

  const timer = setInterval(() => {
    flush().catch((error: unknown) => logger.error({ err: error }, `flushing ${what} failed`))
  }, options.flushIntervalMs ?? Math.min(windowMs, 60_000))
  timer.unref()

  return {
    record(item) {
      const time = now()
      const windowStart = time - (time % windowMs)
      let counted = item
      let id = `${windowStart}\u0000${options.subjectOf(item)}`
      if (!slots.has(id) && slots.size >= maxAggregates) {
        counted = options.overflow(item)
        id = `${windowStart}\u0000${options.subjectOf(counted)}`
      }
      let slot = slots.get(id)
      if (slot === undefined) {
        slot = { windowStart, aggregate: options.create(counted, windowStart) }
        slots.set(id, slot)
      }
      options.add(slot.aggregate, counted, time)
      if (closed) logger.warn(`${what}: recorded after close; written on the next flush`)
    },
    flush,
    pending: () => slots.size,
    async close() {
      closed = true
      clearInterval(timer)
      await flush(true)
      if (slots.size > 0)
        logger.error({ pendingAggregates: slots.size }, `${what} could not be written at close`)
    },
  }
}

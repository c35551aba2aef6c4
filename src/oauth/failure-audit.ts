import type { Logger } from '../lib/logger.ts'
import type { AuditEventInput, StoreOperations } from '../store/types.ts'

export interface IssuanceFailure {
  /** The client id, only when it names an existing key (invented ids are aggregated per address). */
  readonly clientId: string | undefined
  readonly address: string
  /** An ErrorCode, e.g. ERR_OAUTH_INVALID_CLIENT. */
  readonly reason: string
}

export interface FailureAuditOptions {
  readonly store: Pick<StoreOperations, 'appendAudit'>
  readonly logger: Logger
  readonly windowMs: number
  /** How often ended windows are written (default: the window length). */
  readonly flushIntervalMs?: number
  /** Distinct (window, subject) aggregates held; beyond it failures go to one `overflow` aggregate. */
  readonly maxAggregates?: number
  readonly now?: () => number
}

export interface FailureAudit {
  record(failure: IssuanceFailure): void
  /** Writes every aggregate whose window has ended (all of them with `all`). */
  flush(all?: boolean): Promise<void>
  /** Aggregates not yet written. */
  pending(): number
  /** Stops the timer and writes everything, including the current window. */
  close(): Promise<void>
}

interface Aggregate {
  readonly windowStart: number
  readonly actor: string
  readonly target: string
  readonly addresses: Set<string>
  readonly reasons: Map<string, number>
  failures: number
}

const maxAddressesListed = 20

/**
 * One `token.failures` audit event per client (or per source address for unknown clients) and
 * window, with counts by reason: an attack is visible in the audit trail without one event per
 * guess. Aggregates the store could not take are kept and retried, never dropped.
 */
export function createFailureAudit(options: FailureAuditOptions): FailureAudit {
  const { store, logger, windowMs } = options
  const now = options.now ?? Date.now
  const maxAggregates = options.maxAggregates ?? 10_000
  const aggregates = new Map<string, Aggregate>()
  let flushing: Promise<void> | undefined
  let closed = false

  function aggregateFor(windowStart: number, failure: IssuanceFailure): Aggregate {
    let actor: string
    let target: string
    if (failure.clientId !== undefined) {
      actor = failure.clientId
      target = `client:${failure.clientId}`
    } else {
      actor = 'unknown'
      target = `address:${failure.address}`
    }
    let id = `${windowStart}\u0000${target}`
    if (!aggregates.has(id) && aggregates.size >= maxAggregates) {
      // Many distinct sources at once: still counted, in one aggregate per window.
      actor = 'unknown'
      target = 'overflow'
      id = `${windowStart}\u0000${target}`
    }
    let aggregate = aggregates.get(id)
    if (aggregate === undefined) {
      aggregate = { windowStart, actor, target, addresses: new Set(), reasons: new Map(), failures: 0 }
      aggregates.set(id, aggregate)
    }
    return aggregate
  }

  function toEvent(aggregate: Aggregate): AuditEventInput {
    const addresses = [...aggregate.addresses]
    return {
      actor: aggregate.actor,
      sourceAddress: addresses.length === 1 ? (addresses[0] as string) : null,
      action: 'token.failures',
      target: aggregate.target,
      after: {
        windowStart: aggregate.windowStart,
        windowEnd: aggregate.windowStart + windowMs,
        failures: aggregate.failures,
        reasons: Object.fromEntries(aggregate.reasons),
        addresses,
        addressesTruncated: aggregate.addresses.size >= maxAddressesListed,
      },
    }
  }

  async function writeDue(all: boolean): Promise<void> {
    const time = now()
    for (const [id, aggregate] of aggregates) {
      if (!all && aggregate.windowStart + windowMs > time) continue
      try {
        await store.appendAudit(toEvent(aggregate), time)
      } catch (error) {
        logger.warn(
          { err: error, pendingAggregates: aggregates.size },
          'could not write token failure audit events; keeping them to retry',
        )
        return
      }
      aggregates.delete(id)
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
    flush().catch((error: unknown) => logger.error({ err: error }, 'token failure audit flush failed'))
  }, options.flushIntervalMs ?? windowMs)
  timer.unref()

  return {
    record(failure) {
      const time = now()
      const aggregate = aggregateFor(time - (time % windowMs), failure)
      aggregate.failures++
      aggregate.reasons.set(failure.reason, (aggregate.reasons.get(failure.reason) ?? 0) + 1)
      if (aggregate.addresses.size < maxAddressesListed) aggregate.addresses.add(failure.address)
      if (closed) logger.warn('token failure recorded after close; it is written on the next flush')
    },
    flush,
    pending: () => aggregates.size,
    async close() {
      closed = true
      clearInterval(timer)
      await flush(true)
      if (aggregates.size > 0) {
        logger.error(
          { pendingAggregates: aggregates.size },
          'token failure audit events could not be written at close',
        )
      }
    },
  }
}

import type { Logger } from '../lib/logger.ts'
import { createWindowedAggregator, type WindowedAggregator } from '../lib/windowed-aggregator.ts'
import type { StoreOperations } from '../store/types.ts'

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
  /** How often ended windows are written (default: the window length, at most a minute). */
  readonly flushIntervalMs?: number
  /** Distinct (window, subject) aggregates held; beyond it failures go to one `overflow` aggregate. */
  readonly maxAggregates?: number
  readonly now?: () => number
}

export type FailureAudit = WindowedAggregator<IssuanceFailure>

/** A failure as counted: under the client, or under the address for unknown clients, or `overflow`. */
interface Counted {
  readonly actor: string
  readonly target: string
  readonly address: string
  readonly reason: string
}

interface Aggregate {
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
  const { store, windowMs } = options
  const now = options.now ?? Date.now
  const aggregator = createWindowedAggregator<Counted, Aggregate>({
    windowMs,
    logger: options.logger,
    now,
    what: 'token failure audit events',
    ...(options.flushIntervalMs === undefined ? {} : { flushIntervalMs: options.flushIntervalMs }),
    ...(options.maxAggregates === undefined ? {} : { maxAggregates: options.maxAggregates }),
    subjectOf: (failure) => failure.target,
    overflow: (failure) => ({ ...failure, actor: 'unknown', target: 'overflow' }),
    create: (failure) => ({
      actor: failure.actor,
      target: failure.target,
      addresses: new Set(),
      reasons: new Map(),
      failures: 0,
    }),
    add(aggregate, failure) {
      aggregate.failures++
      aggregate.reasons.set(failure.reason, (aggregate.reasons.get(failure.reason) ?? 0) + 1)
      if (aggregate.addresses.size < maxAddressesListed) aggregate.addresses.add(failure.address)
    },
    async write(aggregate, windowStart) {
      const addresses = [...aggregate.addresses]
      await store.appendAudit(
        {
          actor: aggregate.actor,
          sourceAddress: addresses.length === 1 ? (addresses[0] as string) : null,
          action: 'token.failures',
          target: aggregate.target,
          after: {
            windowStart,
            windowEnd: windowStart + windowMs,
            failures: aggregate.failures,
            reasons: Object.fromEntries(aggregate.reasons),
            addresses,
            addressesTruncated: aggregate.addresses.size >= maxAddressesListed,
          },
        },
        now(),
      )
    },
  })

  return {
    record({ clientId, address, reason }) {
      aggregator.record(
        clientId === undefined
          ? { actor: 'unknown', target: `address:${address}`, address, reason }
          : { actor: clientId, target: `client:${clientId}`, address, reason },
      )
    },
    flush: aggregator.flush,
    pending: aggregator.pending,
    close: aggregator.close,
  }
}

import type { Logger } from '../lib/logger.ts'
import type { Store } from './types.ts'

export interface StoreMaintenanceOptions {
  readonly store: Pick<Store, 'deleteChangesBefore' | 'pruneRevokedTokens'>
  readonly logger: Logger
  /**
   * How long change-log rows, and revoked-token entries after their token expired, are kept
   * (default 7 days): a node cut off from the database for longer reloads everything when it is back.
   */
  readonly windowMs?: number
  /** Default one hour. */
  readonly intervalMs?: number
  readonly now?: () => number
}

export interface StoreMaintenanceRun {
  readonly changes: number
  readonly revokedTokens: number
}

export interface StoreMaintenance {
  /** Prunes now; resolves to how many rows went. A failure is logged and counts nothing. */
  runOnce(): Promise<StoreMaintenanceRun>
  /** Stops the timer; resolves once a run in flight has finished. */
  stop(): Promise<void>
}

const dayMs = 86_400_000

/**
 * Trims the two tables that otherwise only grow: the change log (nodes read only its recent rows;
 * one that missed pruned rows reloads, see change-feed.ts) and the revoked tokens whose token has
 * expired (every node checks `exp` itself, so the entry decides nothing any more). Runs once at
 * start, then every interval, on an unref'd timer; runs never overlap. Every node may run it: the
 * deletes are idempotent.
 */
export function startStoreMaintenance(options: StoreMaintenanceOptions): StoreMaintenance {
  const { store, logger } = options
  const now = options.now ?? Date.now
  const windowMs = options.windowMs ?? 7 * dayMs
  const intervalMs = options.intervalMs ?? 3_600_000
  if (!Number.isSafeInteger(windowMs) || windowMs < 1)
    throw new RangeError('windowMs must be a positive integer')
  if (!Number.isSafeInteger(intervalMs) || intervalMs < 1) {
    throw new RangeError('intervalMs must be a positive integer')
  }
  let running: Promise<StoreMaintenanceRun> | undefined

  const runOnce = (): Promise<StoreMaintenanceRun> => {
    running ??= (async () => {
      const before = now() - windowMs
      try {
        const changes = await store.deleteChangesBefore(before)
        const revokedTokens = await store.pruneRevokedTokens(before)
        if (changes > 0 || revokedTokens > 0) {
          logger.info({ changes, revokedTokens, before: new Date(before).toISOString() }, 'store pruned')
        }
        return { changes, revokedTokens }
      } catch (error) {
        logger.error({ err: error }, 'pruning the store failed; retrying at the next interval')
        return { changes: 0, revokedTokens: 0 }
      } finally {
        running = undefined
      }
    })()
    return running
  }

  void runOnce()
  let timer: NodeJS.Timeout | undefined = setInterval(() => void runOnce(), intervalMs)
  timer.unref()
  return {
    runOnce,
    async stop() {
      if (timer !== undefined) clearInterval(timer)
      timer = undefined
      await running
    },
  }
}

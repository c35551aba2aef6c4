import type { FlowgateError } from '../lib/errors.ts'
import type { Logger } from '../lib/logger.ts'

/**
 * `full`: a write was refused for space (ERR_STORE_FULL) and none has committed since;
 * `unavailable`: the database could not be reached (ERR_STORE_UNAVAILABLE) and nothing has succeeded since.
 */
export type StoreHealthState = 'ok' | 'full' | 'unavailable'

/**
 * A failure that is the store's state rather than the request's: the store logs that state once when
 * it begins and once when it ends, so whoever refuses a request for it need not log an error each time.
 */
export function isStoreStateError(error: FlowgateError): boolean {
  return error.code === 'ERR_STORE_FULL' || error.code === 'ERR_STORE_UNAVAILABLE'
}

export interface StoreHealth {
  readonly state: StoreHealthState
  /** An operation failed; only ERR_STORE_FULL and ERR_STORE_UNAVAILABLE change the state. */
  failed(error: FlowgateError): void
  /** An operation succeeded: the database can be reached (a full store stays full). */
  reached(): void
  /** A write committed: the database can be reached and has space. */
  wrote(): void
}

export interface StoreHealthOptions {
  readonly location: string
  readonly logger?: Logger
  readonly now?: () => number
}

const messages = {
  full: 'store out of space: changes are refused (503 ERR_STORE_FULL) until space is freed; tokens and runtime calls continue',
  unavailable:
    'store unavailable: changes are refused (503 ERR_STORE_UNAVAILABLE) until it is back; tokens and runtime calls continue from memory',
} as const

/**
 * What the store last observed about its database, logged once per change of state rather than once
 * per failed request: an outage or a full disk fails every request, and the first error is the one
 * that names the cause.
 */
export function createStoreHealth(options: StoreHealthOptions): StoreHealth {
  const { location, logger } = options
  const now = options.now ?? Date.now
  let state: StoreHealthState = 'ok'
  let since = 0

  function become(next: StoreHealthState, error?: FlowgateError): void {
    if (next === state) return
    const previous = state
    const time = now()
    state = next
    if (next === 'ok') {
      logger?.warn({ database: location, was: previous, forMs: time - since }, 'store available again')
    } else {
      // The driver's own error is the real cause; the FlowgateError around it adds the code.
      logger?.error({ err: error?.cause ?? error, code: error?.code, database: location }, messages[next])
    }
    since = time
  }

  return {
    get state() {
      return state
    },
    failed(error) {
      if (error.code === 'ERR_STORE_FULL') become('full', error)
      else if (error.code === 'ERR_STORE_UNAVAILABLE') become('unavailable', error)
    },
    reached() {
      if (state === 'unavailable') become('ok')
    },
    wrote() {
      become('ok')
    },
  }
}

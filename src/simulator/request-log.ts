import { FlowgateError } from '../lib/errors.ts'

/** One call to `/http/…` as the simulator saw it. */
export interface RecordedRequest {
  readonly method: string
  /** The request path exactly as sent (never normalised), without the query. */
  readonly path: string
  /** The raw query string without `?` (empty when there is none). */
  readonly query: string
  /** Request headers with lower-case names, as Node.js parsed them. */
  readonly headers: Readonly<Record<string, string | string[]>>
  /** Body bytes received (so far, when `aborted`). */
  readonly bytes: number
  /** Hex SHA-256 of the body bytes received. */
  readonly sha256: string
  /** The client went away before the response was complete: during the body or while waiting. */
  readonly aborted: boolean
  /** When the request arrived, from the simulator's clock. */
  readonly time: number
  /** The `SAP_MessageProcessingLogID` this call was given. */
  readonly messageProcessingLogId: string
  /** Common name of the client certificate, in mutual TLS mode. */
  readonly clientCertificateCommonName: string | undefined
  /** Status of the response once its headers were sent; undefined while waiting or after a reset. */
  readonly status: number | undefined
}

export type MutableRecordedRequest = { -readonly [K in keyof RecordedRequest]: RecordedRequest[K] }

export interface RequestLog {
  readonly entries: readonly RecordedRequest[]
  add(entry: MutableRecordedRequest): void
  /** Tells waiters that an entry already added has changed (it was aborted or answered). */
  changed(): void
  clear(): void
  waitFor(predicate: (entry: RecordedRequest) => boolean, timeoutMs: number): Promise<RecordedRequest>
  /** Fails every pending waiter; used on close. */
  cancelWaiters(): void
}

interface Waiter {
  readonly predicate: (entry: RecordedRequest) => boolean
  readonly resolve: (entry: RecordedRequest) => void
  readonly reject: (error: Error) => void
  readonly timer: NodeJS.Timeout
}

export function createRequestLog(): RequestLog {
  let entries: RecordedRequest[] = []
  const waiters = new Set<Waiter>()

  const notify = () => {
    for (const waiter of waiters) {
      const found = entries.find(waiter.predicate)
      if (found === undefined) continue
      waiters.delete(waiter)
      clearTimeout(waiter.timer)
      waiter.resolve(found)
    }
  }

  return {
    get entries() {
      return entries
    },
    add(entry) {
      entries.push(entry)
      notify()
    },
    changed: notify,
    clear() {
      // A new array, so a caller still holding the old one keeps what it saw.
      entries = []
    },
    waitFor(predicate, timeoutMs) {
      const found = entries.find(predicate)
      if (found !== undefined) return Promise.resolve(found)
      return new Promise((resolve, reject) => {
        const waiter: Waiter = {
          predicate,
          resolve,
          reject,
          timer: setTimeout(() => {
            waiters.delete(waiter)
            reject(
              new FlowgateError('ERR_UNAVAILABLE', {
                description: `no matching request reached the CPI simulator within ${timeoutMs} ms`,
              }),
            )
          }, timeoutMs),
        }
        waiters.add(waiter)
      })
    },
    cancelWaiters() {
      for (const waiter of waiters) {
        clearTimeout(waiter.timer)
        waiter.reject(new FlowgateError('ERR_UNAVAILABLE', { description: 'the CPI simulator was closed' }))
      }
      waiters.clear()
    },
  }
}

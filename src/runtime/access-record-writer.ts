import { once } from 'node:events'
import { Worker } from 'node:worker_threads'
import { type ErrorCode, FlowgateError } from '../lib/errors.ts'
import type { Logger } from '../lib/logger.ts'
import { type EncodedAccessRecords, encodeAccessRecords } from '../store/access-record-batch.ts'
import type { AccessRecordOperations } from '../store/entities/access-records.ts'
import type { OpenStoreOptions } from '../store/open-store.ts'
import type { AccessRecord, AccessRecordQuery, Page } from '../store/types.ts'

/** The main store's options; the worker opens its own connection with them and does not migrate. */
type WorkerStoreOptions = Pick<OpenStoreOptions, 'url' | 'dataDir' | 'poolSize'>

export interface AccessRecordWriterOptions {
  readonly store: WorkerStoreOptions
  readonly logger: Logger
  /** Longest wait for the worker to close its connection before it is terminated (default 10 s). */
  readonly closeTimeoutMs?: number
  /**
   * Longest time a batch waits in the worker before it is committed (default 50 ms): the batches
   * that arrive meanwhile are written in the same transaction and acknowledged with one message.
   */
  readonly commitIntervalMs?: number
  /** Most batches in one commit (default 16): a commit holds SQLite's write lock while it runs. */
  readonly maxBatchesPerCommit?: number
  /** The worker's module; tests substitute one that crashes. */
  readonly workerUrl?: URL
}

/**
 * The AccessLog's sink, the retention job's store and the admin API's access-record queries: on
 * SQLite every statement blocks the thread that runs it, so all of them run in the worker thread,
 * never on the event loop.
 */
export interface AccessRecordWriter extends Omit<AccessRecordOperations, 'insertAccessRecordBatches'> {
  /** The same for a batch already encoded; the caller may keep it (it is copied, not transferred). */
  insertEncoded(batch: EncodedAccessRecords): Promise<void>
  /** Waits for the batches sent, closes the worker's store connection and ends the thread. */
  close(): Promise<void>
}

/** What the worker is started with. */
export interface AccessRecordWorkerData {
  readonly store: WorkerStoreOptions
  readonly commitIntervalMs: number
  readonly maxBatchesPerCommit: number
}

export type WorkerRequest =
  | { readonly type: 'insert'; readonly id: number; readonly batch: EncodedAccessRecords }
  | { readonly type: 'call'; readonly id: number; readonly call: StoreCall }
  | { readonly type: 'close' }

/** A store operation the worker runs and answers, other than the inserts it commits in groups. */
export type StoreCall =
  | { readonly operation: 'deleteAccessRecordsBefore'; readonly before: number }
  | { readonly operation: 'queryAccessRecords'; readonly query: AccessRecordQuery }

/** A FlowgateError across the thread boundary: its public description is kept, so callers see the store's own. */
export interface SerializedError {
  readonly code: ErrorCode
  /** Absent for an error that was not a FlowgateError: the code's own description applies. */
  readonly description?: string
  readonly detail: string
}

export type WorkerReply =
  | { readonly type: 'ready' }
  | { readonly type: 'failed'; readonly error: SerializedError }
  /** Every batch up to this id that was not answered with insert-failed is written. */
  | { readonly type: 'inserted'; readonly upTo: number }
  | { readonly type: 'insert-failed'; readonly id: number; readonly error: SerializedError }
  | { readonly type: 'answered'; readonly id: number; readonly value: unknown }
  | { readonly type: 'call-failed'; readonly id: number; readonly error: SerializedError }
  | { readonly type: 'closed'; readonly error?: SerializedError }
  | { readonly type: 'log'; readonly entry: Record<string, unknown> }

const defaultWorkerUrl = new URL('./access-record-worker.ts', import.meta.url)

function revive(error: SerializedError): FlowgateError {
  return new FlowgateError(error.code, {
    ...(error.description === undefined ? {} : { description: error.description }),
    detail: `access-record worker: ${error.detail}`,
  })
}

function unavailable(detail: string, cause?: unknown): FlowgateError {
  return new FlowgateError('ERR_STORE_UNAVAILABLE', {
    detail,
    ...(cause === undefined ? {} : { cause }),
  })
}

const pinoLevels: Record<number, 'debug' | 'info' | 'warn' | 'error'> = {
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'error',
}

interface Started {
  readonly worker: Worker
  /** Batches posted and not yet answered, in id order. */
  readonly pending: Map<number, { resolve(): void; reject(error: Error): void }>
  /** Store calls posted and not yet answered. */
  readonly calls: Map<number, { resolve(value: unknown): void; reject(error: Error): void }>
}

/**
 * Writes access records in one worker thread with its own store connection, so that neither
 * Kysely's statement building nor SQLite's synchronous writes (nor pg's protocol work) run on the
 * gateway's event loop. Each batch is encoded (access-record-batch.ts), posted, and its promise
 * settles with the worker's answer. The worker commits the batches that arrive within
 * `commitIntervalMs` of each other in one transaction and acknowledges the commit with one message
 * (each message costs the event loop a wake-up); a batch the store refuses rejects its promise, so
 * the AccessLog keeps the records and retries them. A worker that exits unexpectedly is logged,
 * every unanswered batch is rejected (one it committed but had not yet acknowledged is then
 * written twice: at least once, never silently lost), and the next batch starts a new worker.
 *
 * Resolves once the worker has opened the store; rejects (ERR_STORE_UNAVAILABLE, or the store's
 * error) when it cannot.
 */
export async function startAccessRecordWriter(
  options: AccessRecordWriterOptions,
): Promise<AccessRecordWriter> {
  const { logger } = options
  const workerUrl = options.workerUrl ?? defaultWorkerUrl
  const closeTimeoutMs = options.closeTimeoutMs ?? 10_000
  const commitIntervalMs = options.commitIntervalMs ?? 50
  const maxBatchesPerCommit = options.maxBatchesPerCommit ?? 16
  if (!Number.isSafeInteger(commitIntervalMs) || commitIntervalMs < 0) {
    throw new TypeError('access-record writer commitIntervalMs must be an integer >= 0')
  }
  if (!Number.isSafeInteger(maxBatchesPerCommit) || maxBatchesPerCommit < 1) {
    throw new TypeError('access-record writer maxBatchesPerCommit must be an integer >= 1')
  }
  const workerData: AccessRecordWorkerData = {
    store: { url: options.store.url, dataDir: options.store.dataDir, poolSize: options.store.poolSize },
    commitIntervalMs,
    maxBatchesPerCommit,
  }

  let current: Started | null = null
  let starting: Promise<Started> | null = null
  let nextId = 0
  let nextCallId = 0
  let closing: Promise<void> | null = null

  function spawn(): Promise<Started> {
    return new Promise((resolve, reject) => {
      const worker = new Worker(workerUrl, { workerData, name: 'flowgate access records' })
      const started: Started = { worker, pending: new Map(), calls: new Map() }
      // Idle, the worker does not keep the process alive; it is ref'd while anything is out.
      const release = (): void => {
        if (started.pending.size === 0 && started.calls.size === 0 && closing === null) worker.unref()
      }
      let ready = false
      let crash: unknown
      worker.on('message', (message: WorkerReply) => {
        switch (message.type) {
          case 'ready':
            ready = true
            worker.unref()
            resolve(started)
            return
          case 'failed':
            reject(revive(message.error))
            return
          case 'inserted':
            // Ids are posted in increasing order and the Map keeps that order.
            for (const [id, waiting] of started.pending) {
              if (id > message.upTo) break
              started.pending.delete(id)
              waiting.resolve()
            }
            release()
            return
          case 'insert-failed': {
            const waiting = started.pending.get(message.id)
            started.pending.delete(message.id)
            release()
            waiting?.reject(revive(message.error))
            return
          }
          case 'answered':
          case 'call-failed': {
            const waiting = started.calls.get(message.id)
            started.calls.delete(message.id)
            release()
            if (message.type === 'answered') waiting?.resolve(message.value)
            else waiting?.reject(revive(message.error))
            return
          }
          case 'closed':
            if (message.error !== undefined) {
              logger.error({ err: revive(message.error) }, 'access-record worker could not close its store')
            }
            return
          case 'log': {
            const { level, msg, time: _time, pid: _pid, hostname: _hostname, ...fields } = message.entry
            logger[pinoLevels[level as number] ?? 'warn'](
              { ...fields, thread: 'access records' },
              String(msg),
            )
            return
          }
        }
      })
      // An uncaught exception in the worker; 'exit' follows.
      worker.on('error', (error) => {
        crash = error
      })
      worker.on('exit', (exitCode) => {
        if (current === started) current = null
        if (!ready) {
          reject(
            unavailable(
              `the access-record worker exited with code ${exitCode} before it opened the store`,
              crash,
            ),
          )
          return
        }
        const unanswered = started.pending.size
        const error = unavailable(
          `the access-record worker exited with code ${exitCode} before answering ${unanswered} batch(es)`,
          crash,
        )
        for (const waiting of started.pending.values()) waiting.reject(error)
        started.pending.clear()
        for (const waiting of started.calls.values()) waiting.reject(error)
        started.calls.clear()
        if (closing === null || unanswered > 0) {
          logger.error(
            { err: crash ?? error, exitCode, unanswered },
            'access-record worker exited unexpectedly; its unanswered batches stay buffered and a new worker writes the next one',
          )
        }
      })
    })
  }

  async function ready(): Promise<Started> {
    if (current !== null) return current
    starting ??= spawn().finally(() => {
      starting = null
    })
    const started = await starting
    current = started
    return started
  }

  current = await ready()

  /** Posts a request whose answer is now awaited; the worker keeps the process alive meanwhile. */
  function post({ worker, pending, calls }: Started, request: WorkerRequest): void {
    if (pending.size + calls.size === 1) worker.ref()
    worker.postMessage(request)
  }

  async function insertEncoded(batch: EncodedAccessRecords): Promise<void> {
    if (batch.numbers.length === 0) return
    if (closing !== null) throw unavailable('the access-record writer is closed')
    const started = await ready()
    const id = nextId++
    await new Promise<void>((resolve, reject) => {
      started.pending.set(id, { resolve, reject })
      post(started, { type: 'insert', id, batch })
    })
  }

  async function call(storeCall: StoreCall): Promise<unknown> {
    if (closing !== null) throw unavailable('the access-record writer is closed')
    const started = await ready()
    const id = nextCallId++
    return new Promise<unknown>((resolve, reject) => {
      started.calls.set(id, { resolve, reject })
      post(started, { type: 'call', id, call: storeCall })
    })
  }

  return {
    insertEncoded,
    deleteAccessRecordsBefore: async (before) =>
      (await call({ operation: 'deleteAccessRecordsBefore', before })) as number,
    queryAccessRecords: async (query) =>
      (await call({ operation: 'queryAccessRecords', query })) as Page<AccessRecord>,
    insertAccessRecords: (records: readonly AccessRecord[]) => insertEncoded(encodeAccessRecords(records)),

    close() {
      closing ??= (async () => {
        const started = current ?? (await starting?.catch(() => null)) ?? null
        if (started === null) return
        const { worker } = started
        worker.ref()
        const exited = once(worker, 'exit')
        const timer = setTimeout(() => {
          logger.error({ closeTimeoutMs }, 'access-record worker did not close in time; terminating it')
          void worker.terminate()
        }, closeTimeoutMs)
        try {
          worker.postMessage({ type: 'close' } satisfies WorkerRequest)
          await exited
        } finally {
          clearTimeout(timer)
        }
      })()
      return closing
    },
  }
}

/**
 * The access-record worker thread (started by access-record-writer.ts): opens its own connection
 * to the store the main thread has already migrated, and writes the batches it is sent as rows of
 * `access_records`, bound straight from their encoded form. Batches are committed in groups: the
 * first batch to arrive starts the commit interval, and every batch that arrives until it ends goes
 * into the same transaction (at most maxBatchesPerCommit), so the index pages that every batch
 * touches (a partner's, a flow's) are written once a commit instead of once a batch. Each commit is
 * acknowledged by one message, the highest batch id written — every answer wakes the gateway's
 * event loop. A group the store refuses for its data is written again batch by batch, so only the
 * batch at fault is refused; an unavailable or full store refuses the whole group. The retention job's
 * deletes and the admin API's access-record queries run here too, between commits. Nothing here
 * runs on the gateway's event loop.
 */
import { Writable } from 'node:stream'
import { parentPort, workerData } from 'node:worker_threads'
import { isFlowgateError } from '../lib/errors.ts'
import { createLogger } from '../lib/logger.ts'
import { openStore } from '../store/open-store.ts'
import type { Store } from '../store/types.ts'
import type {
  AccessRecordWorkerData,
  SerializedError,
  WorkerReply,
  WorkerRequest,
} from './access-record-writer.ts'

const port = parentPort
if (port === null) throw new Error('access-record-worker.ts runs only as a worker thread')
const { store: storeOptions, commitIntervalMs, maxBatchesPerCommit } = workerData as AccessRecordWorkerData

function reply(message: WorkerReply): void {
  port?.postMessage(message)
}

/** Store errors are FlowgateErrors; their code, public description and private detail cross the thread boundary. */
function serialize(error: unknown): SerializedError {
  if (isFlowgateError(error)) {
    return { code: error.code, description: error.description, detail: error.detail ?? error.message }
  }
  const { name, message } = error instanceof Error ? error : { name: 'Error', message: String(error) }
  return { code: 'ERR_INTERNAL', detail: `${name}: ${message}` }
}

// Warnings go to the main thread's logger; the store's health is logged by the main thread's store.
const logger = createLogger(
  'warn',
  new Writable({
    write(chunk, _encoding, done) {
      reply({ type: 'log', entry: JSON.parse(chunk.toString()) as Record<string, unknown> })
      done()
    },
  }),
)

const store: Store | null = await openStore({ ...storeOptions, logger, secondary: true }).catch(
  (error: unknown) => {
    // No message listener is registered: the thread ends after this reply.
    reply({ type: 'failed', error: serialize(error) })
    return null
  },
)

type Insert = Extract<WorkerRequest, { type: 'insert' }>

/** Writes one group; the replies name every batch of it, refused ones first, in id order. */
async function commit(store: Store, group: readonly Insert[]): Promise<void> {
  const last = group.at(-1)
  if (last === undefined) return
  try {
    await store.insertAccessRecordBatches(group.map((insert) => insert.batch))
    reply({ type: 'inserted', upTo: last.id })
    return
  } catch (error) {
    const storeRefused =
      isFlowgateError(error) && (error.code === 'ERR_STORE_UNAVAILABLE' || error.code === 'ERR_STORE_FULL')
    if (group.length === 1 || storeRefused) {
      const serialized = serialize(error)
      for (const insert of group) reply({ type: 'insert-failed', id: insert.id, error: serialized })
      return
    }
  }
  // One batch the store refuses must not take the others with it.
  let written = -1
  for (const insert of group) {
    try {
      await store.insertAccessRecordBatches([insert.batch])
      written = insert.id
    } catch (error) {
      reply({ type: 'insert-failed', id: insert.id, error: serialize(error) })
    }
  }
  if (written >= 0) reply({ type: 'inserted', upTo: written })
}

if (store !== null) {
  /** Commits and the close run one after another, in the order they were scheduled. */
  let queue: Promise<void> = Promise.resolve()
  /** Batches received and not yet handed to a commit, in id order. */
  let waiting: Insert[] = []
  let commitTimer: NodeJS.Timeout | undefined
  const commitWaiting = (): void => {
    clearTimeout(commitTimer)
    commitTimer = undefined
    const group = waiting
    waiting = []
    queue = queue.then(() => commit(store, group))
  }
  port.on('message', (message: WorkerRequest) => {
    if (message.type === 'insert') {
      waiting.push(message)
      if (waiting.length >= maxBatchesPerCommit) commitWaiting()
      else commitTimer ??= setTimeout(commitWaiting, commitIntervalMs)
    } else if (message.type === 'call') {
      // Retention and the admin API's queries run here, between commits: on SQLite every statement
      // blocks the thread that runs it.
      const { id, call } = message
      queue = queue.then(async () => {
        try {
          const value =
            call.operation === 'deleteAccessRecordsBefore'
              ? await store.deleteAccessRecordsBefore(call.before)
              : await store.queryAccessRecords(call.query)
          reply({ type: 'answered', id, value })
        } catch (error) {
          reply({ type: 'call-failed', id, error: serialize(error) })
        }
      })
    } else {
      commitWaiting()
      queue = queue.then(async () => {
        let error: SerializedError | undefined
        try {
          await store.close()
        } catch (cause) {
          error = serialize(cause)
        }
        reply(error === undefined ? { type: 'closed' } : { type: 'closed', error })
        port.close()
      })
    }
  })
  reply({ type: 'ready' })
}

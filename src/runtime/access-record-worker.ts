/**
 * The access-record worker thread (started by access-record-writer.ts): opens its own connection
 * to the store the main thread has already migrated, and stores the batches it is sent as they
 * are (one block each, without decoding them), one after another. A store error is answered at
 * once, for its batch; successes are acknowledged together, by the highest batch id written, at
 * most once per acknowledgement interval — every answer is a message that wakes the gateway's
 * event loop (docs/performance.md). Nothing here runs on the gateway's event loop.
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
const { store: storeOptions, ackIntervalMs } = workerData as AccessRecordWorkerData

function reply(message: WorkerReply): void {
  port?.postMessage(message)
}

/** Store errors are FlowgateErrors; only their code and private detail cross the thread boundary. */
function serialize(error: unknown): SerializedError {
  if (isFlowgateError(error)) return { code: error.code, detail: error.detail ?? error.message }
  const { name, message } = error instanceof Error ? error : { name: 'Error', message: String(error) }
  return { code: 'ERR_INTERNAL', detail: `${name}: ${message}` }
}

// The PostgreSQL pool's warnings go to the main thread's logger.
const logger = createLogger(
  'warn',
  new Writable({
    write(chunk, _encoding, done) {
      reply({ type: 'log', entry: JSON.parse(chunk.toString()) as Record<string, unknown> })
      done()
    },
  }),
)

const store: Store | null = await openStore({ ...storeOptions, logger }).catch((error: unknown) => {
  // No message listener is registered: the thread ends after this reply.
  reply({ type: 'failed', error: serialize(error) })
  return null
})

if (store !== null) {
  /** Batches are written one at a time, in the order they arrive; close waits for them. */
  let queue: Promise<void> = Promise.resolve()
  /** The highest batch id written, and the highest acknowledged. */
  let written = -1
  let acknowledged = -1
  let ackTimer: NodeJS.Timeout | undefined
  const acknowledge = (): void => {
    clearTimeout(ackTimer)
    ackTimer = undefined
    if (written === acknowledged) return
    acknowledged = written
    reply({ type: 'inserted', upTo: written })
  }
  port.on('message', (message: WorkerRequest) => {
    if (message.type === 'insert') {
      queue = queue.then(async () => {
        try {
          await store.insertAccessRecordBatch(message.batch)
          written = message.id
          ackTimer ??= setTimeout(acknowledge, ackIntervalMs)
        } catch (error) {
          // Posted before any later acknowledgement, so the writer rejects this batch first.
          reply({ type: 'insert-failed', id: message.id, error: serialize(error) })
        }
      })
    } else {
      queue = queue.then(async () => {
        acknowledge()
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

/**
 * The real access-record worker, except that a batch holding a record whose path is `/crash` ends
 * the thread with exit code 70 before the worker can answer it, as a native crash or an uncaught
 * exception would.
 */
import { parentPort } from 'node:worker_threads'
import type { WorkerRequest } from '../../src/runtime/access-record-writer.ts'
import { decodeAccessRecords } from '../../src/store/access-record-batch.ts'

// Registered before the real worker's listener, so it sees each batch first.
parentPort?.on('message', (message: WorkerRequest) => {
  if (message.type === 'insert' && decodeAccessRecords(message.batch).some((r) => r.path === '/crash')) {
    process.exit(70)
  }
})
await import('../../src/runtime/access-record-worker.ts')

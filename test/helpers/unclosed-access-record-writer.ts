/**
 * A process that starts the access-record writer, posts one batch and then simply ends, never
 * closing the writer: it must stay alive until the batch is acknowledged, and then exit by itself.
 * argv: the store's URL ('' for SQLite), its data directory, the record as JSON.
 */
import { createLogger } from '../../src/lib/logger.ts'
import { startAccessRecordWriter } from '../../src/runtime/access-record-writer.ts'
import type { AccessRecord } from '../../src/store/types.ts'

const [url = '', dataDir = '', record = '{}'] = process.argv.slice(2)
const writer = await startAccessRecordWriter({
  store: { url, dataDir, poolSize: 1 },
  logger: createLogger('warn', process.stderr),
  // Longer than a timer tick, so the process has time to end early if the batch holds nothing.
  commitIntervalMs: 300,
})
// Printed only if the process is still alive when the worker acknowledges the batch.
void writer.insertAccessRecords([JSON.parse(record) as AccessRecord]).then(() => console.log('written'))

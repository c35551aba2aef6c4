import { once } from 'node:events'
import { Worker } from 'node:worker_threads'
import { type EncodedAccessRecords, encodeAccessRecords } from '../../src/store/access-record-batch.ts'
import type { AccessRecord } from '../../src/store/types.ts'
import { accessRecordBatch } from './access-records.ts'

const batchSize = Number(process.argv[2] ?? 500)
const rounds = Number(process.argv[3] ?? 400)

interface Variant {
  readonly name: string
  readonly send: (batch: AccessRecord[]) => unknown
  /** The message's Float64Array is transferred, not copied. */
  readonly transfer?: boolean
  /** JavaScript expression that decodes `data` in the worker. */
  readonly receive: string
}

const variants: Variant[] = [
  { name: 'array of record objects', send: (batch) => batch, receive: 'data' },
  {
    name: 'flat array of primitives',
    // Grown by push: a preallocated `new Array(n)` is holey, and V8 clones holey arrays at twice the cost.
    send: (batch) => {
      const values: unknown[] = []
      for (const r of batch) {
        values.push(r.time, r.correlationId, r.clientId, r.instanceId, r.flow, r.method, r.path, r.status)
        values.push(r.upstreamStatus, r.bytesIn, r.bytesOut, r.durationMs, r.upstreamDurationMs, r.reason)
        values.push(r.sourceAddress, r.mplId)
      }
      return values
    },
    receive: `(() => { const out = new Array(data.length / 16); for (let i = 0, n = 0; i < data.length; i += 16, n++) out[n] = { time: data[i], correlationId: data[i+1], clientId: data[i+2], instanceId: data[i+3], flow: data[i+4], method: data[i+5], path: data[i+6], status: data[i+7], upstreamStatus: data[i+8], bytesIn: data[i+9], bytesOut: data[i+10], durationMs: data[i+11], upstreamDurationMs: data[i+12], reason: data[i+13], sourceAddress: data[i+14], mplId: data[i+15] }; return out })()`,
  },
  {
    name: 'one string + Float64Array',
    send: encodeAccessRecords,
    transfer: true,
    receive: `(() => { const { text, numbers } = data; let at = 0; const s = (len) => { if (len < 0) return null; const v = text.slice(at, at + len); at += len; return v }; const n = (v) => Number.isNaN(v) ? null : v; const out = new Array(numbers.length / 16); for (let i = 0, k = 0; i < numbers.length; i += 16, k++) out[k] = { time: numbers[i], correlationId: s(numbers[i+1]), clientId: s(numbers[i+2]), instanceId: s(numbers[i+3]), flow: s(numbers[i+4]), method: s(numbers[i+5]), path: s(numbers[i+6]), status: numbers[i+7], upstreamStatus: n(numbers[i+8]), bytesIn: numbers[i+9], bytesOut: numbers[i+10], durationMs: numbers[i+11], upstreamDurationMs: n(numbers[i+12]), reason: s(numbers[i+13]), sourceAddress: s(numbers[i+14]), mplId: s(numbers[i+15]) }; return out })()`,
  },
  { name: 'JSON text', send: (batch) => JSON.stringify(batch), receive: 'JSON.parse(data)' },
]

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] as number
}

async function measure(
  variant: Variant,
  batches: AccessRecord[][],
): Promise<{ send: number; receive: number }> {
  const worker = new Worker(
    `const { parentPort } = require('node:worker_threads')
     parentPort.on('message', (data) => {
       const start = process.hrtime.bigint()
       const records = ${variant.receive}
       if (records.length !== ${batchSize}) throw new Error('wrong batch')
       parentPort.postMessage(Number(process.hrtime.bigint() - start))
     })`,
    { eval: true },
  )
  const send: number[] = []
  const receive: number[] = []
  for (let round = 0; round < rounds; round++) {
    const batch = batches[round % batches.length] as AccessRecord[]
    const start = process.hrtime.bigint()
    const message = variant.send(batch)
    if (variant.transfer === true) {
      worker.postMessage(message, [(message as EncodedAccessRecords).numbers.buffer])
    } else worker.postMessage(message)
    const elapsed = Number(process.hrtime.bigint() - start)
    const [decoded] = (await once(worker, 'message')) as [number]
    // The first rounds warm up the JIT on both sides.
    if (round >= rounds / 4) {
      send.push(elapsed)
      receive.push(decoded)
    }
  }
  await worker.terminate()
  return { send: median(send) / 1000, receive: median(receive) / 1000 }
}

const batches = Array.from({ length: 20 }, () => accessRecordBatch(batchSize))
console.log(`batches of ${batchSize} records, ${rounds} rounds, medians`)
for (const variant of variants) {
  const { send, receive } = await measure(variant, batches)
  console.log(
    `${variant.name.padEnd(26)} event loop ${send.toFixed(1).padStart(7)} µs/batch` +
      ` (${((send * 1000) / batchSize).toFixed(0)} ns/record); worker decode ${receive.toFixed(1)} µs/batch`,
  )
}

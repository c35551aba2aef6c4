import type { AccessRecord } from './types.ts'

/** Numbers per record: the seven numeric fields, and the length of each of the nine strings. */
export const accessRecordWidth = 16
const width = accessRecordWidth

/**
 * A batch of access records as it crosses to the access-record worker: the strings of all records
 * concatenated into one text, and per record sixteen numbers in field order — the numeric fields
 * (NaN for null) and, for each string field, its length in UTF-16 units (-1 for null).
 *
 * postMessage clones its message synchronously on the sending thread, so this shape is chosen for
 * the event loop's cost: one string and one Float64Array are copied in one piece each, cheaper than
 * cloning the record objects or one flat array of primitives (bench/micro/access-record-transfer.ts). It is also what the access log keeps of a batch until
 * the store has it: two objects instead of a hundred records for the garbage collector to move.
 * The store writes rows straight from it (access-record-rows.ts), without record objects.
 */
export interface EncodedAccessRecords {
  readonly text: string
  readonly numbers: Float64Array<ArrayBuffer>
}

/** How many records an encoded batch holds. */
export function encodedRecordCount(encoded: EncodedAccessRecords): number {
  return encoded.numbers.length / width
}

export function encodeAccessRecords(records: readonly AccessRecord[]): EncodedAccessRecords {
  const numbers = new Float64Array(records.length * width)
  let text = ''
  let i = 0
  const string = (value: string | null): void => {
    if (value === null) numbers[i++] = -1
    else {
      numbers[i++] = value.length
      text += value
    }
  }
  for (const record of records) {
    numbers[i++] = record.time
    string(record.correlationId)
    string(record.clientId)
    string(record.instanceId)
    string(record.flow)
    string(record.method)
    string(record.path)
    numbers[i++] = record.status
    numbers[i++] = record.upstreamStatus ?? Number.NaN
    numbers[i++] = record.bytesIn
    numbers[i++] = record.bytesOut
    numbers[i++] = record.durationMs
    numbers[i++] = record.upstreamDurationMs ?? Number.NaN
    string(record.reason)
    string(record.sourceAddress)
    string(record.mplId)
  }
  return { text, numbers }
}

/** The inverse of encodeAccessRecords. */
export function decodeAccessRecords(encoded: EncodedAccessRecords): AccessRecord[] {
  const { text, numbers } = encoded
  if (numbers.length % width !== 0) {
    throw new TypeError(`encoded access records: ${numbers.length} numbers is not a multiple of ${width}`)
  }
  let at = 0
  const string = (length: number): string | null => {
    if (length < 0) return null
    const value = text.slice(at, at + length)
    at += length
    return value
  }
  const nullable = (value: number): number | null => (Number.isNaN(value) ? null : value)
  const records: AccessRecord[] = []
  for (let i = 0; i < numbers.length; i += width) {
    // Object literal properties are evaluated in order, which is the order the strings were appended.
    records.push({
      time: numbers[i] as number,
      correlationId: string(numbers[i + 1] as number) as string,
      clientId: string(numbers[i + 2] as number),
      instanceId: string(numbers[i + 3] as number),
      flow: string(numbers[i + 4] as number),
      method: string(numbers[i + 5] as number) as string,
      path: string(numbers[i + 6] as number) as string,
      status: numbers[i + 7] as number,
      upstreamStatus: nullable(numbers[i + 8] as number),
      bytesIn: numbers[i + 9] as number,
      bytesOut: numbers[i + 10] as number,
      durationMs: numbers[i + 11] as number,
      upstreamDurationMs: nullable(numbers[i + 12] as number),
      reason: string(numbers[i + 13] as number),
      sourceAddress: string(numbers[i + 14] as number),
      mplId: string(numbers[i + 15] as number),
    })
  }
  if (at !== text.length) throw new TypeError('encoded access records: text longer than its strings')
  return records
}

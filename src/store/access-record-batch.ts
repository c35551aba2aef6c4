import type { AccessRecord } from './types.ts'

/** Numbers per record: the eight numeric fields, and the length of each of the seven strings. */
const width = 15

/**
 * A batch of access records as it crosses to the access-record worker: the strings of all records
 * concatenated into one text, and per record fifteen numbers in field order — the numeric fields
 * (NaN for null) and, for each string field, its length in UTF-16 units (-1 for null).
 *
 * postMessage clones its message synchronously on the sending thread, so this shape is chosen for
 * the event loop's cost: one string and one Float64Array are copied in one piece each. It costs
 * about a quarter of cloning the record objects, and half of one flat array of primitives
 * (bench/micro/access-record-transfer.ts). It is also what the access log keeps of a batch until
 * the store has it: two objects instead of a hundred records for the garbage collector to move.
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
  }
  return { text, numbers }
}

/** The inverse of encodeAccessRecords; queries decode the blocks they read with it. */
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
    })
  }
  if (at !== text.length) throw new TypeError('encoded access records: text longer than its strings')
  return records
}

/**
 * An encoded batch as the store keeps it: one row of `access_record_blocks` per batch, with the
 * batch's time span and one key row per partner, flow and status it holds (docs/store.md). The
 * worker stores the batch it is posted without decoding it into records.
 */
export interface AccessRecordBlock {
  readonly firstTime: number
  readonly lastTime: number
  readonly count: number
  /** `c:<client id>`, `f:<flow>`, `s:<status>`: what a query can select blocks by. */
  readonly keys: readonly string[]
  readonly data: Buffer
}

/**
 * Positions that may be neither null nor NaN: time, correlation id, method, path, status, bytes in
 * and out, duration (the columns the table of records held NOT NULL).
 */
const requiredFields = [0, 1, 5, 6, 7, 9, 10, 11]
/** Positions of the string lengths, in the order their strings follow one another in the text. */
const stringFields = [1, 2, 3, 4, 5, 6, 13, 14]
const clientField = 2
const flowField = 4

/** The first byte of a block's data: the version of its layout. */
const blockVersion = 1
/** Version byte, three zero bytes, the record count as a 32-bit unsigned integer. */
const blockHeader = 8
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

export const clientKey = (clientId: string): string => `c:${clientId}`
export const flowKey = (flow: string): string => `f:${flow}`
export const statusKey = (status: number): string => `s:${status}`

/**
 * The stored form of a batch: the header, the fifteen numbers of each record as little-endian
 * doubles, then the text in UTF-8. String lengths stay in UTF-16 units; decoding the UTF-8 gives
 * back the same UTF-16 text (a lone surrogate becomes U+FFFD, one unit as well).
 */
export function accessRecordBlock(encoded: EncodedAccessRecords): AccessRecordBlock {
  const { text, numbers } = encoded
  if (numbers.length === 0 || numbers.length % width !== 0) {
    throw new TypeError(
      `encoded access records: ${numbers.length} numbers is not a positive multiple of ${width}`,
    )
  }
  const count = numbers.length / width
  const keys = new Set<string>()
  let firstTime = Number.POSITIVE_INFINITY
  let lastTime = Number.NEGATIVE_INFINITY
  let at = 0
  for (let i = 0; i < numbers.length; i += width) {
    for (const field of requiredFields) {
      // A required string's length, or a required number: never -1 (null) nor NaN.
      const value = numbers[i + field] as number
      if (!Number.isFinite(value) || value < 0) {
        throw new TypeError(`encoded access records: record ${i / width} lacks field ${field}`)
      }
    }
    const time = numbers[i] as number
    if (time < firstTime) firstTime = time
    if (time > lastTime) lastTime = time
    for (const field of stringFields) {
      const length = numbers[i + field] as number
      if (length < 0) continue
      if (field === clientField) keys.add(clientKey(text.slice(at, at + length)))
      else if (field === flowField) keys.add(flowKey(text.slice(at, at + length)))
      at += length
    }
    keys.add(statusKey(numbers[i + 7] as number))
  }
  if (at !== text.length) throw new TypeError('encoded access records: text longer than its strings')
  const textBytes = Buffer.byteLength(text, 'utf8')
  const data = Buffer.allocUnsafe(blockHeader + numbers.byteLength + textBytes)
  data.writeUInt32LE(blockVersion, 0)
  data.writeUInt32LE(count, 4)
  if (littleEndian) {
    data.set(new Uint8Array(numbers.buffer, numbers.byteOffset, numbers.byteLength), blockHeader)
  } else {
    for (let i = 0; i < numbers.length; i++) data.writeDoubleLE(numbers[i] as number, blockHeader + i * 8)
  }
  data.write(text, blockHeader + numbers.byteLength, 'utf8')
  return { firstTime, lastTime, count, keys: [...keys], data }
}

/** The inverse of accessRecordBlock's data; a block of another layout version is refused. */
export function accessRecordsOfBlock(data: Uint8Array): EncodedAccessRecords {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  if (bytes.length < blockHeader || bytes.readUInt32LE(0) !== blockVersion) {
    throw new TypeError(
      `access record block: unknown layout ${bytes.length < 4 ? 'none' : bytes.readUInt32LE(0)}`,
    )
  }
  const count = bytes.readUInt32LE(4)
  const numbersEnd = blockHeader + count * width * 8
  if (bytes.length < numbersEnd) throw new TypeError('access record block: shorter than its records')
  const numbers = new Float64Array(count * width)
  if (littleEndian) {
    new Uint8Array(numbers.buffer).set(bytes.subarray(blockHeader, numbersEnd))
  } else {
    for (let i = 0; i < numbers.length; i++) numbers[i] = bytes.readDoubleLE(blockHeader + i * 8)
  }
  return { text: bytes.toString('utf8', numbersEnd), numbers }
}

/** How many records of an encoded batch have a time from `from` (inclusive) to `to` (exclusive). */
export function countAccessRecordsInTime(encoded: EncodedAccessRecords, from: number, to: number): number {
  const { numbers } = encoded
  let counted = 0
  for (let i = 0; i < numbers.length; i += width) {
    const time = numbers[i] as number
    if (time >= from && time < to) counted++
  }
  return counted
}

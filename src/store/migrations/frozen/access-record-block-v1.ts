/**
 * FROZEN: the layout of the access-record blocks that migration 0002 wrote and migration 0004 reads
 * back into rows. Released migrations depend on this file byte for byte, so it never changes and
 * imports nothing of the live code; a migration that needs another layout gets its own copy.
 *
 * A block: the version (1) and the record count as little-endian 32-bit unsigned integers, the
 * fifteen numbers of each record as little-endian doubles (the numeric fields, NaN for null, and
 * each string's length in UTF-16 units, -1 for null), then the strings' text in UTF-8.
 */

/** An access record as migrations 0001 to 0003 knew it. */
export interface RecordV1 {
  readonly time: number
  readonly correlationId: string
  readonly clientId: string | null
  readonly instanceId: string | null
  readonly flow: string | null
  readonly method: string
  readonly path: string
  readonly status: number
  readonly upstreamStatus: number | null
  readonly bytesIn: number
  readonly bytesOut: number
  readonly durationMs: number
  readonly upstreamDurationMs: number | null
  readonly reason: string | null
  readonly sourceAddress: string | null
}

export interface BlockV1 {
  readonly firstTime: number
  readonly lastTime: number
  readonly count: number
  /** `c:<client id>`, `f:<flow>`, `s:<status>`. */
  readonly keys: readonly string[]
  readonly data: Buffer
}

const width = 15
const header = 8

export function blockOfRecords(records: readonly RecordV1[]): BlockV1 {
  const numbers = new Float64Array(records.length * width)
  const keys = new Set<string>()
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
    if (record.clientId !== null) keys.add(`c:${record.clientId}`)
    if (record.flow !== null) keys.add(`f:${record.flow}`)
    keys.add(`s:${record.status}`)
  }
  const times = records.map((record) => record.time)
  const data = Buffer.alloc(header + numbers.length * 8 + Buffer.byteLength(text, 'utf8'))
  data.writeUInt32LE(1, 0)
  data.writeUInt32LE(records.length, 4)
  for (let n = 0; n < numbers.length; n++) data.writeDoubleLE(numbers[n] as number, header + n * 8)
  data.write(text, header + numbers.length * 8, 'utf8')
  return {
    firstTime: Math.min(...times),
    lastTime: Math.max(...times),
    count: records.length,
    keys: [...keys],
    data,
  }
}

export function recordsOfBlock(data: Uint8Array): RecordV1[] {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  if (bytes.length < header || bytes.readUInt32LE(0) !== 1) {
    throw new TypeError('access record block: unknown layout')
  }
  const count = bytes.readUInt32LE(4)
  const textStart = header + count * width * 8
  if (bytes.length < textStart) throw new TypeError('access record block: shorter than its records')
  const text = bytes.toString('utf8', textStart)
  let at = 0
  const number = (record: number, field: number): number =>
    bytes.readDoubleLE(header + (record * width + field) * 8)
  const string = (record: number, field: number): string | null => {
    const length = number(record, field)
    if (length < 0) return null
    const value = text.slice(at, at + length)
    at += length
    return value
  }
  const nullable = (value: number): number | null => (Number.isNaN(value) ? null : value)
  const records: RecordV1[] = []
  for (let r = 0; r < count; r++) {
    // Object literal properties are evaluated in order, which is the order the strings were appended.
    records.push({
      time: number(r, 0),
      correlationId: string(r, 1) as string,
      clientId: string(r, 2),
      instanceId: string(r, 3),
      flow: string(r, 4),
      method: string(r, 5) as string,
      path: string(r, 6) as string,
      status: number(r, 7),
      upstreamStatus: nullable(number(r, 8)),
      bytesIn: number(r, 9),
      bytesOut: number(r, 10),
      durationMs: number(r, 11),
      upstreamDurationMs: nullable(number(r, 12)),
      reason: string(r, 13),
      sourceAddress: string(r, 14),
    })
  }
  return records
}

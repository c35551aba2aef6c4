import type { Selectable } from 'kysely'
import { accessRecordWidth, type EncodedAccessRecords } from '../access-record-batch.ts'
import type { AccessRecordsTable } from '../database.ts'
import type { AccessRecord } from '../types.ts'

/**
 * The columns of `access_records` that a record fills, in the order of an encoded record's sixteen
 * numbers (access-record-batch.ts): a row's parameters are those numbers with each string length
 * replaced by its string, so the worker binds rows without building record objects.
 */
export const accessRecordColumns = [
  'time',
  'correlation_id',
  'client_id',
  'instance_id',
  'flow',
  'method',
  'path',
  'status',
  'upstream_status',
  'bytes_in',
  'bytes_out',
  'duration_ms',
  'upstream_duration_ms',
  'reason',
  'source_address',
  'mpl_id',
] as const satisfies readonly (keyof AccessRecordsTable)[]

/** Positions holding a string's length rather than a number, in the order their strings follow in the text. */
const isString = [
  false,
  true,
  true,
  true,
  true,
  true,
  true,
  false,
  false,
  false,
  false,
  false,
  false,
  true,
  true,
  true,
]
/** Positions that may be neither null nor NaN: the columns declared NOT NULL. */
const required = [0, 1, 5, 6, 7, 9, 10, 11]

/**
 * Appends the parameters of every row of `encoded` to `values`, after checking the whole batch:
 * a malformed batch throws before anything of it is appended.
 */
export function appendAccessRecordValues(encoded: EncodedAccessRecords, values: unknown[]): void {
  const { text, numbers } = encoded
  if (numbers.length % accessRecordWidth !== 0) {
    throw new TypeError(
      `encoded access records: ${numbers.length} numbers is not a multiple of ${accessRecordWidth}`,
    )
  }
  let length = 0
  for (let i = 0; i < numbers.length; i += accessRecordWidth) {
    for (const field of required) {
      // A required string's length, or a required number: never -1 (null) nor NaN.
      const value = numbers[i + field] as number
      if (!Number.isFinite(value) || value < 0) {
        throw new TypeError(`encoded access records: record ${i / accessRecordWidth} lacks field ${field}`)
      }
    }
    for (let field = 0; field < accessRecordWidth; field++) {
      if (isString[field] === true) length += Math.max(0, numbers[i + field] as number)
    }
  }
  if (length !== text.length) {
    throw new TypeError('encoded access records: the text does not match the string lengths')
  }
  let at = 0
  for (let i = 0; i < numbers.length; i++) {
    const value = numbers[i] as number
    if (isString[i % accessRecordWidth] === true) {
      if (value < 0) values.push(null)
      else {
        values.push(text.slice(at, at + value))
        at += value
      }
    } else values.push(Number.isNaN(value) ? null : value)
  }
}

export function accessRecordFromRow(row: Selectable<AccessRecordsTable>): AccessRecord {
  return {
    time: row.time,
    correlationId: row.correlation_id,
    clientId: row.client_id,
    instanceId: row.instance_id,
    flow: row.flow,
    method: row.method,
    path: row.path,
    status: row.status,
    upstreamStatus: row.upstream_status,
    bytesIn: row.bytes_in,
    bytesOut: row.bytes_out,
    durationMs: row.duration_ms,
    upstreamDurationMs: row.upstream_duration_ms,
    reason: row.reason,
    sourceAddress: row.source_address,
    mplId: row.mpl_id,
  }
}

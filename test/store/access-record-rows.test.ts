import assert from 'node:assert/strict'
import { test } from 'node:test'
import { encodeAccessRecords } from '../../src/store/access-record-batch.ts'
import { accessRecordColumns, appendAccessRecordValues } from '../../src/store/entities/access-record-rows.ts'
import { blockOfRecords, recordsOfBlock } from '../../src/store/migrations/frozen/access-record-block-v1.ts'
import type { AccessRecord } from '../../src/store/types.ts'
import { accessRecord } from '../helpers/access-records.ts'

test('an encoded batch becomes the parameters of its rows, in column order, text beyond ASCII included', () => {
  const records: AccessRecord[] = [
    accessRecord(5, { path: '/http/bestellungen/größe', reason: 'ERR_NOT_FOUND', status: 404 }),
    accessRecord(1, {
      clientId: null,
      instanceId: null,
      flow: null,
      upstreamStatus: null,
      upstreamDurationMs: null,
      mplId: 'AGVfDkmDx4bqZ0tY1l9lq3zN1Xxq',
    }),
    accessRecord(9, { path: '/http/😀/orders', sourceAddress: null, bytesIn: 2 ** 40 }),
  ]
  const values: unknown[] = ['before']
  appendAccessRecordValues(encodeAccessRecords(records), values)
  const fields = (record: AccessRecord) => [
    record.time,
    record.correlationId,
    record.clientId,
    record.instanceId,
    record.flow,
    record.method,
    record.path,
    record.status,
    record.upstreamStatus,
    record.bytesIn,
    record.bytesOut,
    record.durationMs,
    record.upstreamDurationMs,
    record.reason,
    record.sourceAddress,
    record.mplId,
  ]
  assert.equal(accessRecordColumns.length, 16)
  assert.deepEqual(values, ['before', ...records.flatMap(fields)])
})

test('a batch with a record lacking a required field, or whose text does not match, appends nothing', () => {
  for (const [field, value] of [
    ['method', null],
    ['correlationId', null],
    ['status', Number.NaN],
    ['durationMs', Number.NaN],
  ] as const) {
    const bad = { ...accessRecord(2), [field]: value } as unknown as AccessRecord
    const values: unknown[] = []
    assert.throws(() => appendAccessRecordValues(encodeAccessRecords([accessRecord(1), bad]), values), {
      name: 'TypeError',
      message: /^encoded access records: record 1 lacks field \d+$/,
    })
    assert.deepEqual(values, [])
  }
  const encoded = encodeAccessRecords([accessRecord(1)])
  assert.throws(() => appendAccessRecordValues({ text: `${encoded.text}x`, numbers: encoded.numbers }, []), {
    name: 'TypeError',
    message: 'encoded access records: the text does not match the string lengths',
  })
  assert.throws(
    () => appendAccessRecordValues({ text: encoded.text, numbers: encoded.numbers.subarray(1) }, []),
    { name: 'TypeError', message: 'encoded access records: 15 numbers is not a multiple of 16' },
  )
})

test("migrations' frozen block layout reads back what it wrote, from a view at any offset", () => {
  const records = [
    accessRecord(5, { path: '/http/bestellungen/größe', flow: '/bestellungen', status: 404 }),
    accessRecord(1, { clientId: null, flow: null, upstreamStatus: null, upstreamDurationMs: null }),
  ].map(({ mplId: _mplId, ...record }) => record)
  const block = blockOfRecords(records)
  assert.deepEqual(
    { ...block, data: undefined },
    {
      firstTime: records[1]?.time,
      lastTime: records[0]?.time,
      count: 2,
      keys: ['c:sb-a!b1|it-rt-flowgate!b1', 'f:/bestellungen', 's:404', 's:200'],
      data: undefined,
    },
  )
  assert.deepEqual(recordsOfBlock(block.data), records)
  const shifted = Buffer.alloc(block.data.length + 3)
  block.data.copy(shifted, 3)
  assert.deepEqual(recordsOfBlock(shifted.subarray(3)), records)
  const other = Buffer.from(block.data)
  other[0] = 2
  assert.throws(() => recordsOfBlock(other), { message: 'access record block: unknown layout' })
  assert.throws(() => recordsOfBlock(block.data.subarray(0, 50)), {
    message: 'access record block: shorter than its records',
  })
})

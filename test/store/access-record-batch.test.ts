import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  accessRecordBlock,
  accessRecordsOfBlock,
  decodeAccessRecords,
  encodeAccessRecords,
} from '../../src/store/access-record-batch.ts'
import type { AccessRecord } from '../../src/store/types.ts'
import { accessRecord } from '../helpers/access-records.ts'

test('a block holds its batch exactly, text beyond ASCII included, with its span and keys', () => {
  const records: AccessRecord[] = [
    accessRecord(5, {
      path: '/http/bestellungen/größe',
      flow: '/bestellungen',
      reason: 'ERR_NOT_FOUND',
      status: 404,
    }),
    accessRecord(1, {
      clientId: null,
      instanceId: null,
      flow: null,
      upstreamStatus: null,
      upstreamDurationMs: null,
    }),
    accessRecord(9, { path: '/http/😀/orders', sourceAddress: null, bytesIn: 2 ** 40 }),
    accessRecord(3, { clientId: 'sb-b!b1|it-rt-flowgate!b1' }),
  ]
  const block = accessRecordBlock(encodeAccessRecords(records))
  assert.deepEqual(
    { ...block, data: undefined },
    {
      firstTime: records[1]?.time,
      lastTime: records[2]?.time,
      count: 4,
      keys: [
        'c:sb-a!b1|it-rt-flowgate!b1',
        'f:/bestellungen',
        's:404',
        's:200',
        'f:/orders',
        'c:sb-b!b1|it-rt-flowgate!b1',
      ],
      data: undefined,
    },
  )
  assert.deepEqual(decodeAccessRecords(accessRecordsOfBlock(block.data)), records)
  // As a driver hands it back: a view into a larger buffer, at an offset that is not 8-aligned.
  const shifted = Buffer.alloc(block.data.length + 3)
  block.data.copy(shifted, 3)
  assert.deepEqual(decodeAccessRecords(accessRecordsOfBlock(shifted.subarray(3))), records)
})

test('a lone surrogate is stored as U+FFFD, and the strings after it keep their places', () => {
  const records = [accessRecord(1, { path: '/http/a\ud800b' }), accessRecord(2)]
  const decoded = decodeAccessRecords(
    accessRecordsOfBlock(accessRecordBlock(encodeAccessRecords(records)).data),
  )
  assert.deepEqual(decoded, [{ ...records[0], path: '/http/a\ufffdb' }, records[1]])
})

test('a batch without records, or with a record lacking a required field, is refused', () => {
  assert.throws(() => accessRecordBlock(encodeAccessRecords([])), {
    name: 'TypeError',
    message: 'encoded access records: 0 numbers is not a positive multiple of 15',
  })
  for (const [field, value] of [
    ['method', null],
    ['correlationId', null],
    ['status', Number.NaN],
    ['durationMs', Number.NaN],
  ] as const) {
    const bad = { ...accessRecord(2), [field]: value } as unknown as AccessRecord
    assert.throws(() => accessRecordBlock(encodeAccessRecords([accessRecord(1), bad])), {
      name: 'TypeError',
      message: /^encoded access records: record 1 lacks field \d+$/,
    })
  }
})

test('a block of an unknown layout, or cut short, is refused', () => {
  const { data } = accessRecordBlock(encodeAccessRecords([accessRecord(1)]))
  const other = Buffer.from(data)
  other[0] = 2
  assert.throws(() => accessRecordsOfBlock(other), { message: 'access record block: unknown layout 2' })
  assert.throws(() => accessRecordsOfBlock(data.subarray(0, 50)), {
    message: 'access record block: shorter than its records',
  })
  assert.throws(() => accessRecordsOfBlock(Buffer.alloc(2)), {
    message: 'access record block: unknown layout none',
  })
})

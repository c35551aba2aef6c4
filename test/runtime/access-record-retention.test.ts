import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { test } from 'node:test'
import { createLogger } from '../../src/lib/logger.ts'
import { startRetention } from '../../src/runtime/access-record-retention.ts'
import type { AccessRecord } from '../../src/store/types.ts'
import { storeBackends } from '../helpers/databases.ts'

const dayMs = 86_400_000
const now = Date.UTC(2025, 6, 2)
const logger = createLogger('silent', new Writable({ write: (_chunk, _encoding, done) => done() }))

function record(time: number, id: string): AccessRecord {
  return {
    time,
    correlationId: id,
    clientId: null,
    instanceId: null,
    flow: null,
    method: 'POST',
    path: '/http/x',
    status: 200,
    upstreamStatus: 200,
    bytesIn: 0,
    bytesOut: 0,
    durationMs: 1,
    upstreamDurationMs: 1,
    reason: null,
    sourceAddress: null,
    mplId: null,
  }
}

for (const backendFactory of storeBackends()) {
  test(`retention deletes access records older than retentionDays, keeps the rest and audit events (${backendFactory.name})`, async () => {
    const backend = await backendFactory.open()
    try {
      const { store } = backend
      await store.insertAccessRecords([
        record(now - 31 * dayMs, 'old'),
        record(now - 30 * dayMs - 1, 'just-too-old'),
        record(now - 30 * dayMs, 'boundary'),
        record(now - dayMs, 'recent'),
      ])
      const audit = await store.appendAudit(
        { actor: 'system', sourceAddress: null, action: 'x', target: 'y' },
        now - 400 * dayMs,
      )

      const disabled = startRetention({ store, retentionDays: 0, logger, now: () => now })
      assert.equal(await disabled.runOnce(), 0)
      disabled.stop()

      const job = startRetention({ store, retentionDays: 30, logger, now: () => now, intervalMs: 3_600_000 })
      await job.runOnce()
      job.stop()
      const left = await store.queryAccessRecords({ limit: 100 })
      assert.deepEqual(
        left.items.map((item) => item.correlationId),
        ['recent', 'boundary'],
      )
      assert.deepEqual((await store.listAuditEvents({})).items, [audit])
    } finally {
      await backend.drop()
    }
  })
}

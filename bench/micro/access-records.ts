import { randomUUID } from 'node:crypto'
import type { AccessRecord } from '../../src/store/types.ts'

/** A batch of realistic access records for the access-record micro-benchmarks: distinct correlation ids, 50 partners, 20 flows. */
export function accessRecordBatch(count: number): AccessRecord[] {
  return Array.from({ length: count }, (_, n) => ({
    time: Date.now() + n,
    correlationId: randomUUID(),
    clientId: `sb-${n % 50}!b1|it-rt-flowgate!b1`,
    instanceId: `instance-${n % 50}`,
    flow: `/orders/${n % 20}`,
    method: 'POST',
    path: `/http/orders/${n % 20}`,
    status: 200,
    upstreamStatus: 200,
    bytesIn: 512 + n,
    bytesOut: 2048 + n,
    durationMs: 3,
    upstreamDurationMs: 2,
    reason: n % 10 === 0 ? 'ERR_TOKEN_EXPIRED' : null,
    sourceAddress: `192.0.2.${n % 250}`,
  }))
}

import { randomUUID } from 'node:crypto'
import type { AccessRecord } from '../../src/store/types.ts'

export interface RecordMix {
  /** Distinct client ids (and instances) the records cycle through; default 50. */
  readonly partners?: number
  /** Distinct flows; default 20. */
  readonly flows?: number
}

const start = Date.now()
/** Records made so far: their times keep increasing from batch to batch, about 16 to a millisecond. */
let made = 0

/** A batch of realistic access records for the access-record micro-benchmarks: distinct correlation ids, 50 partners, 20 flows by default. */
export function accessRecordBatch(count: number, mix: RecordMix = {}): AccessRecord[] {
  const partners = mix.partners ?? 50
  const flows = mix.flows ?? 20
  return Array.from({ length: count }, (_, n) => ({
    time: start + Math.floor(made++ / 16),
    correlationId: randomUUID(),
    clientId: `sb-${n % partners}!b1|it-rt-flowgate!b1`,
    instanceId: `instance-${n % partners}`,
    flow: `/orders/${n % flows}`,
    method: 'POST',
    path: `/http/orders/${n % flows}`,
    status: 200,
    upstreamStatus: 200,
    bytesIn: 512 + n,
    bytesOut: 2048 + n,
    durationMs: 3,
    upstreamDurationMs: 2,
    reason: n % 10 === 0 ? 'ERR_TOKEN_EXPIRED' : null,
    sourceAddress: `192.0.2.${n % 250}`,
    mplId: n % 4 === 0 ? null : `AGVfDkmDx4bqZ0tY1l9lq3zN${String(n % 10_000).padStart(4, '0')}`,
  }))
}

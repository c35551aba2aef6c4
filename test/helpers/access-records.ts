import type { AccessRecord, Store } from '../../src/store/types.ts'

/** Access record number `n` of a successful call, distinct per n; fields can be replaced. */
export function accessRecord(n: number, overrides: Partial<AccessRecord> = {}): AccessRecord {
  return {
    time: Date.UTC(2026, 0, 1) + n,
    correlationId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    clientId: 'sb-a!b1|it-rt-flowgate!b1',
    instanceId: 'instance-a',
    flow: '/orders',
    method: 'POST',
    path: '/http/orders',
    status: 200,
    upstreamStatus: 200,
    bytesIn: 10 * n,
    bytesOut: 20 * n,
    durationMs: 3,
    upstreamDurationMs: 2,
    reason: null,
    sourceAddress: '192.0.2.1',
    mplId: null,
    ...overrides,
  }
}

/** Every access record in the store (up to 1,000), oldest first. */
export async function storedAccessRecords(store: Store): Promise<AccessRecord[]> {
  const page = await store.queryAccessRecords({ limit: 1000 })
  return [...page.items].sort((a, b) => a.time - b.time)
}

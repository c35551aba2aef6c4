import { verifyAuditChain } from '../audit/chain.ts'
import type { AuditEvent } from '../store/types.ts'

/** The admin API's and the CLI's answer to "is the audit trail intact?". */
export interface AuditVerification {
  readonly ok: boolean
  /** Events verified before the first broken link (all of them when ok). */
  readonly events: number
  readonly firstBroken: { readonly seq: number; readonly reason: string } | null
}

export async function verifyAuditEvents(events: AsyncIterable<AuditEvent>): Promise<AuditVerification> {
  const verdict = await verifyAuditChain(events)
  return verdict.ok
    ? { ok: true, events: verdict.count, firstBroken: null }
    : { ok: false, events: verdict.count, firstBroken: { seq: verdict.brokenAt, reason: verdict.reason } }
}

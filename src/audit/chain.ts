import { createHash } from 'node:crypto'
import type { AuditEvent } from '../store/types.ts'

/** prevHash of the first event. */
export const genesisHash = '0'.repeat(64)

/** The fields an audit event's hash covers: everything but the chain values themselves. */
export type HashedAuditFields = Omit<AuditEvent, 'prevHash' | 'hash'>

function encode(value: unknown, path: string): string {
  if (value === null) return 'null'
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value)
    case 'boolean':
      return value ? 'true' : 'false'
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: non-finite number at ${path}`)
      return JSON.stringify(value)
    case 'object': {
      if (Array.isArray(value)) {
        return `[${value.map((item, index) => encode(item, `${path}[${index}]`)).join(',')}]`
      }
      const prototype = Object.getPrototypeOf(value)
      if (prototype !== Object.prototype && prototype !== null) {
        throw new TypeError(`canonicalJson: ${path} is not a plain object`)
      }
      const record = value as Record<string, unknown>
      // Code-unit order, as Array.prototype.sort and RFC 8785 (JCS) define it. Members whose value
      // is undefined are left out, as JSON.stringify does.
      const members = Object.keys(record)
        .filter((key) => record[key] !== undefined)
        .sort()
        .map((key) => `${JSON.stringify(key)}:${encode(record[key], `${path}.${key}`)}`)
      return `{${members.join(',')}}`
    }
    default:
      throw new TypeError(`canonicalJson: cannot encode ${typeof value} at ${path}`)
  }
}

/**
 * JSON with object keys sorted recursively and no whitespace. For JSON data this is the RFC 8785
 * (JCS) encoding: strings and numbers are written as ECMAScript's JSON.stringify writes them.
 * Throws TypeError for values JSON cannot represent (undefined at top level or in arrays, non-finite
 * numbers, functions, bigints, class instances such as Date).
 */
export function canonicalJson(value: unknown): string {
  return encode(value, '$')
}

/** Exactly the fields an event's hash covers, in their order; absent before/after as null. */
export function hashedFields(event: HashedAuditFields) {
  const { seq, time, actor, sourceAddress, action, target } = event
  return {
    seq,
    time,
    actor,
    sourceAddress,
    action,
    target,
    before: event.before ?? null,
    after: event.after ?? null,
  }
}

/** sha256_hex(prevHash + "\n" + canonicalJson({seq, time, actor, sourceAddress, action, target, before, after})). */
export function auditHash(prevHash: string, event: HashedAuditFields): string {
  const canonical = canonicalJson(hashedFields(event))
  return createHash('sha256').update(`${prevHash}\n${canonical}`, 'utf8').digest('hex')
}

export type AuditChainVerdict =
  | { readonly ok: true; readonly count: number }
  | { readonly ok: false; readonly count: number; readonly brokenAt: number; readonly reason: string }

/**
 * Recomputes the chain from the first event. `count` is the number of events verified before the
 * first broken link; `brokenAt` is the seq of the first event that fails. Sequence numbers must run
 * 1, 2, 3, … without gaps (the store assigns them under its write lock), which catches deleted and
 * reordered rows even when an attacker recomputed hashes from that point on; recomputed hashes are
 * caught by the next unmodified event's prevHash.
 */
export async function verifyAuditChain(events: AsyncIterable<AuditEvent>): Promise<AuditChainVerdict> {
  let count = 0
  let prevHash = genesisHash
  for await (const event of events) {
    const expectedSeq = count + 1
    const broken = (reason: string): AuditChainVerdict => ({ ok: false, count, brokenAt: event.seq, reason })
    if (event.seq !== expectedSeq) {
      return broken(`expected seq ${expectedSeq} but found ${event.seq}: events are missing or out of order`)
    }
    if (event.prevHash !== prevHash) {
      return broken(
        expectedSeq === 1
          ? 'prevHash of the first event is not 64 zeros'
          : `prevHash does not match the hash of event ${expectedSeq - 1}`,
      )
    }
    let hash: string
    try {
      hash = auditHash(event.prevHash, event)
    } catch (error) {
      return broken(`event cannot be encoded: ${(error as Error).message}`)
    }
    if (hash !== event.hash) return broken('hash does not match the event contents')
    prevHash = event.hash
    count = expectedSeq
  }
  return { ok: true, count }
}

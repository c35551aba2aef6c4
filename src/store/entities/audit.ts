import type { Kysely } from 'kysely'
import { auditHash, genesisHash } from '../../audit/chain.ts'
import type { Database } from '../database.ts'
import { decodeCursor, encodeCursor, pageLimit } from '../paging.ts'
import { auditEventFromRow } from '../rows.ts'
import type { AuditEvent, AuditEventInput, AuditQuery, Page } from '../types.ts'
import type { OperationContext } from './operation-context.ts'

export interface AuditOperations {
  /** Appends to the hash chain; serialised so that sequence numbers and links never fork. */
  appendAudit(event: AuditEventInput, time: number): Promise<AuditEvent>
  listAuditEvents(query: AuditQuery): Promise<Page<AuditEvent>>
  /** The whole chain in sequence order, in batches, for verification and export. */
  iterateAuditEvents(batchSize?: number): AsyncIterable<AuditEvent>
}

/** JSON round trip, so the value hashed is exactly the value stored and read back; undefined when absent. */
function jsonText(value: unknown): string | undefined {
  return value === undefined ? undefined : JSON.stringify(value)
}

async function* auditEvents(reader: Kysely<Database>, batchSize = 500): AsyncGenerator<AuditEvent> {
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new RangeError('batchSize must be a positive integer')
  let after = 0
  for (;;) {
    const rows = await reader
      .selectFrom('audit_events')
      .selectAll()
      .where('seq', '>', after)
      .orderBy('seq')
      .limit(batchSize)
      .execute()
    for (const row of rows) yield auditEventFromRow(row)
    const last = rows.at(-1)
    if (last === undefined || rows.length < batchSize) return
    after = last.seq
  }
}

/** The hash-chained audit trail (docs/store.md, *The audit chain*). */
export function auditOperations({ reader, write }: OperationContext): AuditOperations {
  return {
    appendAudit: (input, time) =>
      write(async (tx) => {
        // The write lock is held from here to commit, so no other writer can read the same head.
        const head = await tx
          .selectFrom('audit_events')
          .select(['seq', 'hash'])
          .orderBy('seq', 'desc')
          .limit(1)
          .executeTakeFirst()
        const beforeText = jsonText(input.before)
        const afterText = jsonText(input.after)
        const fields = {
          seq: head === undefined ? 1 : head.seq + 1,
          time,
          actor: input.actor,
          sourceAddress: input.sourceAddress,
          action: input.action,
          target: input.target,
          ...(beforeText === undefined ? {} : { before: JSON.parse(beforeText) as unknown }),
          ...(afterText === undefined ? {} : { after: JSON.parse(afterText) as unknown }),
        }
        const prevHash = head === undefined ? genesisHash : head.hash
        const event: AuditEvent = { ...fields, prevHash, hash: auditHash(prevHash, fields) }
        await tx
          .insertInto('audit_events')
          .values({
            seq: event.seq,
            time: event.time,
            actor: event.actor,
            source_address: event.sourceAddress,
            action: event.action,
            target: event.target,
            before_value: beforeText ?? null,
            after_value: afterText ?? null,
            prev_hash: event.prevHash,
            hash: event.hash,
          })
          .execute()
        return event
      }),
    async listAuditEvents(query) {
      const limit = pageLimit(query.limit)
      let after = query.afterSeq ?? 0
      if (query.cursor !== undefined && query.cursor !== null) {
        after = Math.max(after, decodeCursor('audit', query.cursor, 1)[0] as number)
      }
      let select = reader.selectFrom('audit_events').selectAll().where('seq', '>', after)
      if (query.from !== undefined) select = select.where('time', '>=', query.from)
      if (query.to !== undefined) select = select.where('time', '<', query.to)
      if (query.actor !== undefined) select = select.where('actor', '=', query.actor)
      if (query.action !== undefined) select = select.where('action', '=', query.action)
      const rows = await select
        .orderBy('seq')
        .limit(limit + 1)
        .execute()
      const items = rows.slice(0, limit).map(auditEventFromRow)
      const last = items.at(-1)
      return {
        items,
        next: rows.length > limit && last !== undefined ? encodeCursor('audit', [last.seq]) : null,
      }
    },
    iterateAuditEvents: (batchSize) => auditEvents(reader, batchSize),
  }
}

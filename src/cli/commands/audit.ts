import { once } from 'node:events'
import { createWriteStream } from 'node:fs'
import { resolve } from 'node:path'
import { verifyAuditEvents } from '../../admin/audit-verification.ts'
import { hashedFields } from '../../audit/chain.ts'
import type { AuditEvent } from '../../store/types.ts'
import type { AdminClient, Query } from '../admin-client.ts'
import { CliError } from '../cli-error.ts'
import type { CommandContext, CommandSpec } from '../command.ts'
import { localConfig, openLocalStore } from '../local-store.ts'
import { writeJson } from '../output.ts'
import { isoOption, timeRangeOptions } from '../time-range.ts'
import { printList } from './shared.ts'

interface AuditEventView extends Omit<AuditEvent, 'time'> {
  readonly time: string
}

interface Page<T> {
  readonly items: readonly T[]
  readonly next: string | null
}

const pageSize = 1000
const progressEvery = 10_000

/** Back to the stored form: the chain hashes epoch milliseconds, which ISO 8601 carries exactly. */
function toStored(view: AuditEventView): AuditEvent {
  return { ...view, time: Date.parse(view.time) }
}

async function* eventsFromApi(admin: AdminClient, query: Query = {}): AsyncIterable<AuditEventView> {
  let cursor: string | undefined
  do {
    const page = await admin.get<Page<AuditEventView>>('/admin/v1/audit-events', {
      ...query,
      limit: pageSize,
      cursor,
    })
    yield* page.items
    cursor = page.next ?? undefined
  } while (cursor !== undefined)
}

async function* storedFromApi(admin: AdminClient): AsyncIterable<AuditEvent> {
  for await (const view of eventsFromApi(admin)) yield toStored(view)
}

/** Counts what passes through and reports every `progressEvery` events on a terminal. */
async function* withProgress<T>(
  context: CommandContext,
  verb: string,
  events: AsyncIterable<T>,
): AsyncIterable<T> {
  let count = 0
  for await (const event of events) {
    count++
    if (context.io.stderrIsTty && count % progressEvery === 0)
      context.io.stderr.write(`\r${verb} ${count} events…`)
    yield event
  }
  if (context.io.stderrIsTty && count >= progressEvery) context.io.stderr.write('\n')
}

/** Events from the admin API, or with --offline straight from the configured store. */
async function withEvents<T>(
  context: CommandContext,
  use: (events: AsyncIterable<AuditEvent>) => Promise<T>,
): Promise<T> {
  if (!context.flag('offline')) return use(storedFromApi(await context.admin()))
  const store = await openLocalStore(localConfig(context.io, context.string('config')))
  try {
    return await use(store.iterateAuditEvents(pageSize))
  } finally {
    await store.close()
  }
}

/** One JSON Lines record: exactly the hashed fields plus the chain values (see docs/operations.md). */
function exportLine(event: AuditEvent): string {
  return `${JSON.stringify({ ...hashedFields(event), prevHash: event.prevHash, hash: event.hash })}\n`
}

const offlineOption = {
  type: 'boolean',
  help: 'Read the store directly (as configured for flowgate start) instead of the admin API',
} as const

export const auditCommands: readonly CommandSpec[] = [
  {
    name: 'audit list',
    summary: 'List audit events (every change and security event), in sequence order',
    kind: 'admin',
    json: true,
    options: {
      ...timeRangeOptions('Events'),
      actor: {
        type: 'string',
        value: 'ACTOR',
        help: 'Only events of this actor (a client id, system, cli, …)',
      },
      action: { type: 'string', value: 'ACTION', help: 'Only this action, e.g. key.delete' },
    },
    async run(context) {
      const query: Query = {
        from: isoOption(context, 'from'),
        to: isoOption(context, 'to'),
        actor: context.string('actor'),
        action: context.string('action'),
      }
      const events: AuditEventView[] = []
      for await (const event of eventsFromApi(await context.admin(), query)) events.push(event)
      printList(context, events, ['seq', 'time', 'actor', 'source', 'action', 'target'], (event) => [
        String(event.seq),
        event.time,
        event.actor,
        event.sourceAddress ?? '-',
        event.action,
        event.target,
      ])
      return 0
    },
  },
  {
    name: 'audit verify',
    summary: 'Recompute the hash chain and report the first broken link (exit code 3 when broken)',
    kind: 'admin',
    json: true,
    options: { offline: offlineOption },
    description:
      'The chain is recomputed here, from the events themselves: the gateway is not trusted to say it is intact.',
    async run(context) {
      const verdict = await withEvents(context, (events) =>
        verifyAuditEvents(withProgress(context, 'verified', events)),
      )
      if (context.flag('json')) writeJson(context.io, verdict)
      else if (verdict.ok) context.io.stdout.write(`Audit trail intact: ${verdict.events} events verified.\n`)
      else {
        const broken = verdict.firstBroken as { seq: number; reason: string }
        context.io.stdout.write(
          `Audit trail BROKEN at seq ${broken.seq}: ${broken.reason} (${verdict.events} events verified before it).\n`,
        )
      }
      if (!verdict.ok) throw new CliError(`audit trail broken at seq ${verdict.firstBroken?.seq}`, 3)
      return 0
    },
  },
  {
    name: 'audit export',
    summary: 'Write the audit trail as JSON Lines for a SIEM, with the chain values to verify it',
    kind: 'admin',
    options: {
      output: { type: 'string', short: 'o', value: 'FILE', help: 'Write to FILE instead of stdout' },
      offline: offlineOption,
    },
    async run(context) {
      const output = context.string('output')
      const path = output === undefined ? undefined : resolve(context.io.cwd, output)
      const stream = path === undefined ? undefined : createWriteStream(path, { flags: 'w' })
      const count = await withEvents(context, async (events) => {
        let written = 0
        for await (const event of withProgress(context, 'exported', events)) {
          const line = exportLine(event)
          if (stream === undefined) context.io.stdout.write(line)
          else if (!stream.write(line)) await once(stream, 'drain')
          written++
        }
        return written
      })
      if (stream !== undefined) {
        stream.end()
        await once(stream, 'finish')
        context.io.stderr.write(`Exported ${count} audit events to ${path}.\n`)
      }
      return 0
    },
  },
]

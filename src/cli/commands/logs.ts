import type { AdminClient, Query } from '../admin-client.ts'
import { usageError } from '../cli-error.ts'
import type { CommandSpec } from '../command.ts'
import { writeJson } from '../output.ts'
import { isoOption, timeRangeOptions } from '../time-range.ts'

interface AccessRecordView {
  readonly time: string
  readonly correlationId: string
  readonly clientId: string | null
  readonly flow: string | null
  readonly method: string
  readonly path: string
  readonly status: number
  readonly upstreamStatus: number | null
  readonly durationMs: number
  readonly reason: string | null
  readonly sourceAddress: string | null
}

interface Page<T> {
  readonly items: readonly T[]
  readonly next: string | null
}

const units: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** `--since 15m`: a duration back from now. */
function parseSince(value: string, now: number): string {
  const match = /^(\d+)([smhd])$/.exec(value)
  if (match === null) throw usageError('--since must be a duration like 30s, 15m, 2h or 7d')
  return new Date(now - Number(match[1]) * (units[match[2] as string] as number)).toISOString()
}

function formatRecord(record: AccessRecordView): string {
  const upstream = record.upstreamStatus === null ? '' : ` upstream=${record.upstreamStatus}`
  const reason = record.reason === null ? '' : ` reason=${record.reason}`
  return `${record.time} ${record.status} ${record.method} ${record.path} client=${record.clientId ?? '-'} flow=${record.flow ?? '-'}${upstream} ${record.durationMs}ms${reason} id=${record.correlationId}\n`
}

async function fetchAll(admin: AdminClient, query: Query, limit: number): Promise<AccessRecordView[]> {
  const records: AccessRecordView[] = []
  let cursor: string | undefined
  do {
    const page = await admin.get<Page<AccessRecordView>>('/admin/v1/access-records', {
      ...query,
      limit: Math.min(1000, limit - records.length),
      cursor,
    })
    records.push(...page.items)
    cursor = page.next ?? undefined
  } while (cursor !== undefined && records.length < limit)
  return records
}

export const logsCommand: CommandSpec = {
  name: 'logs',
  summary: 'Show access records (one per runtime call, no payloads); --follow keeps printing new ones',
  kind: 'admin',
  json: true,
  options: {
    since: { type: 'string', value: 'DURATION', help: 'Records of the last 30s, 15m, 2h, 7d, …' },
    ...timeRangeOptions('Records'),
    client: { type: 'string', value: 'CLIENT_ID', help: 'Only this client id' },
    flow: { type: 'string', value: 'ADDRESS', help: 'Only this flow address, e.g. /orders' },
    status: { type: 'string', value: 'CODE', help: 'Only this HTTP status' },
    limit: { type: 'string', value: 'N', help: 'At most N records (default 100)' },
    follow: { type: 'boolean', short: 'F', help: 'Keep polling for new records until Ctrl-C' },
    interval: { type: 'string', value: 'MS', help: 'Polling interval of --follow (default 2000)' },
  },
  description: 'Records print oldest first. With --json: a JSON array, or JSON Lines with --follow.',
  async run(context) {
    const { io } = context
    const status = context.string('status')
    if (status !== undefined && !/^\d{3}$/.test(status))
      throw usageError('--status must be an HTTP status code')
    const limitText = context.string('limit') ?? '100'
    if (!/^\d+$/.test(limitText) || Number(limitText) < 1)
      throw usageError('--limit must be a positive number')
    const intervalText = context.string('interval') ?? '2000'
    if (!/^\d+$/.test(intervalText) || Number(intervalText) < 100)
      throw usageError('--interval must be at least 100')
    const since = context.string('since')
    const from = since === undefined ? isoOption(context, 'from') : parseSince(since, Date.now())
    const filters: Query = {
      to: isoOption(context, 'to'),
      clientId: context.string('client'),
      flow: context.string('flow'),
      status: status === undefined ? undefined : Number(status),
    }
    const admin = await context.admin()
    const json = context.flag('json')
    const follow = context.flag('follow')
    const first = (await fetchAll(admin, { ...filters, from }, Number(limitText))).reverse()
    if (json && !follow) {
      writeJson(io, first)
      return 0
    }
    const print = (record: AccessRecordView) =>
      io.stdout.write(json ? `${JSON.stringify(record)}\n` : formatRecord(record))
    first.forEach(print)
    if (!follow) return 0

    // Records are newest first and several share a millisecond: re-read from the newest time seen
    // and skip the ones already printed at exactly that time.
    let lastTime = first.at(-1)?.time ?? new Date().toISOString()
    let seenAtLast = new Set(first.filter((record) => record.time === lastTime).map((r) => r.correlationId))
    while (!io.interrupted()) {
      await io.sleep(Number(intervalText))
      if (io.interrupted()) break
      const fresh = (await fetchAll(admin, { ...filters, from: lastTime }, 100_000))
        .reverse()
        .filter((record) => !(record.time === lastTime && seenAtLast.has(record.correlationId)))
      fresh.forEach(print)
      const newest = fresh.at(-1)
      if (newest !== undefined) {
        if (newest.time !== lastTime) seenAtLast = new Set()
        lastTime = newest.time
        for (const record of fresh) if (record.time === lastTime) seenAtLast.add(record.correlationId)
      }
    }
    return 0
  },
}

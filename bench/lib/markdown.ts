import type { BenchReport, Comparison } from './results.ts'
import { formatDifferenceMs, formatRatio, round3 } from './stats.ts'
import { describeResolution, type TargetOutcome } from './targets.ts'

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`]
  for (const row of rows) lines.push(`| ${row.join(' | ')} |`)
  return lines.join('\n')
}

const figure = (value: number) => (Number.isNaN(value) ? '—' : String(round3(value)))

function comparisonTable(comparison: Comparison, unit: string): string {
  const contenders = Object.entries(comparison.contenders)
  // Reports before 2026-12-02 18:00 have no upstream figure; scenarios without an upstream have NaN.
  const upstream = contenders.some(([, { median }]) => Number.isFinite(median.upstreamMicrosPerRequest))
  const rows = contenders.map(([name, { median }]) => [
    name,
    figure(median.requestsPerSecond),
    figure(median.p50Ms),
    figure(median.p99Ms),
    figure(median.cpuMicrosPerRequest),
    figure(median.eventLoopMicrosPerRequest),
    figure(median.longestStallMs),
    ...(upstream ? [figure(median.upstreamMicrosPerRequest)] : []),
    String(median.socketErrors),
  ])
  const pairs = Object.entries(comparison.pairs).map(
    ([name, pair]) =>
      `- ${name}: ${formatRatio(pair.throughputRatio)} ${unit}, p50 ${formatDifferenceMs(pair.p50DifferenceMs)}, ` +
      `p99 ${formatDifferenceMs(pair.p99DifferenceMs)}`,
  )
  return [
    table(
      [
        ' ',
        `${unit} (median)`,
        'p50 ms',
        'p99 ms',
        'CPU µs/req',
        'event loop µs/req',
        'longest stall ms',
        ...(upstream ? ['upstream µs/req'] : []),
        'socket errors',
      ],
      rows,
    ),
    '',
    ...pairs,
  ].join('\n')
}

/** The report as Markdown: what was run, each scenario's medians, and the targets with PASS/FAIL. */
export function renderMarkdown(report: BenchReport, targets: readonly TargetOutcome[]): string {
  const { machine, settings } = report
  const out: string[] = [
    `# Flowgate benchmark, ${report.startedAt}`,
    '',
    `${machine.cpus} × ${machine.cpuModel}, Node.js ${machine.node}, ${machine.platform}; load generator ${machine.loadGenerator}, ` +
      `1 thread, ${settings.connections} connections; ${settings.rounds} rounds of ${settings.durationSeconds} s after a ` +
      `${settings.warmupSeconds} s warm-up per server${settings.quick ? ' (--quick: a smoke run, not a measurement)' : ''}. ` +
      ((settings.processes ?? 1) > 1
        ? `The runtime scenario runs ${settings.processes} processes of each server, one per round in turn. `
        : '') +
      'Rounds follow a Williams design (every server in every place and after every other as often). ' +
      'Figures are medians over rounds; ratios are medians of per-round ratios. ' +
      `1-minute load average ${machine.loadAverage.start.toFixed(1)} at the start, ${machine.loadAverage.end.toFixed(1)} at the end.`,
    '',
    `Flowgate: ${report.flowgate.measured ? 'measured' : 'not measured'} — ${report.flowgate.note}`,
    '',
    '## Targets',
    '',
    table(
      ['what', 'target', 'measured', 'result'],
      targets.map((t) => [t.what, t.target, t.measured, t.status]),
    ),
  ]
  const resolution = describeResolution(report)
  if (resolution !== undefined) out.push('', resolution)
  for (const method of ['GET', 'POST'] as const) {
    const comparison = report.runtime[method]
    if (comparison === undefined) continue
    out.push(
      '',
      `## Runtime ${method}${method === 'POST' ? ' (1 KiB JSON body)' : ''}`,
      '',
      comparisonTable(comparison, 'req/s'),
    )
  }
  for (const method of ['GET', 'POST'] as const) {
    const paced = report.pacedRuntime?.[method]
    if (paced === undefined) continue
    out.push(
      '',
      `## Runtime ${method}, paced to half the floor's rate`,
      '',
      `Each connection pauses 0–${2 * paced.thinkMs} ms (uniformly, whole milliseconds) after each answer, ` +
        `chosen from the floor's unpaced ${figure(paced.floorRequestsPerSecond)} req/s: every server is offered ` +
        'about the same rate, below its limit, so the p99 difference is the latency the proxy adds.',
      '',
      comparisonTable(paced.comparison, 'req/s'),
    )
  }
  if (report.tokenEndpoint !== undefined) {
    out.push(
      '',
      `## Token endpoint (${report.tokenEndpoint.algorithm})`,
      '',
      comparisonTable(report.tokenEndpoint.comparison, 'tokens/s'),
      `- raw signing rate (jose SignJWT, sequential, one core): ${figure(report.tokenEndpoint.rawSigningPerSecond)}/s`,
    )
  }
  if (report.scale !== undefined) {
    const { small, large } = report.scale
    out.push(
      '',
      `## Scale (small: ${small.flows} flows, ${small.serviceKeys} service keys; large: ${large.flows} flows, ${large.serviceKeys} service keys)`,
      '',
      comparisonTable(report.scale.comparison, 'req/s'),
    )
  }
  if (report.verifiedTokenCache !== undefined) {
    out.push(
      '',
      '## Verified-token cache, end to end (runtime GET; off: `tokens.verifiedCacheSize: 0`)',
      '',
      comparisonTable(report.verifiedTokenCache, 'req/s'),
    )
  }
  if (report.stream !== undefined) {
    out.push(
      '',
      `## Streamed POST of ${report.stream.bytes / 2 ** 30} GiB`,
      '',
      table(
        [' ', 'seconds', 'MiB/s', 'peak RSS growth MiB', 'measured with', 'status'],
        Object.entries(report.stream.results).map(([name, r]) => [
          name,
          figure(r.seconds),
          figure(report.stream!.bytes / 2 ** 20 / r.seconds),
          figure(r.peakRssGrowthBytes / 2 ** 20),
          r.method,
          String(r.status),
        ]),
      ),
    )
  }
  if (report.verification !== undefined) {
    const v = report.verification
    out.push(
      '',
      `## Token verification (${v.algorithm}, ${v.implementation === 'flowgate' ? "Flowgate's authenticator" : 'jose directly'})`,
      '',
      table(
        ['cold (signature checked)', 'cached', 'speed-up'],
        [
          [
            `${figure(v.coldPerSecond)}/s`,
            `${figure(v.cachedPerSecond)}/s`,
            `${figure(v.cachedPerSecond / v.coldPerSecond)}×`,
          ],
        ],
      ),
      '',
      v.note,
    )
  }
  if (report.errors.length > 0) {
    out.push('', '## Errors', '', ...report.errors.map((e) => `- ${e}`))
  }
  return `${out.join('\n')}\n`
}

import type { BenchReport } from './results.ts'
import { formatDifferenceMs, formatRatio } from './stats.ts'

/** The runtime scenario's second floor (bench/scenarios/runtime.ts), and its pair against the first. */
export const secondFloor = 'floor 2'
const resolutionPair = `${secondFloor}/floor`

export type TargetStatus = 'PASS' | 'FAIL' | 'NOT MEASURED'

export interface TargetOutcome {
  readonly what: string
  readonly target: string
  readonly measured: string
  readonly status: TargetStatus
}

const mib = 1024 * 1024

function outcome(
  what: string,
  target: string,
  value: number | undefined,
  passes: (value: number) => boolean,
  format: (value: number) => string,
): TargetOutcome {
  if (value === undefined || !Number.isFinite(value)) {
    return { what, target, measured: 'not measured', status: 'NOT MEASURED' }
  }
  return { what, target, measured: format(value), status: passes(value) ? 'PASS' : 'FAIL' }
}

/** Issue 5's targets, judged on the medians of per-round ratios. */
export function evaluateTargets(report: Omit<BenchReport, 'finishedAt'>): TargetOutcome[] {
  const outcomes: TargetOutcome[] = []
  for (const method of ['GET', 'POST'] as const) {
    const pairs = report.runtime[method]?.pairs
    outcomes.push(
      outcome(
        `runtime ${method} throughput vs the floor`,
        '≥ 0.90×',
        pairs?.['flowgate/floor']?.throughputRatio,
        (v) => v >= 0.9,
        formatRatio,
      ),
      outcome(
        `runtime ${method} throughput vs @fastify/http-proxy`,
        '≥ 1.15×',
        pairs?.['flowgate/peer']?.throughputRatio,
        (v) => v >= 1.15,
        formatRatio,
      ),
      outcome(
        `runtime ${method} p99 at ${report.settings.connections} connections`,
        "≤ the floor's p99 + 1 ms",
        pairs?.['flowgate/floor']?.p99DifferenceMs,
        (v) => v <= 1,
        formatDifferenceMs,
      ),
      // The same target at one offered rate for both, where it measures the latency Flowgate adds
      // rather than its throughput again (runtime.ts, runRuntimeScenario).
      outcome(
        `runtime ${method} p99 at ${report.settings.connections} connections, paced to half the floor's rate`,
        "≤ the floor's p99 + 1 ms",
        report.pacedRuntime?.[method]?.comparison.pairs['flowgate/floor']?.p99DifferenceMs,
        (v) => v <= 1,
        formatDifferenceMs,
      ),
    )
  }
  const scale = report.scale
  outcomes.push(
    outcome(
      scale === undefined
        ? '10,000 flows and 100,000 service keys'
        : `${scale.large.flows} flows and ${scale.large.serviceKeys} service keys vs ${scale.small.flows} of each`,
      '≤ 5 % slower',
      scale?.comparison.pairs['large/small']?.throughputRatio,
      (v) => v >= 0.95,
      formatRatio,
    ),
    outcome(
      `${(report.stream?.bytes ?? 2 ** 30) / 2 ** 30} GiB streamed POST, peak RSS growth`,
      '≤ 64 MiB',
      report.stream?.results.flowgate?.peakRssGrowthBytes,
      (v) => v <= 64 * mib,
      (v) => `${(v / mib).toFixed(1)} MiB`,
    ),
  )
  const token = report.tokenEndpoint
  const flowgateTokens = token?.comparison.contenders.flowgate?.median.requestsPerSecond
  outcomes.push(
    outcome(
      `token endpoint vs oidc-provider (${token?.algorithm ?? 'ES256'})`,
      '≥ 1.5×',
      token?.comparison.pairs['flowgate/oidc-provider']?.throughputRatio,
      (v) => v >= 1.5,
      formatRatio,
    ),
    outcome(
      'token endpoint vs the raw signing rate',
      '≥ 0.8×',
      flowgateTokens === undefined || token === undefined
        ? undefined
        : flowgateTokens / token.rawSigningPerSecond,
      (v) => v >= 0.8,
      formatRatio,
    ),
  )
  return outcomes
}

/**
 * The run's resolution, in words: what a second floor process, the same server as the first,
 * measured against it in the same rounds. It is nothing but the method's noise on this machine, so a
 * target whose figure is nearer its threshold than this is not decided by the run. Undefined when the
 * runtime scenario did not run.
 */
export function describeResolution(report: Omit<BenchReport, 'finishedAt'>): string | undefined {
  const parts: string[] = []
  for (const method of ['GET', 'POST'] as const) {
    const pair = report.runtime[method]?.pairs[resolutionPair]
    const paced = report.pacedRuntime?.[method]?.comparison.pairs[resolutionPair]
    if (pair === undefined && paced === undefined) continue
    const figures: string[] = []
    if (pair !== undefined) {
      figures.push(
        `${formatRatio(pair.throughputRatio)} its throughput and p99 ${formatDifferenceMs(pair.p99DifferenceMs)}`,
      )
    }
    if (paced !== undefined)
      figures.push(`p99 ${formatDifferenceMs(paced.p99DifferenceMs)} in the paced rounds`)
    parts.push(`${method} ${figures.join(', and ')}`)
  }
  if (parts.length === 0) return undefined
  return (
    `Resolution of this run: a second floor, the same server as the first, measured ${parts.join('; ')} ` +
    "against it. That is the method's own noise on this machine: a figure nearer a target than this is not decided by this run."
  )
}

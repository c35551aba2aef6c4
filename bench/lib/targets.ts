import type { BenchReport } from './results.ts'

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

// Three decimals, so that a ratio just under a threshold never prints as the threshold itself.
const times = (value: number) => `${value.toFixed(3)}×`

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
        times,
      ),
      outcome(
        `runtime ${method} throughput vs @fastify/http-proxy`,
        '≥ 1.15×',
        pairs?.['flowgate/peer']?.throughputRatio,
        (v) => v >= 1.15,
        times,
      ),
      outcome(
        `runtime ${method} p99 at ${report.settings.connections} connections`,
        "≤ the floor's p99 + 1 ms",
        pairs?.['flowgate/floor']?.p99DifferenceMs,
        (v) => v <= 1,
        (v) => `${v >= 0 ? '+' : ''}${v.toFixed(2)} ms`,
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
      times,
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
      times,
    ),
    outcome(
      'token endpoint vs the raw signing rate',
      '≥ 0.8×',
      flowgateTokens === undefined || token === undefined
        ? undefined
        : flowgateTokens / token.rawSigningPerSecond,
      (v) => v >= 0.8,
      times,
    ),
  )
  return outcomes
}

import type { ContenderSummary, RoundMeasurement, RoundSettings, RoundsByContender } from './rounds.ts'
import { summarize } from './rounds.ts'
import { medianDifference, medianRatio } from './stats.ts'

export interface PairResult {
  /** Median over rounds of (A req/s ÷ B req/s). */
  readonly throughputRatio: number
  /**
   * Median over rounds of (A p50 − B p50), in milliseconds: in paced rounds, what the proxy adds to
   * a typical answer. Absent from reports before 2026-12-04 05:00.
   */
  readonly p50DifferenceMs: number
  /** Median over rounds of (A p99 − B p99), in milliseconds. */
  readonly p99DifferenceMs: number
}

export interface Comparison {
  readonly contenders: Readonly<
    Record<string, { readonly rounds: readonly RoundMeasurement[]; readonly median: ContenderSummary }>
  >
  /** Keyed `A/B`, for instance `flowgate/floor`. */
  readonly pairs: Readonly<Record<string, PairResult>>
}

export function compare(
  rounds: RoundsByContender,
  pairs: readonly (readonly [string, string])[],
): Comparison {
  const contenders: Record<string, { rounds: readonly RoundMeasurement[]; median: ContenderSummary }> = {}
  for (const [name, measured] of Object.entries(rounds)) {
    contenders[name] = { rounds: measured, median: summarize(measured) }
  }
  const results: Record<string, PairResult> = {}
  for (const [a, b] of pairs) {
    const left = rounds[a]
    const right = rounds[b]
    if (left === undefined || right === undefined) continue
    results[`${a}/${b}`] = {
      throughputRatio: medianRatio(
        left.map((r) => r.requestsPerSecond),
        right.map((r) => r.requestsPerSecond),
      ),
      p50DifferenceMs: medianDifference(
        left.map((r) => r.p50Ms),
        right.map((r) => r.p50Ms),
      ),
      p99DifferenceMs: medianDifference(
        left.map((r) => r.p99Ms),
        right.map((r) => r.p99Ms),
      ),
    }
  }
  return { contenders, pairs: results }
}

/** Paced runtime rounds of one method: the pause chosen, and what each contender measured with it. */
export interface PacedRuntime {
  /** The floor's unpaced rate the pause was chosen from. */
  readonly floorRequestsPerSecond: number
  /** Each connection paused a random 0 to 2 × thinkMs whole milliseconds after each answer. */
  readonly thinkMs: number
  readonly comparison: Comparison
}

export interface StreamResult {
  readonly seconds: number
  /** Peak RSS during the upload minus RSS just before it. */
  readonly peakRssGrowthBytes: number
  /** `VmHWM` when the kernel let us reset it, else the largest of VmRSS samples every 20 ms. */
  readonly method: 'VmHWM' | 'VmRSS samples'
  readonly status: number
}

export interface VerificationResult {
  /** `flowgate`: Flowgate's own authenticator; `jose`: jwtVerify and a Map, standing in for it. */
  readonly implementation: 'flowgate' | 'jose'
  readonly algorithm: string
  readonly coldPerSecond: number
  readonly cachedPerSecond: number
  readonly note: string
}

export interface BenchReport {
  readonly startedAt: string
  readonly finishedAt: string
  readonly machine: {
    readonly cpus: number
    readonly cpuModel: string
    readonly node: string
    readonly platform: string
    readonly loadGenerator: string
    /** 1-minute load average at start and at the end: anything well above 2 means other work shared the cores. */
    readonly loadAverage: { readonly start: number; readonly end: number }
  }
  /** `processes`: of each server in the runtime scenario; absent in reports from before 2026-12-02 18:00. */
  readonly settings: RoundSettings & { readonly quick: boolean; readonly processes?: number }
  /** Whether Flowgate took part, and why not when it did not. */
  readonly flowgate: { readonly measured: boolean; readonly note: string }
  readonly runtime: { readonly GET?: Comparison; readonly POST?: Comparison }
  /** The runtime requests paced to about half the floor's rate; absent before 2026-12-04 04:00. */
  readonly pacedRuntime?: { readonly GET?: PacedRuntime; readonly POST?: PacedRuntime }
  readonly tokenEndpoint?: {
    readonly algorithm: string
    readonly comparison: Comparison
    /** Sequential jose SignJWT on one core: the limit of any token endpoint in Node.js. */
    readonly rawSigningPerSecond: number
  }
  readonly scale?: {
    readonly small: { readonly flows: number; readonly serviceKeys: number }
    readonly large: { readonly flows: number; readonly serviceKeys: number }
    readonly comparison: Comparison
  }
  /** Runtime GET with the verified-token cache on and off (`tokens.verifiedCacheSize: 0`). */
  readonly verifiedTokenCache?: Comparison
  readonly stream?: { readonly bytes: number; readonly results: Readonly<Record<string, StreamResult>> }
  readonly verification?: VerificationResult
  readonly errors: readonly string[]
}

import type { LoadGenerator, LoadRequest, LoadResult } from './load-generator.ts'
import type { ServerProcess } from './server-process.ts'
import { median } from './stats.ts'

export interface Contender {
  readonly name: string
  readonly server: ServerProcess
  readonly request: LoadRequest
}

export interface RoundSettings {
  readonly rounds: number
  readonly durationSeconds: number
  readonly warmupSeconds: number
  readonly connections: number
}

export interface RoundMeasurement extends LoadResult {
  /** CPU time (user + system) the server process spent per completed request, in microseconds. */
  readonly cpuMicrosPerRequest: number
  /** The part of it spent on the server's main thread, its event loop. */
  readonly eventLoopMicrosPerRequest: number
  /** The longest the server's event loop was blocked during the round, in milliseconds. */
  readonly longestStallMs: number
}

export interface ContenderSummary {
  readonly requestsPerSecond: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly cpuMicrosPerRequest: number
  readonly eventLoopMicrosPerRequest: number
  /** Median over rounds of each round's longest stall. */
  readonly longestStallMs: number
  /** Sum over all rounds. */
  readonly socketErrors: number
}

export type RoundsByContender = Readonly<Record<string, readonly RoundMeasurement[]>>

async function measure(
  generator: LoadGenerator,
  contender: Contender,
  settings: RoundSettings,
  durationSeconds: number,
): Promise<RoundMeasurement> {
  const before = await contender.server.cpu()
  const result = await generator.run(contender.request, {
    connections: settings.connections,
    durationSeconds,
  })
  const after = await contender.server.cpu()
  // A fast 401 or 404 would look like throughput: such a round is a broken set-up, not a figure.
  if (result.non2xx > 0) {
    throw new Error(
      `${contender.name}: ${result.non2xx} of ${result.requests} responses were not 2xx/3xx (${contender.request.method} ${contender.request.url})`,
    )
  }
  if (result.requests === 0) throw new Error(`${contender.name}: no request completed`)
  return {
    ...result,
    cpuMicrosPerRequest: (after.processMicros - before.processMicros) / result.requests,
    eventLoopMicrosPerRequest: (after.eventLoopMicros - before.eventLoopMicros) / result.requests,
    longestStallMs: after.longestStallMs,
  }
}

/**
 * The order of round `round` (1-based): the contenders rotated by one place a round (A B C, B C A,
 * C A B, A B C, …). Over a multiple of their number of rounds each contender stands in every position
 * equally often, so whatever a position brings — the machine's speed drifting across a round, the
 * previous server still closing its connections or collecting its garbage — falls on all of them
 * alike instead of always on the same one.
 */
export function roundOrder<T>(contenders: readonly T[], round: number): T[] {
  const shift = (round - 1) % contenders.length
  return [...contenders.slice(shift), ...contenders.slice(0, shift)]
}

/**
 * Warms every contender up once (JIT, TLS sessions, connection pools; not recorded), then runs
 * `rounds` rounds, each measuring every contender back to back, in the order of `roundOrder`.
 */
export async function runInterleaved(
  generator: LoadGenerator,
  contenders: readonly Contender[],
  settings: RoundSettings,
  log: (line: string) => void,
): Promise<RoundsByContender> {
  for (const contender of contenders) {
    await measure(generator, contender, settings, settings.warmupSeconds)
  }
  const byContender: Record<string, RoundMeasurement[]> = {}
  for (const contender of contenders) byContender[contender.name] = []
  for (let round = 1; round <= settings.rounds; round++) {
    const line: string[] = []
    for (const contender of roundOrder(contenders, round)) {
      const measurement = await measure(generator, contender, settings, settings.durationSeconds)
      byContender[contender.name]?.push(measurement)
      line.push(`${contender.name} ${Math.round(measurement.requestsPerSecond)}/s`)
    }
    log(`    round ${round}/${settings.rounds}: ${line.join(', ')}`)
  }
  return byContender
}

export function summarize(rounds: readonly RoundMeasurement[]): ContenderSummary {
  return {
    requestsPerSecond: median(rounds.map((r) => r.requestsPerSecond)),
    p50Ms: median(rounds.map((r) => r.p50Ms)),
    p99Ms: median(rounds.map((r) => r.p99Ms)),
    cpuMicrosPerRequest: median(rounds.map((r) => r.cpuMicrosPerRequest)),
    eventLoopMicrosPerRequest: median(rounds.map((r) => r.eventLoopMicrosPerRequest)),
    longestStallMs: median(rounds.map((r) => r.longestStallMs)),
    socketErrors: rounds.reduce((sum, r) => sum + r.socketErrors, 0),
  }
}

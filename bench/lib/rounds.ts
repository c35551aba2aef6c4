import type { LoadGenerator, LoadRequest, LoadResult } from './load-generator.ts'
import type { ServerProcess } from './server-process.ts'
import { median } from './stats.ts'

export interface Contender {
  readonly name: string
  readonly server: ServerProcess
  readonly request: LoadRequest
  /**
   * Further processes of the same server, measured in turn: round r uses process (r - 1) mod
   * (1 + others), so that what one process happens to be (where its heap and code landed, which
   * core it was started on) counts once per process in the median, not in every round.
   */
  readonly others?: readonly ContenderProcess[]
}

/** One process of a contender, with the request it gets. */
type ContenderProcess = { readonly server: ServerProcess; readonly request: LoadRequest }

/** Every process of `contender`, the first one first. */
function processesOf(contender: Contender): readonly ContenderProcess[] {
  return [contender, ...(contender.others ?? [])]
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
  /**
   * CPU time the shared upstream spent per request of this round (NaN where a scenario has no
   * upstream): a proxy that sends more, or sends it less conveniently, costs the upstream more, on
   * the same two cores, without showing in its own figures.
   */
  readonly upstreamMicrosPerRequest: number
}

export interface ContenderSummary {
  readonly requestsPerSecond: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly cpuMicrosPerRequest: number
  readonly eventLoopMicrosPerRequest: number
  /** Median over rounds of each round's longest stall. */
  readonly longestStallMs: number
  readonly upstreamMicrosPerRequest: number
  /** Sum over all rounds. */
  readonly socketErrors: number
}

export type RoundsByContender = Readonly<Record<string, readonly RoundMeasurement[]>>

async function measure(
  generator: LoadGenerator,
  contender: ContenderProcess & { readonly name: string },
  settings: RoundSettings,
  durationSeconds: number,
  upstream?: Pick<ServerProcess, 'cpu'>,
): Promise<RoundMeasurement> {
  const upstreamBefore = await upstream?.cpu()
  const before = await contender.server.cpu()
  const result = await generator.run(contender.request, {
    connections: settings.connections,
    durationSeconds,
  })
  const after = await contender.server.cpu()
  const upstreamAfter = await upstream?.cpu()
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
    upstreamMicrosPerRequest:
      upstreamBefore === undefined || upstreamAfter === undefined
        ? Number.NaN
        : (upstreamAfter.processMicros - upstreamBefore.processMicros) / result.requests,
  }
}

/**
 * The order of round `round` (1-based): a Williams design, a Latin square balanced for the server
 * just before. Row k takes the sequence 0, 1, n-1, 2, n-2, … and adds k to each place (mod n); with
 * an odd number of contenders the rows after the first n are those rows reversed. Over n rounds
 * (2n when n is odd) every contender stands in every position equally often and follows every other
 * contender equally often.
 *
 * Both matter on a machine of two cores. A plain rotation (A B C, B C A, …) balances positions but
 * keeps every contender behind the same one: two identical Flowgates, one always behind the peer
 * and one behind another Flowgate, measured several per cent apart (the history of
 * docs/performance.md, *Reading the figures honestly*).
 */
export function roundOrder<T>(contenders: readonly T[], round: number): T[] {
  const n = contenders.length
  const sequence = [0]
  for (let i = 1; sequence.length < n; i++) {
    sequence.push(i)
    if (sequence.length < n) sequence.push(n - i)
  }
  const k = (round - 1) % (n % 2 === 0 ? n : 2 * n)
  const row = sequence.map((place) => contenders[(place + k) % n] as T)
  return k < n ? row : row.reverse()
}

/** Polls a server's CPU time until it spends less than `quietMicros` in one `intervalMs`, or `maxMs` passed. */
export async function settle(
  server: Pick<ServerProcess, 'cpu'>,
  { quietMicros = 5_000, intervalMs = 100, maxMs = 2_000 } = {},
): Promise<void> {
  const started = Date.now()
  let last = (await server.cpu()).processMicros
  while (Date.now() - started < maxMs) {
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
    const now = (await server.cpu()).processMicros
    if (now - last < quietMicros) return
    last = now
  }
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
  /** The upstream all contenders forward to, whose CPU per request each round then reports too. */
  upstream?: Pick<ServerProcess, 'cpu'>,
): Promise<RoundsByContender> {
  for (const contender of contenders) {
    for (const { server, request } of processesOf(contender)) {
      await measure(generator, { name: contender.name, server, request }, settings, settings.warmupSeconds)
      await settle(server)
    }
  }
  const byContender: Record<string, RoundMeasurement[]> = {}
  for (const contender of contenders) byContender[contender.name] = []
  for (let round = 1; round <= settings.rounds; round++) {
    const line: string[] = []
    for (const contender of roundOrder(contenders, round)) {
      const processes = processesOf(contender)
      const { server, request } = processes[(round - 1) % processes.length] as ContenderProcess
      const measurement = await measure(
        generator,
        { name: contender.name, server, request },
        settings,
        settings.durationSeconds,
        upstream,
      )
      // What a server does after its load stops (closing connections, collecting garbage) must not
      // run during the next server's round.
      await settle(server)
      byContender[contender.name]?.push(measurement)
      line.push(`${server.name} ${Math.round(measurement.requestsPerSecond)}/s`)
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
    upstreamMicrosPerRequest: median(rounds.map((r) => r.upstreamMicrosPerRequest)),
    socketErrors: rounds.reduce((sum, r) => sum + r.socketErrors, 0),
  }
}

import type { LoadRequest } from '../lib/load-generator.ts'
import { type Comparison, compare, type PacedRuntime } from '../lib/results.ts'
import { type Contender, runInterleaved } from '../lib/rounds.ts'
import type { ServerProcess } from '../lib/server-process.ts'
import { secondFloor } from '../lib/targets.ts'
import type { FlowgateUnderTest, ScenarioContext } from './context.ts'

const document = {
  order: 'PO-4711',
  partner: 'ACME',
  lines: Array.from({ length: 9 }, (_, i) => ({
    item: 10 * (i + 1),
    sku: `SKU-${1000 + i}`,
    quantity: i + 1,
  })),
  note: '',
}

/** Exactly 1 KiB of JSON, the size of a small business document. */
export const postBody = JSON.stringify({
  ...document,
  note: 'x'.repeat(1024 - JSON.stringify(document).length),
})

export const flowPath = '/http/bench'

export function runtimeRequest(
  baseUrl: string,
  method: 'GET' | 'POST',
  authorization: string | undefined,
): LoadRequest {
  const headers: Record<string, string> = authorization === undefined ? {} : { authorization }
  if (method === 'GET') return { url: `${baseUrl}${flowPath}`, method, headers }
  return {
    url: `${baseUrl}${flowPath}`,
    method,
    headers: { ...headers, 'content-type': 'application/json' },
    body: postBody,
  }
}

/**
 * The pause that paces the floor to about half the rate it reached unpaced: each of the
 * `connections` then sends `floorRate / 2 / connections` requests a second, one per pause plus
 * answer. Every contender gets the same pause, so all are offered nearly the same rate.
 */
export function pacedThinkMs(connections: number, floorRequestsPerSecond: number): number {
  return Math.max(1, Math.round((2 * connections * 1000) / floorRequestsPerSecond))
}

export interface RuntimeResults {
  /** Unpaced: every connection sends its next request as soon as it has the answer. */
  readonly GET?: Comparison
  readonly POST?: Comparison
  /** Present when the paced rounds ran. */
  readonly paced?: { readonly GET?: PacedRuntime; readonly POST?: PacedRuntime }
}

/**
 * Floor, peer and Flowgate under GET and under POST with a 1 KiB body, the same requests to each
 * (Flowgate's bearer token included), interleaved; with `before`
 * (Flowgate from other checkouts) those too, for each optimisation's before/after in the same rounds.
 * With `secondFloor`, a second process of the floor itself takes part as well: what it measures
 * against the first (`floor 2/floor`) is nothing but the method's noise in this run, its resolution.
 *
 * `paced` adds rounds at about half the floor's rate (floor, Flowgate, the second floor and
 * `before`; not the peer): unpaced, 50 connections keep 50 requests in flight, so latency is
 * 50 ÷ throughput (Little's law) and the p99 comparison repeats the throughput one; at one offered
 * rate below every contender's limit, the p99 difference is the latency a proxy adds. Without the
 * unpaced rounds the floor's rate comes from one unpaced round of its first process.
 */
export async function runRuntimeScenario(
  context: ScenarioContext,
  servers: {
    /** The upstream every proxy forwards to: its CPU per request is reported for each. */
    upstream?: ServerProcess
    /** Each list: the processes of that server, measured in turn (Contender.others); one at least. */
    floor: readonly ServerProcess[]
    peer: readonly ServerProcess[]
    secondFloor?: readonly ServerProcess[]
    flowgate: readonly FlowgateUnderTest[] | undefined
    before?: readonly { readonly name: string; readonly flowgates: readonly FlowgateUnderTest[] }[]
  },
  runs: { readonly unpaced: boolean; readonly paced: boolean },
): Promise<RuntimeResults> {
  const results: { GET?: Comparison; POST?: Comparison } = {}
  const paced: { GET?: PacedRuntime; POST?: PacedRuntime } = {}
  const before = servers.before ?? []
  for (const method of ['GET', 'POST'] as const) {
    // Every contender gets the same request, the partner's bearer token included: parsing that
    // 1,200-byte header is part of the traffic any proxy in front of CPI receives.
    const authorization = servers.flowgate?.[0]?.authorization
    const contendersOf = (withPeer: boolean, thinkMs?: number): Contender[] => {
      const contenders: Contender[] = []
      const add = (name: string, processes: readonly { server: ServerProcess; authorization?: string }[]) => {
        const [first, ...others] = processes.map(({ server, authorization: own }) => {
          const request = runtimeRequest(server.url, method, own ?? authorization)
          return { server, request: thinkMs === undefined ? request : { ...request, thinkMs } }
        })
        if (first !== undefined) contenders.push({ name, ...first, others })
      }
      add(
        'floor',
        servers.floor.map((server) => ({ server })),
      )
      if (withPeer)
        add(
          'peer',
          servers.peer.map((server) => ({ server })),
        )
      if (servers.flowgate !== undefined) add('flowgate', servers.flowgate)
      if (servers.secondFloor !== undefined)
        add(
          secondFloor,
          servers.secondFloor.map((server) => ({ server })),
        )
      for (const { name, flowgates } of before) add(name, flowgates)
      return contenders
    }
    const beforePairs = before.flatMap(({ name }) => [['flowgate', name] as const, [name, 'floor'] as const])

    let floorRate: number | undefined
    if (runs.unpaced) {
      context.log(`  runtime ${method}`)
      const rounds = await runInterleaved(
        context.generator,
        contendersOf(true),
        context.settings,
        context.log,
        servers.upstream,
      )
      const comparison = compare(rounds, [
        ['flowgate', 'floor'],
        ['flowgate', 'peer'],
        ['peer', 'floor'],
        [secondFloor, 'floor'],
        ...beforePairs,
      ])
      results[method] = comparison
      floorRate = comparison.contenders.floor?.median.requestsPerSecond
    }
    if (!runs.paced) continue
    if (floorRate === undefined) {
      // One unpaced round of the first floor, after a warm-up as every measured round has.
      const request = runtimeRequest((servers.floor[0] as ServerProcess).url, method, authorization)
      const { connections, warmupSeconds, durationSeconds } = context.settings
      await context.generator.run(request, { connections, durationSeconds: warmupSeconds })
      floorRate = (await context.generator.run(request, { connections, durationSeconds })).requestsPerSecond
    }
    const thinkMs = pacedThinkMs(context.settings.connections, floorRate)
    context.log(
      `  runtime ${method}, paced: each connection pauses 0–${2 * thinkMs} ms after each answer ` +
        `(about half the floor's ${Math.round(floorRate)}/s)`,
    )
    const rounds = await runInterleaved(
      context.generator,
      contendersOf(false, thinkMs),
      context.settings,
      context.log,
      servers.upstream,
    )
    paced[method] = {
      floorRequestsPerSecond: floorRate,
      thinkMs,
      comparison: compare(rounds, [['flowgate', 'floor'], [secondFloor, 'floor'], ...beforePairs]),
    }
  }
  return runs.paced ? { ...results, paced } : results
}

import type { LoadRequest } from '../lib/load-generator.ts'
import { type Comparison, compare } from '../lib/results.ts'
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
 * Floor, peer and Flowgate under GET and under POST with a 1 KiB body, the same requests to each
 * (Flowgate's bearer token included), interleaved; with `before`
 * (Flowgate from other checkouts) those too, for each optimisation's before/after in the same rounds.
 * With `secondFloor`, a second process of the floor itself takes part as well: what it measures
 * against the first (`floor 2/floor`) is nothing but the method's noise in this run, its resolution.
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
): Promise<{ GET: Comparison; POST: Comparison }> {
  const results: Partial<Record<'GET' | 'POST', Comparison>> = {}
  for (const method of ['GET', 'POST'] as const) {
    context.log(`  runtime ${method}`)
    // Every contender gets the same request, the partner's bearer token included: parsing that
    // 1,200-byte header is part of the traffic any proxy in front of CPI receives.
    const authorization = servers.flowgate?.[0]?.authorization
    const contenders: Contender[] = []
    const add = (name: string, processes: readonly { server: ServerProcess; authorization?: string }[]) => {
      const [first, ...others] = processes.map(({ server, authorization: own }) => ({
        server,
        request: runtimeRequest(server.url, method, own ?? authorization),
      }))
      if (first !== undefined) contenders.push({ name, ...first, others })
    }
    add(
      'floor',
      servers.floor.map((server) => ({ server })),
    )
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
    const before = servers.before ?? []
    for (const { name, flowgates } of before) add(name, flowgates)
    const rounds = await runInterleaved(
      context.generator,
      contenders,
      context.settings,
      context.log,
      servers.upstream,
    )
    results[method] = compare(rounds, [
      ['flowgate', 'floor'],
      ['flowgate', 'peer'],
      ['peer', 'floor'],
      [secondFloor, 'floor'],
      ...before.flatMap(({ name }) => [['flowgate', name] as const, [name, 'floor'] as const]),
    ])
  }
  return results as { GET: Comparison; POST: Comparison }
}

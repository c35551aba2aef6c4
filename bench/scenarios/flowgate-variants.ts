import { type Comparison, compare } from '../lib/results.ts'
import { runInterleaved } from '../lib/rounds.ts'
import type { FlowgateUnderTest, ScenarioContext } from './context.ts'
import { runtimeRequest } from './runtime.ts'

export interface ScaleSize {
  readonly flows: number
  readonly serviceKeys: number
}

/**
 * The same GET through two Flowgate processes that differ in one respect (data size, or one
 * optimisation switched off), interleaved. The comparison's pair is `<first>/<second>`.
 */
export async function compareFlowgateVariants(
  context: ScenarioContext,
  first: { readonly name: string; readonly flowgate: FlowgateUnderTest },
  second: { readonly name: string; readonly flowgate: FlowgateUnderTest },
): Promise<Comparison> {
  const rounds = await runInterleaved(
    context.generator,
    [first, second].map(({ name, flowgate }) => ({
      name,
      server: flowgate.server,
      request: runtimeRequest(flowgate.server.url, 'GET', flowgate.authorization),
    })),
    context.settings,
    context.log,
  )
  return compare(rounds, [[first.name, second.name]])
}

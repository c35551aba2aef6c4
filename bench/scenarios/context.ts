import type { LoadGenerator } from '../lib/load-generator.ts'
import type { RoundSettings } from '../lib/rounds.ts'
import type { ServerProcess } from '../lib/server-process.ts'

/** What every scenario gets from the runner. */
export interface ScenarioContext {
  readonly generator: LoadGenerator
  readonly settings: RoundSettings
  readonly log: (line: string) => void
  /** Starts a server under test and closes it with the run. */
  start(name: string, entry: string, options: unknown, readyTimeoutMs?: number): Promise<ServerProcess>
}

/** Flowgate's small gateway, ready to be called, when this run has one. */
export interface FlowgateUnderTest {
  readonly server: ServerProcess
  /** `Bearer …` obtained from Flowgate's own token endpoint. */
  readonly authorization: string
}

/** Flowgate from another checkout (`--before`), named `flowgate@<directory>`. */
export interface NamedFlowgate {
  readonly name: string
  readonly flowgate: FlowgateUnderTest
}

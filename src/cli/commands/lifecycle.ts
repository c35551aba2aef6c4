import type { CommandSpec } from '../command.ts'

type Runner = (argv: readonly string[]) => Promise<number>

/** A command the server runs: loaded only when called, handed its arguments raw. */
function serverCommand(name: string, summary: string, load: () => Promise<Runner>): CommandSpec {
  return {
    name,
    summary,
    kind: 'local',
    passthrough: true,
    async run(context) {
      return (await load())(context.args)
    },
  }
}

/** `start` and `demo` belong to the server; the CLI only hands them their arguments. */
export const lifecycleCommands: readonly CommandSpec[] = [
  serverCommand(
    'start',
    'Start the gateway (runtime and admin listeners) until SIGTERM/SIGINT',
    async () => (await import('../../server/start.ts')).runStart,
  ),
  serverCommand(
    'demo',
    'Start a demo: gateway, CPI simulator, a sample flow and a partner key',
    async () => (await import('../../demo/demo.ts')).runDemo,
  ),
]

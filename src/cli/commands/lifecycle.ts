import type { CommandSpec } from '../command.ts'

/** `start` and `demo` belong to the server; the CLI only hands them their arguments. */
export const lifecycleCommands: readonly CommandSpec[] = [
  {
    name: 'start',
    summary: 'Start the gateway (runtime and admin listeners) until SIGTERM/SIGINT',
    kind: 'local',
    passthrough: true,
    async run(context) {
      const { runStart } = (await import('../../server/start.ts')) as {
        runStart(argv: readonly string[]): Promise<number>
      }
      return runStart(context.args)
    },
  },
  {
    name: 'demo',
    summary: 'Start a demo: gateway, CPI simulator, a sample flow and a partner key',
    kind: 'local',
    passthrough: true,
    async run(context) {
      const { runDemo } = (await import('../../demo/demo.ts')) as {
        runDemo(argv: readonly string[]): Promise<number>
      }
      return runDemo(context.args)
    },
  },
]

import { monitorEventLoopDelay } from 'node:perf_hooks'
import type { FromServer, ToServer } from '../lib/server-messages.ts'

export interface BenchServer {
  /** Base URL the load generator calls. */
  readonly url: string
  /** Anything the runner needs beyond the URL (client credentials, counts). */
  readonly info?: Readonly<Record<string, unknown>>
  close(): Promise<void>
}

function send(message: FromServer): void {
  process.send?.(message)
}

/**
 * Runs a server under test as a child of the runner: options arrive as JSON in argv[2], readiness
 * and CPU readings go back over IPC, each reading with the longest the event loop was blocked since
 * the one before (a 10 ms timer's lateness, `monitorEventLoopDelay`: no JavaScript runs for it).
 * The process exits when the runner asks, or when the runner goes away, so an interrupted run
 * leaves no server behind.
 */
export function serveBench<Options>(start: (options: Options) => Promise<BenchServer>): void {
  if (process.send === undefined) {
    console.error('this file is a benchmark server: it is started by bench/run.ts')
    process.exit(2)
  }
  const options = JSON.parse(process.argv[2] ?? '{}') as Options
  process.on('disconnect', () => process.exit(0))
  start(options).then(
    (server) => {
      const delay = monitorEventLoopDelay({ resolution: 10 })
      delay.enable()
      process.on('message', (message: ToServer) => {
        if (message.type === 'cpu') {
          const usage = process.cpuUsage()
          const thread = process.threadCpuUsage()
          send({
            type: 'cpu',
            id: message.id,
            user: usage.user,
            system: usage.system,
            eventLoop: thread.user + thread.system,
            // An empty histogram's max is 0.
            longestStallMs: delay.max / 1e6,
          })
          delay.reset()
        } else if (message.type === 'close') {
          server.close().finally(() => process.exit(0))
        }
      })
      send({ type: 'ready', url: server.url, info: server.info ?? {} })
    },
    (error: unknown) => {
      send({
        type: 'failed',
        message: error instanceof Error ? (error.stack ?? error.message) : String(error),
      })
      process.exitCode = 1
      process.disconnect()
    },
  )
}

import { parseArgs } from 'node:util'
import { loadConfig } from '../config/load.ts'
import { isFlowgateError } from '../lib/errors.ts'
import { createLogger } from '../lib/logger.ts'
import { startGateway } from './gateway.ts'
import { keyUrlWarnings } from './key-url-check.ts'
import { configuredListeners, failedListener, listenProblem, unavailableListeners } from './listener-check.ts'

const startUsage = `Usage: flowgate start [--config FILE]

Starts the gateway: the runtime listener (token service and flow proxy) and the admin listener.
Configuration comes from FILE, the gateway configuration (flowgate.yaml by convention; or
FLOWGATE_CONFIG), and FLOWGATE_* environment variables; see docs/configuration.md. Both ports are
checked before the store is touched (exit 1 naming the busy one). SIGTERM or SIGINT drains in-flight
requests and exits 0.`

/** `flowgate start`: runs until SIGTERM/SIGINT, then shuts down gracefully. */
export async function runStart(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: { config: { type: 'string', short: 'f' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  })
  if (values.help) {
    process.stdout.write(`${startUsage}\n`)
    return 0
  }
  let config: ReturnType<typeof loadConfig>
  try {
    config = loadConfig(values.config === undefined ? {} : { file: values.config })
  } catch (error) {
    process.stderr.write(`flowgate: ${isFlowgateError(error) ? error.message : String(error)}\n`)
    return 2
  }
  const listeners = configuredListeners(config)
  const problems = await unavailableListeners(listeners)
  if (problems.length > 0) {
    process.stderr.write(problems.map((problem) => `flowgate: ${problem}\n`).join(''))
    return 1
  }
  const logger = createLogger(config.log.level)
  let gateway: Awaited<ReturnType<typeof startGateway>>
  try {
    gateway = await startGateway(config, { logger })
  } catch (error) {
    const listener = failedListener(listeners, error)
    if (listener === undefined) throw error
    process.stderr.write(`flowgate: ${listenProblem(listener, error as NodeJS.ErrnoException)}\n`)
    return 1
  }
  for (const warning of keyUrlWarnings(config, gateway.runtimeUrl, values.config)) logger.warn(warning)
  logger.info({ runtimeUrl: gateway.runtimeUrl, adminUrl: gateway.adminUrl }, 'flowgate started')

  return await new Promise<number>((resolve) => {
    let stopping = false
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return
      stopping = true
      logger.info({ signal, drainTimeoutMs: config.shutdown.drainTimeoutMs }, 'shutting down')
      gateway.close().then(
        () => {
          logger.info('flowgate stopped')
          logger.flush()
          resolve(0)
        },
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed')
          logger.flush()
          resolve(1)
        },
      )
    }
    process.once('SIGTERM', stop)
    process.once('SIGINT', stop)
  })
}

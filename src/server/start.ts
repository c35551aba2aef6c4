import { parseArgs } from 'node:util'
import { loadConfig } from '../config/load.ts'
import { isFlowgateError } from '../lib/errors.ts'
import { createLogger } from '../lib/logger.ts'
import { startGateway } from './gateway.ts'

const startUsage = `Usage: flowgate start [--config FILE]

Starts the gateway: the runtime listener (token service and flow proxy) and the admin listener.
Configuration comes from FILE (or FLOWGATE_CONFIG) and FLOWGATE_* environment variables; see
docs/configuration.md. SIGTERM or SIGINT drains in-flight requests and exits 0.`

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
  const logger = createLogger(config.log.level)
  const gateway = await startGateway(config, { logger })
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

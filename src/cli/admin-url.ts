import { resolve } from 'node:path'
import { loadConfig } from '../config/load.ts'
import type { FlowgateConfig } from '../config/schema.ts'
import type { CliIo } from './cli-io.ts'

/** Where a client reaches a listener bound to `host`: a wildcard address is reached on loopback. */
function reachableHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1'
  if (host === '::') return '[::1]'
  return host.includes(':') ? `[${host}]` : host
}

/** The admin listener's URL as the configuration places it. */
export function configuredAdminUrl(config: Pick<FlowgateConfig, 'admin'>): string {
  return `https://${reachableHost(config.admin.host)}:${config.admin.port}`
}

/**
 * The admin API's URL: `--admin-url`, else FLOWGATE_ADMIN_URL, else admin.host and admin.port of the
 * configuration `flowgate start` reads (--config, FLOWGATE_CONFIG, FLOWGATE_ADMIN_*), so a command
 * given the gateway's configuration needs nothing else. A flag wins over the environment, which
 * wins over the file, as everywhere on the command line.
 */
export function adminUrlOf(io: CliIo, flag: string | undefined, configFile: string | undefined): string {
  if (flag !== undefined) return flag
  const fromEnv = io.env.FLOWGATE_ADMIN_URL
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv
  try {
    const config = loadConfig({
      env: io.env,
      ...(configFile === undefined ? {} : { file: resolve(io.cwd, configFile) }),
    })
    return configuredAdminUrl(config)
  } catch {
    return 'https://127.0.0.1:8444'
  }
}

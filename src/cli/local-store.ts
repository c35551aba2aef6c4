import { resolve } from 'node:path'
import { loadConfig } from '../config/load.ts'
import type { FlowgateConfig } from '../config/schema.ts'
import { openStore } from '../store/open-store.ts'
import type { Store } from '../store/types.ts'
import { CliError } from './cli-error.ts'
import type { CliIo } from './cli-io.ts'

/** The gateway's configuration as `flowgate start` reads it (file, then FLOWGATE_* variables). */
export function localConfig(io: CliIo, configFile: string | undefined): FlowgateConfig {
  const file = configFile ?? io.env.FLOWGATE_CONFIG
  const config = loadConfig({
    env: io.env,
    ...(file === undefined || file === '' ? {} : { file: resolve(io.cwd, file) }),
  })
  return { ...config, dataDir: resolve(io.cwd, config.dataDir) }
}

/** Opens the configured store directly, for offline maintenance; it must already be migrated. */
export async function openLocalStore(config: FlowgateConfig): Promise<Store> {
  const store = await openStore({ url: config.store.url, dataDir: config.dataDir, poolSize: 2 })
  if (!(await store.isMigrated())) {
    await store.close()
    throw new CliError(`the store of ${config.dataDir} is not initialised; run flowgate init first`)
  }
  return store
}

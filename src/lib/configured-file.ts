import { readFileSync } from 'node:fs'
import { FlowgateError } from './errors.ts'

/** Reads a file the configuration names under `key`; ERR_CONFIG_INVALID (naming the key) when it cannot. */
export function readConfiguredFile(path: string, key: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (cause) {
    throw new FlowgateError('ERR_CONFIG_INVALID', {
      description: `invalid configuration: cannot read ${key} (${(cause as NodeJS.ErrnoException).code})`,
    })
  }
}

import { chmodSync, mkdirSync, statSync } from 'node:fs'
import type { Logger } from '../lib/logger.ts'

/** Permission bits that let the group or others read, write or enter. */
const shared = 0o077

function octal(mode: number): string {
  return `0${(mode & 0o777).toString(8)}`
}

/**
 * Creates the data directory with mode 0700, or checks the one that exists. The database, the
 * generated master key and TLS key live there. An existing directory open to the group or others is
 * the operator's choice (a shared volume, a group for backups): Flowgate warns and leaves it. The
 * mode is set explicitly after creation, not left to the process umask, and the umask of the
 * process is never changed.
 */
export function ensureDataDirectory(dataDir: string, logger?: Logger): void {
  const created = mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  if (created !== undefined) {
    chmodSync(dataDir, 0o700)
    return
  }
  const mode = statSync(dataDir).mode
  if ((mode & shared) !== 0) {
    logger?.warn(
      { path: dataDir, mode: octal(mode) },
      'the data directory is accessible to its group or others: it holds the store, keys and certificates; make it 0700',
    )
  }
}

/**
 * Files Flowgate itself creates in the data directory (the database and its WAL and shared-memory
 * files) are its to keep private: one open to the group or others, left by an older version or a
 * copy, is set back to 0600, with a warning naming it.
 */
export function tightenOwnFile(path: string, logger?: Logger): void {
  let mode: number
  try {
    mode = statSync(path).mode
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
    throw error
  }
  if ((mode & shared) === 0) return
  chmodSync(path, 0o600)
  logger?.warn({ path, mode: octal(mode) }, 'a store file was accessible to its group or others: set to 0600')
}

import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export interface DemoLockHolder {
  readonly pid: number
  readonly runtimeUrl: string
}

export function demoLockPath(dataDir: string): string {
  return join(dataDir, 'demo.lock')
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * The running demo that holds the data directory, if any. A lock left by a process that is gone
 * (killed, crashed) does not count, so the next demo takes it over.
 */
export function demoLockHolder(dataDir: string): DemoLockHolder | undefined {
  let holder: Partial<DemoLockHolder>
  try {
    holder = JSON.parse(readFileSync(demoLockPath(dataDir), 'utf8')) as Partial<DemoLockHolder>
  } catch {
    return undefined
  }
  if (typeof holder.pid !== 'number' || holder.pid === process.pid || !alive(holder.pid)) return undefined
  return { pid: holder.pid, runtimeUrl: String(holder.runtimeUrl) }
}

/** Writes this process's lock; the caller has checked that no live demo holds it. */
export function takeDemoLock(dataDir: string, runtimeUrl: string): () => void {
  const path = demoLockPath(dataDir)
  writeFileSync(path, `${JSON.stringify({ pid: process.pid, runtimeUrl })}\n`, { flag: 'wx' })
  return () => rmSync(path, { force: true })
}

import { readFileSync, writeFileSync } from 'node:fs'

export interface ProcessMemory {
  readonly rssBytes: number
  /** Peak resident set size since start or since the last `resetPeakRss`. */
  readonly peakRssBytes: number
}

/** VmRSS and VmHWM from the text of /proc/<pid>/status (values are in kB). */
export function parseProcStatus(text: string): ProcessMemory {
  const field = (name: string): number => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(text)
    if (match === null) throw new Error(`/proc status has no ${name} line`)
    return Number(match[1]) * 1024
  }
  return { rssBytes: field('VmRSS'), peakRssBytes: field('VmHWM') }
}

export function readProcessMemory(pid: number): ProcessMemory {
  return parseProcStatus(readFileSync(`/proc/${pid}/status`, 'utf8'))
}

/**
 * Resets VmHWM to the current RSS (Linux ≥ 4.0, `echo 5 > /proc/<pid>/clear_refs`), so the next
 * reading is the peak of what follows alone. False when the kernel or permissions refuse.
 */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5')
    return true
  } catch {
    return false
  }
}

/**
 * Samples VmRSS every `intervalMs` as a second opinion where VmHWM cannot be reset; `stop` returns
 * the largest sample.
 */
export function sampleRss(pid: number, intervalMs: number): { stop(): number } {
  let peak = readProcessMemory(pid).rssBytes
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, readProcessMemory(pid).rssBytes)
    } catch {
      clearInterval(timer)
    }
  }, intervalMs)
  return {
    stop() {
      clearInterval(timer)
      return peak
    },
  }
}

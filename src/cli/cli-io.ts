/** Where a CLI run reads and writes: the process, or buffers in tests. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown }
  readonly stderr: { write(text: string): unknown }
  readonly env: Readonly<Record<string, string | undefined>>
  readonly cwd: string
  /** Progress lines are written only to a terminal, never into piped output or logs. */
  readonly stderrIsTty: boolean
  /** Resolves after `ms`, or early when the run is interrupted (Ctrl-C during `logs --follow`). */
  readonly sleep: (ms: number) => Promise<void>
  /** True once the run should stop (SIGINT). */
  readonly interrupted: () => boolean
}

export function processIo(): CliIo {
  let stop = false
  let wake: (() => void) | undefined
  process.once('SIGINT', () => {
    stop = true
    wake?.()
  })
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    stderrIsTty: process.stderr.isTTY === true,
    sleep: (ms) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms)
        wake = () => {
          clearTimeout(timer)
          resolve()
        }
      }),
    interrupted: () => stop,
  }
}

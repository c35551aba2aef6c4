export interface CoalescedTask {
  /** Starts the task, or joins the run under way and asks for one more run after it. */
  run(): Promise<void>
  /** The run under way, if any. */
  running(): Promise<void> | undefined
}

/**
 * A reload that callers share: one run at a time, and a call that arrives while a run is under way
 * makes exactly one more run follow it, since that run may have read its data before the change
 * the caller was told about. Every caller of one round waits for the whole round.
 */
export function coalescedTask(task: () => Promise<void>): CoalescedTask {
  let current: Promise<void> | undefined
  let again = false
  return {
    run() {
      if (current !== undefined) {
        again = true
        return current
      }
      current = (async () => {
        try {
          do {
            again = false
            await task()
          } while (again)
        } finally {
          current = undefined
        }
      })()
      return current
    },
    running: () => current,
  }
}

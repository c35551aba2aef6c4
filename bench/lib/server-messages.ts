/** The IPC protocol between the runner and a server under test (bench/servers/*). */

export type ToServer = { readonly type: 'cpu'; readonly id: number } | { readonly type: 'close' }

export type FromServer =
  | { readonly type: 'ready'; readonly url: string; readonly info: Readonly<Record<string, unknown>> }
  | { readonly type: 'failed'; readonly message: string }
  /**
   * Cumulative `process.cpuUsage()` of the server process, in microseconds, and
   * `process.threadCpuUsage()` of its main thread (the event loop) as `eventLoop` (absent from the
   * servers of checkouts older than that reading, run with --before), and the longest the event
   * loop was blocked since the previous reading (absent likewise from older checkouts).
   */
  | {
      readonly type: 'cpu'
      readonly id: number
      readonly user: number
      readonly system: number
      readonly eventLoop?: number
      readonly longestStallMs?: number
    }

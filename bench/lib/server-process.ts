import { type ChildProcess, fork } from 'node:child_process'
import { isAbsolute } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FromServer, ToServer } from './server-messages.ts'

export interface ServerProcess {
  readonly name: string
  readonly url: string
  readonly pid: number
  readonly info: Readonly<Record<string, unknown>>
  /** Cumulative user + system CPU time of the server process and of its event loop, and its longest stall. */
  cpu(): Promise<CpuReading>
  close(): Promise<void>
}

export interface CpuReading {
  /** All the process's threads, in microseconds. */
  readonly processMicros: number
  /** The main thread alone: the event loop that serves the requests (NaN from an older checkout). */
  readonly eventLoopMicros: number
  /**
   * The longest the event loop was blocked since the previous reading, in milliseconds (NaN from an
   * older checkout): what separates a tail of stalls from a slower path for every request.
   */
  readonly longestStallMs: number
}

export interface StartOptions {
  /** Allowed time from fork to `ready` (seeding 100,000 keys takes a while on 2 cores). */
  readonly readyTimeoutMs?: number
  /** Writes a V8 CPU profile of the whole process life into this directory (`--cpu-prof`). */
  readonly cpuProfileDir?: string
  /** More Node.js or V8 options for the server's process, e.g. `--trace-gc` (stdout is the runner's). */
  readonly nodeOptions?: readonly string[]
}

/**
 * Forks `bench/servers/<entry>` (or `entry` itself when it is an absolute path, e.g. the same server
 * in another checkout for a before/after run) with its own event loop and CPU accounting. Resolves once the
 * server listens; rejects with the server's own error when it fails to start.
 */
export function startServerProcess(
  name: string,
  entry: string,
  options: unknown,
  start: StartOptions = {},
): Promise<ServerProcess> {
  const path = isAbsolute(entry) ? entry : fileURLToPath(new URL(`../servers/${entry}`, import.meta.url))
  const child = fork(path, [JSON.stringify(options)], {
    execArgv: [
      ...(start.cpuProfileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${start.cpuProfileDir}`]),
      ...(start.nodeOptions ?? []),
    ],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const timeoutMs = start.readyTimeoutMs ?? 30_000
  return new Promise<ServerProcess>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${name} did not start within ${timeoutMs} ms`))
    }, timeoutMs)
    const onExit = (code: number | null) => {
      clearTimeout(timer)
      reject(new Error(`${name} exited with code ${code} before it was ready`))
    }
    child.once('exit', onExit)
    child.on('message', function onMessage(message: FromServer) {
      if (message.type === 'failed') {
        clearTimeout(timer)
        child.off('exit', onExit)
        child.off('message', onMessage)
        child.kill('SIGKILL')
        reject(new Error(`${name} failed to start: ${message.message}`))
      } else if (message.type === 'ready') {
        clearTimeout(timer)
        child.off('exit', onExit)
        child.off('message', onMessage)
        resolve(wrap(name, child, message.url, message.info))
      }
    })
  })
}

function wrap(
  name: string,
  child: ChildProcess,
  url: string,
  info: Readonly<Record<string, unknown>>,
): ServerProcess {
  let nextId = 1
  const pending = new Map<number, { resolve: (cpu: CpuReading) => void; reject: (error: Error) => void }>()
  child.on('message', (message: FromServer) => {
    if (message.type !== 'cpu') return
    pending.get(message.id)?.resolve({
      processMicros: message.user + message.system,
      eventLoopMicros: message.eventLoop ?? Number.NaN,
      longestStallMs: message.longestStallMs ?? Number.NaN,
    })
    pending.delete(message.id)
  })
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      // A server that dies mid-round must fail the round, not leave the runner waiting forever.
      for (const { reject } of pending.values()) reject(new Error(`${name} exited (${signal ?? code})`))
      pending.clear()
      resolve()
    }),
  )
  return {
    name,
    url,
    pid: child.pid as number,
    info,
    cpu() {
      const id = nextId++
      return new Promise<CpuReading>((resolve, reject) => {
        if (child.exitCode !== null || !child.connected) {
          reject(new Error(`${name} is not running`))
          return
        }
        pending.set(id, { resolve, reject })
        child.send({ type: 'cpu', id } satisfies ToServer)
      })
    },
    async close() {
      if (child.exitCode === null && child.connected) child.send({ type: 'close' } satisfies ToServer)
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    },
  }
}

import { spawnSync } from 'node:child_process'
import { createAutocannonGenerator } from './autocannon.ts'
import { createWrkGenerator } from './wrk.ts'

/** One kind of request, repeated by every connection for the length of a round. */
export interface LoadRequest {
  readonly url: string
  readonly method: 'GET' | 'POST'
  readonly headers: Readonly<Record<string, string>>
  readonly body?: string
  /**
   * Paced rounds: after each answer a connection waits a random whole number of milliseconds,
   * uniform from 0 to twice this, before its next request, so the rate is set by the pause and not
   * by how fast the server answers. Unset: each connection sends its next request at once.
   */
  readonly thinkMs?: number
}

export interface LoadOptions {
  readonly connections: number
  readonly durationSeconds: number
}

/** What a round measured, as the load generator saw it. */
export interface LoadResult {
  readonly requests: number
  readonly durationSeconds: number
  readonly requestsPerSecond: number
  readonly p50Ms: number
  readonly p99Ms: number
  /** Responses outside 2xx/3xx: a round with any is not a valid measurement. */
  readonly non2xx: number
  /** Connect, read, write and timeout errors together. */
  readonly socketErrors: number
}

export interface LoadGenerator {
  readonly name: string
  run(request: LoadRequest, options: LoadOptions): Promise<LoadResult>
}

function hasWrk(): boolean {
  return spawnSync('wrk', ['--version'], { stdio: 'ignore' }).error === undefined
}

/**
 * wrk when present (a C generator costs far less CPU than one written in JavaScript, and the cores
 * are shared with the proxy under test). When it is missing and we are root on a Debian-like
 * system, `apt-get install -y wrk` is tried once; otherwise autocannon, a dev dependency, is used
 * and the report says so, because its own CPU use lowers every figure.
 */
export function selectLoadGenerator(log: (line: string) => void): LoadGenerator {
  if (hasWrk()) return createWrkGenerator()
  if (
    process.getuid?.() === 0 &&
    spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).error === undefined
  ) {
    log('wrk not found: installing it with apt-get install -y wrk')
    const install = spawnSync('apt-get', ['install', '-y', 'wrk'], { stdio: ['ignore', 'ignore', 'inherit'] })
    if (install.status === 0 && hasWrk()) return createWrkGenerator()
  }
  log(
    'wrk not available (install it with `sudo apt-get install -y wrk`, or build it from https://github.com/wg/wrk); ' +
      'falling back to autocannon, whose CPU use on the shared cores lowers every figure',
  )
  return createAutocannonGenerator()
}

import { execFile } from 'node:child_process'
import { createRequire } from 'node:module'
import type { LoadGenerator, LoadResult } from './load-generator.ts'

/** The fields of autocannon's `--json` summary that a round needs. */
export interface AutocannonSummary {
  readonly duration: number
  readonly non2xx: number
  readonly errors: number
  readonly timeouts: number
  readonly latency: { readonly p50: number; readonly p99: number }
  readonly requests: { readonly total: number }
}

export function fromAutocannonSummary(summary: AutocannonSummary): LoadResult {
  return {
    requests: summary.requests.total,
    durationSeconds: summary.duration,
    requestsPerSecond: summary.requests.total / summary.duration,
    p50Ms: summary.latency.p50,
    p99Ms: summary.latency.p99,
    non2xx: summary.non2xx,
    socketErrors: summary.errors + summary.timeouts,
  }
}

/** autocannon in its own process, so that at least it does not share the runner's event loop. */
export function createAutocannonGenerator(): LoadGenerator {
  const cli = createRequire(import.meta.url).resolve('autocannon/autocannon.js')
  return {
    name: 'autocannon',
    async run(request, options) {
      const args = [
        cli,
        '--json',
        '--connections',
        String(options.connections),
        '--duration',
        String(options.durationSeconds),
        '--method',
        request.method,
      ]
      for (const [name, value] of Object.entries(request.headers)) args.push('--headers', `${name}=${value}`)
      if (request.body !== undefined) args.push('--body', request.body)
      // autocannon has no pause after an answer; its nearest is a request rate per connection.
      if (request.thinkMs !== undefined)
        args.push('--connectionRate', String(Math.round(1000 / request.thinkMs)))
      args.push(request.url)
      const stdout = await new Promise<string>((resolve, reject) => {
        execFile(process.execPath, args, { maxBuffer: 16 << 20 }, (error, out, err) => {
          if (error) reject(new Error(`autocannon failed: ${err || error.message}`))
          else resolve(out)
        })
      })
      return fromAutocannonSummary(JSON.parse(stdout) as AutocannonSummary)
    },
  }
}

import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { LoadGenerator, LoadRequest, LoadResult } from './load-generator.ts'

const unitToMs: Readonly<Record<string, number>> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/** A wrk duration such as `812.00us`, `1.93ms` or `2.01s`, in milliseconds. */
export function parseWrkDuration(text: string): number {
  const match = /^([0-9]+(?:\.[0-9]+)?)(us|ms|s|m|h)$/.exec(text.trim())
  if (match === null) throw new Error(`not a wrk duration: ${JSON.stringify(text)}`)
  // wrk prints two decimals: rounding to a nanosecond removes binary noise such as 2009.9999999999998.
  return Math.round(Number(match[1]) * (unitToMs[match[2] as string] as number) * 1e6) / 1e6
}

/** Parses the text wrk prints with `--latency`. Throws when a line it relies on is missing. */
export function parseWrkOutput(text: string): LoadResult {
  const total = /^\s*(\d+) requests in ([0-9.]+(?:us|ms|s|m|h)),/m.exec(text)
  const rate = /^Requests\/sec:\s+([0-9.]+)/m.exec(text)
  const p50 = /^\s+50(?:\.0+)?%\s+(\S+)/m.exec(text)
  const p99 = /^\s+99(?:\.0+)?%\s+(\S+)/m.exec(text)
  if (total === null || rate === null || p50 === null || p99 === null) {
    throw new Error(`unexpected wrk output (was --latency given?):\n${text}`)
  }
  const non2xx = /^\s*Non-2xx or 3xx responses:\s+(\d+)/m.exec(text)
  const socket = /^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/m.exec(text)
  const socketErrors = socket === null ? 0 : socket.slice(1, 5).reduce((sum, count) => sum + Number(count), 0)
  return {
    requests: Number(total[1]),
    durationSeconds: parseWrkDuration(total[2] as string) / 1000,
    requestsPerSecond: Number(rate[1]),
    p50Ms: parseWrkDuration(p50[1] as string),
    p99Ms: parseWrkDuration(p99[1] as string),
    non2xx: non2xx === null ? 0 : Number(non2xx[1]),
    socketErrors,
  }
}

function luaString(value: string): string {
  return `"${value
    .replace(/[\\"]/g, (c) => `\\${c}`)
    .replace(/\r/g, '\\r')
    .replace(/\n/g, '\\n')}"`
}

/**
 * The Lua script that makes wrk send `request`: method, headers and body are set once, so wrk
 * builds the request bytes a single time and replays them (no per-request Lua). A paced request
 * adds wrk's `delay` hook, the one Lua call per request: the pause before a connection's next
 * request, random so that the connections do not fall into step and arrive in bursts.
 */
export function wrkLuaScript(request: Pick<LoadRequest, 'method' | 'headers' | 'body' | 'thinkMs'>): string {
  const lines = [`wrk.method = ${luaString(request.method)}`]
  for (const [name, value] of Object.entries(request.headers)) {
    lines.push(`wrk.headers[${luaString(name)}] = ${luaString(value)}`)
  }
  if (request.body !== undefined) lines.push(`wrk.body = ${luaString(request.body)}`)
  if (request.thinkMs !== undefined) {
    if (!Number.isSafeInteger(request.thinkMs) || request.thinkMs < 1) {
      throw new RangeError(`thinkMs must be a positive whole number of milliseconds, not ${request.thinkMs}`)
    }
    lines.push(`function delay() return math.random(0, ${2 * request.thinkMs}) end`)
  }
  return `${lines.join('\n')}\n`
}

export function createWrkGenerator(): LoadGenerator {
  return {
    name: 'wrk',
    async run(request, options) {
      // The script may hold a bench token: keep it in a private directory and remove it at once.
      const directory = mkdtempSync(join(tmpdir(), 'flowgate-bench-wrk-'))
      const script = join(directory, 'request.lua')
      writeFileSync(script, wrkLuaScript(request), { mode: 0o600 })
      try {
        const args = [
          '--threads',
          '1',
          '--connections',
          String(options.connections),
          '--duration',
          `${options.durationSeconds}s`,
          '--timeout',
          '10s',
          '--latency',
          '--script',
          script,
          request.url,
        ]
        const stdout = await new Promise<string>((resolve, reject) => {
          execFile('wrk', args, { maxBuffer: 1 << 20 }, (error, out, err) => {
            if (error) reject(new Error(`wrk failed: ${err || error.message}`))
            else resolve(out)
          })
        })
        return parseWrkOutput(stdout)
      } finally {
        rmSync(directory, { recursive: true, force: true })
      }
    },
  }
}

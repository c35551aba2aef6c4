import { median } from './stats.ts'

export interface MicroCasesOptions {
  readonly iterations: number
  readonly rounds: number
  /** The case whose median is subtracted from every case not listed in `absolute`. */
  readonly baseline: string
  /** Cases printed as measured, the baseline always among them. */
  readonly absolute?: (name: string) => boolean
}

/**
 * Runs every case `iterations` times per round, the cases interleaved round after round, and
 * prints each one's median nanoseconds per iteration — less the baseline's, for cases that share
 * its setup (a fresh request or response built in every iteration).
 */
export function runMicroCases(cases: Readonly<Record<string, () => void>>, options: MicroCasesOptions): void {
  const { iterations, rounds, baseline } = options
  const results = new Map<string, number[]>()
  for (let round = 0; round < rounds; round++) {
    for (const [name, run] of Object.entries(cases)) {
      const started = process.hrtime.bigint()
      for (let i = 0; i < iterations; i++) run()
      const ns = Number(process.hrtime.bigint() - started) / iterations
      results.set(name, [...(results.get(name) ?? []), ns])
    }
  }
  const base = median(results.get(baseline) ?? [0])
  for (const [name, values] of results) {
    const absolute = name === baseline || options.absolute?.(name) === true
    const ns = absolute ? median(values) : median(values) - base
    console.log(`${ns.toFixed(0).padStart(6)} ns  ${name}`)
  }
}

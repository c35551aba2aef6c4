/**
 * Operations per second of `operation`, run one after another for `durationMs` after a short
 * warm-up. Batches of 100 keep clock reads from dominating sub-microsecond operations; awaiting a
 * plain value costs one microtask, the same for every variant measured this way.
 */
export async function operationRate(durationMs: number, operation: () => unknown): Promise<number> {
  for (let i = 0; i < 200; i++) await operation()
  let count = 0
  const started = performance.now()
  const deadline = started + durationMs
  while (performance.now() < deadline) {
    for (let i = 0; i < 100; i++) await operation()
    count += 100
  }
  return count / ((performance.now() - started) / 1000)
}

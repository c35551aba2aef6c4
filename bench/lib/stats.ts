/**
 * Statistics for interleaved rounds. Machines shared with a load generator drift (turbo, page cache,
 * neighbours), so comparisons are made within a round (A, B and C measured back to back) and the
 * median of those per-round ratios is reported rather than a ratio of averages.
 */

/** Median of a non-empty list; the mean of the two middle values for an even count. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of an empty list')
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
}

/** Median of `numerator[i] / denominator[i]`, pairing values measured in the same round. */
export function medianRatio(numerator: readonly number[], denominator: readonly number[]): number {
  return median(pairwise(numerator, denominator, (a, b) => a / b))
}

/** Median of `minuend[i] - subtrahend[i]`, pairing values measured in the same round. */
export function medianDifference(minuend: readonly number[], subtrahend: readonly number[]): number {
  return median(pairwise(minuend, subtrahend, (a, b) => a - b))
}

function pairwise(
  left: readonly number[],
  right: readonly number[],
  combine: (a: number, b: number) => number,
): number[] {
  if (left.length !== right.length) {
    throw new RangeError(`rounds do not pair up: ${left.length} vs ${right.length}`)
  }
  return left.map((value, index) => combine(value, right[index] as number))
}

/** Rounds a figure for reports: three significant digits are all a shared machine supports. */
export function round3(value: number): number {
  if (!Number.isFinite(value) || value === 0) return value
  const digits = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(value))))
  return Number(value.toFixed(Math.min(digits, 6)))
}

/** A ratio for reports: three decimals, so that one just under a threshold never prints as the threshold. */
export const formatRatio = (value: number): string => `${value.toFixed(3)}×`

/** A signed difference in milliseconds for reports: `+0.64 ms`, `-1.39 ms`. */
export const formatDifferenceMs = (value: number): string => `${value >= 0 ? '+' : ''}${value.toFixed(2)} ms`

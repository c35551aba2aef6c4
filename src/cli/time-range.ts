import { usageError } from './cli-error.ts'
import type { CommandContext, OptionSpec } from './command.ts'

/** `--from` and `--to`, for commands that list `noun` ("Events", "Records") by time. */
export function timeRangeOptions(noun: string): { readonly from: OptionSpec; readonly to: OptionSpec } {
  return {
    from: { type: 'string', value: 'TIME', help: `${noun} at or after this ISO 8601 time` },
    to: { type: 'string', value: 'TIME', help: `${noun} before this ISO 8601 time` },
  }
}

/** An ISO 8601 time option as the admin API takes it (UTC, milliseconds). */
export function isoOption(context: CommandContext, name: string): string | undefined {
  const value = context.string(name)
  if (value === undefined) return undefined
  if (Number.isNaN(Date.parse(value))) throw usageError(`--${name} must be an ISO 8601 time`)
  return new Date(value).toISOString()
}

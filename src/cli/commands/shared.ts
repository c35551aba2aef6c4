import type { CommandContext } from '../command.ts'
import { formatFields, formatTable, writeJson } from '../output.ts'

export interface Listing<T> {
  readonly items: readonly T[]
}

/** A listing: JSON (the items) with --json, a table otherwise. */
export function printList<T>(
  context: CommandContext,
  items: readonly T[],
  headers: readonly string[],
  row: (item: T) => readonly string[],
): void {
  if (context.flag('json')) writeJson(context.io, items)
  else context.io.stdout.write(formatTable(headers, items.map(row)))
}

/** One object: JSON with --json, `key: value` lines otherwise. */
export function printObject(context: CommandContext, value: Readonly<Record<string, unknown>>): void {
  if (context.flag('json')) writeJson(context.io, value)
  else context.io.stdout.write(formatFields(value))
}

/** A confirmation on stdout, or the resulting object with --json. */
export function printDone(context: CommandContext, message: string, value?: unknown): void {
  if (context.flag('json') && value !== undefined) writeJson(context.io, value)
  else context.io.stdout.write(`${message}\n`)
}

export const segment = (value: string): string => encodeURIComponent(value)

export function arg(context: CommandContext, index: number): string {
  return context.args[index] as string
}

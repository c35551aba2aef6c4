import type { CliIo } from './cli-io.ts'

/** A readable table: a header row, then one row per item, columns padded to their widest cell. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  if (rows.length === 0) return 'No items.\n'
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  )
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] as number)))
      .join('   ')
      .trimEnd()
  return `${[line(headers.map((header) => header.toUpperCase())), ...rows.map(line)].join('\n')}\n`
}

/** `key: value` lines for one object, nested values as compact JSON. */
export function formatFields(value: Readonly<Record<string, unknown>>): string {
  const entries = Object.entries(value).filter(([, item]) => item !== undefined)
  const width = Math.max(...entries.map(([key]) => key.length))
  return `${entries.map(([key, item]) => `${`${key}:`.padEnd(width + 2)}${cell(item)}`).join('\n')}\n`
}

export function cell(value: unknown): string {
  if (value === null || value === undefined) return '-'
  if (typeof value === 'string') return value
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return value.join(',')
  return JSON.stringify(value)
}

export function writeJson(io: CliIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`)
}

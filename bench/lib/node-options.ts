/**
 * `--node-options NAME=OPTIONS` of the runner: the Node.js or V8 options to start a server's
 * processes with, space-separated, e.g. `flowgate=--trace-gc --max-semi-space-size=16`. A server's
 * further processes (`flowgate #2`) take the options of its first.
 */
export function parseNodeOptions(entries: readonly string[]): ReadonlyMap<string, readonly string[]> {
  const parsed = new Map<string, readonly string[]>()
  for (const entry of entries) {
    const equals = entry.indexOf('=')
    const options = entry
      .slice(equals + 1)
      .split(' ')
      .filter((option) => option !== '')
    if (equals < 1 || options.length === 0 || options.some((option) => !option.startsWith('-'))) {
      throw new RangeError(`--node-options takes NAME=OPTIONS, e.g. 'flowgate=--trace-gc', not '${entry}'`)
    }
    parsed.set(entry.slice(0, equals), options)
  }
  return parsed
}

/** The options a server process of that name starts with, if any were given. */
export function nodeOptionsOf(
  parsed: ReadonlyMap<string, readonly string[]>,
  processName: string,
): readonly string[] | undefined {
  return parsed.get(processName.replace(/ #\d+$/, ''))
}

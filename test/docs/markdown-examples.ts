import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/**
 * Shell examples in README.md and docs/ are fenced blocks whose info string says how a test treats
 * them (GitHub highlights by the first word, so readers see an ordinary `sh` block):
 *
 * - ```` ```sh doc-test=<id> ```` runs in a test against a real gateway; `<id>` names it there.
 * - ```` ```yaml doc-test-file=<name> ```` is written to `<name>` in the examples' directory first.
 * - ```` ```sh doc-test-skip ```` is not run (a long-running command, the benchmark, the test suite).
 *
 * A `sh` block with neither fails test/docs/doc-examples.test.ts, so no example escapes a test.
 */

export const repositoryRoot = fileURLToPath(new URL('../..', import.meta.url))

export interface FencedBlock {
  /** Repository-relative file and 1-based line of the opening fence, for messages. */
  readonly where: string
  readonly language: string
  readonly attributes: ReadonlyMap<string, string>
  readonly text: string
}

const fence = /^```(\S*)(.*)$/

export function fencedBlocks(file: string): FencedBlock[] {
  const lines = readFileSync(new URL(file, `file://${repositoryRoot}`), 'utf8').split('\n')
  const blocks: FencedBlock[] = []
  for (let index = 0; index < lines.length; index++) {
    const opening = fence.exec(lines[index] as string)
    if (opening === null) continue
    const start = index
    const body: string[] = []
    for (index++; index < lines.length && !(lines[index] as string).startsWith('```'); index++) {
      body.push(lines[index] as string)
    }
    const attributes = new Map<string, string>()
    for (const word of (opening[2] as string).trim().split(/\s+/).filter(Boolean)) {
      const [name, value = ''] = word.split('=', 2) as [string, string?]
      attributes.set(name, value)
    }
    blocks.push({
      where: `${file}:${start + 1}`,
      language: opening[1] as string,
      attributes,
      text: `${body.join('\n')}\n`,
    })
  }
  return blocks
}

/** The block marked `doc-test=<id>` in `file`; fails when there is none or more than one. */
export function exampleBlock(file: string, id: string): FencedBlock {
  const found = fencedBlocks(file).filter((block) => block.attributes.get('doc-test') === id)
  if (found.length !== 1) throw new Error(`${file}: ${found.length} blocks marked doc-test=${id}`)
  return found[0] as FencedBlock
}

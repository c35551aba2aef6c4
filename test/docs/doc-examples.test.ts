import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { fencedBlocks, repositoryRoot } from './markdown-examples.ts'

const documents = [
  'README.md',
  ...readdirSync(join(repositoryRoot, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
]
const shellLanguages = new Set(['sh', 'bash', 'shell', 'console', 'zsh'])

/** The test that runs each document's `doc-test=<id>` blocks (each names its ids literally). */
const runners: Readonly<Record<string, string>> = {
  'docs/operations.md': 'test/docs/operations-guide.test.ts',
  'docs/api.md': 'test/docs/operations-guide.test.ts',
}

test('every shell example in README.md and docs/ is run by a test or marked doc-test-skip', () => {
  const unmarked: string[] = []
  const unrun: string[] = []
  for (const document of documents) {
    for (const block of fencedBlocks(document)) {
      if (!shellLanguages.has(block.language)) continue
      const id = block.attributes.get('doc-test')
      if (id === undefined) {
        if (!block.attributes.has('doc-test-skip')) unmarked.push(block.where)
        continue
      }
      const runner = runners[document]
      if (runner === undefined || !readFileSync(join(repositoryRoot, runner), 'utf8').includes(`'${id}'`)) {
        unrun.push(`${block.where} (doc-test=${id})`)
      }
    }
  }
  assert.deepEqual(unmarked, [], 'mark these blocks `sh doc-test=<id>` and run them, or `sh doc-test-skip`')
  assert.deepEqual(unrun, [], 'no test runs these blocks')
})

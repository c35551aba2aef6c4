import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const probe = fileURLToPath(new URL('../helpers/tick-object-probe.ts', import.meta.url))

test('a tick object is kept, and tick objects made after full collections still have its hidden class', async () => {
  const { stdout, stderr } = await promisify(execFile)(process.execPath, [
    '--expose-gc',
    '--allow-natives-syntax',
    probe,
  ])
  assert.equal(stderr, '')
  assert.deepEqual(JSON.parse(stdout), {
    symbols: ['async_id_symbol', 'trigger_async_id_symbol', 'kAsyncContextFrame'],
    keys: ['callback', 'args'],
    sameClassAfterGc: true,
  })
})

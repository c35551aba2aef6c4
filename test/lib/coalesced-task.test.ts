import assert from 'node:assert/strict'
import { test } from 'node:test'
import { coalescedTask } from '../../src/lib/coalesced-task.ts'

test('callers during a run share it and cause exactly one more run; a failure reaches every caller', async () => {
  const runs: Array<() => void> = []
  let fail = false
  const task = coalescedTask(
    () =>
      new Promise<void>((resolve, reject) => {
        runs.push(() => (fail ? reject(new Error('store away')) : resolve()))
      }),
  )
  const first = task.run()
  const second = task.run()
  const third = task.run()
  assert.equal(second, first)
  assert.equal(third, first)
  assert.equal(runs.length, 1)
  runs[0]?.()
  await new Promise(setImmediate)
  assert.equal(runs.length, 2, 'one more run for the calls made during the first')
  runs[1]?.()
  await first
  assert.equal(task.running(), undefined)

  fail = true
  const failing = task.run()
  runs[2]?.()
  await assert.rejects(failing, /store away/)
  assert.equal(task.running(), undefined, 'a failed round does not block the next')
  assert.equal(runs.length, 3)
})

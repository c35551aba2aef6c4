/**
 * Run with `--expose-gc --allow-natives-syntax`: keeps the tick-object shape, runs full garbage
 * collections with no other tick object alive, and prints whether a tick object made afterwards
 * still has the kept one's hidden class (V8's %HaveSameMap), and whether the kept object is a tick
 * object at all.
 */
import { createHook } from 'node:async_hooks'
import { keepTickObjectShape, keptTickObject } from '../../src/lib/tick-object-shape.ts'

const haveSameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean
const gc = (globalThis as { gc?: () => void }).gc as () => void

function freshTickObject(): object {
  let captured: object | undefined
  const hook = createHook({
    init(_asyncId, type, _triggerAsyncId, resource) {
      if (type === 'TickObject' && captured === undefined) captured = resource
    },
  })
  hook.enable()
  process.nextTick(() => {})
  hook.disable()
  return captured as object
}

keepTickObjectShape()
keepTickObjectShape()
await new Promise((resolve) => setTimeout(resolve, 20))
gc()
gc()
const kept = keptTickObject() as object
console.log(
  JSON.stringify({
    symbols: Object.getOwnPropertySymbols(kept).map((symbol) => symbol.description),
    keys: Object.keys(kept),
    sameClassAfterGc: haveSameMap(kept, freshTickObject()),
  }),
)

/**
 * Run with `--expose-gc --allow-natives-syntax`: keeps the tick-object shape, runs full garbage
 * collections with no other tick object alive, and prints whether a tick object made afterwards
 * still has the kept one's hidden class (V8's %HaveSameMap), and whether the kept object is a tick
 * object at all.
 */
import { captureTickObject, keepTickObjectShape, keptTickObject } from '../../src/lib/tick-object-shape.ts'

const haveSameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean
const gc = (globalThis as { gc?: () => void }).gc as () => void

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
    sameClassAfterGc: haveSameMap(kept, captureTickObject() as object),
  }),
)

import { createHook } from 'node:async_hooks'

/** One of `process.nextTick`'s tick objects, held for the life of the process. */
let kept: object | undefined

/**
 * Keeps the hidden class of `process.nextTick`'s tick objects alive for the life of the process.
 *
 * Each tick object is an object literal with three computed symbol keys. V8 records one hidden
 * class per computed key at that literal, weakly, and has no polymorphic state for it
 * (`Runtime_DefineKeyedOwnPropertyInLiteral`): when a full garbage collection finds no tick object
 * alive, the classes die, the next tick object gets new ones, and from then on the literal goes
 * through V8's runtime on every call. A proxy calls `nextTick` several times a request, so a
 * process that falls into that state by chance stays slower for good (a CPU profile then shows
 * `nextTick` at several times its usual share). One tick object held here keeps its class, and
 * every class on its transition path, alive.
 *
 * It is captured with a one-shot async hook (the only way to reach a tick object), disabled again
 * before this function returns.
 */
export function keepTickObjectShape(): void {
  kept ??= captureTickObject()
}

/** A new tick object, caught by an async hook that is enabled only while `nextTick` runs. */
export function captureTickObject(): object | undefined {
  let captured: object | undefined
  const hook = createHook({
    init(_asyncId, type, _triggerAsyncId, resource) {
      if (type === 'TickObject' && captured === undefined) captured = resource
    },
  })
  hook.enable()
  try {
    process.nextTick(noop)
  } finally {
    hook.disable()
  }
  return captured
}

function noop(): void {}

/** The tick object held by keepTickObjectShape, for tests. */
export function keptTickObject(): object | undefined {
  return kept
}

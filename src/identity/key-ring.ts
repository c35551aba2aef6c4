import type { KeyObject } from 'node:crypto'
import type { FlowgateConfig } from '../config/schema.ts'
import { coalescedTask } from '../lib/coalesced-task.ts'
import { FlowgateError } from '../lib/errors.ts'
import type { Logger } from '../lib/logger.ts'
import { createSecretBox, type MasterKey } from '../secrets/master-key.ts'
import type { SigningAlgorithm, SigningKey, Store, StoreOperations } from '../store/types.ts'
import { type Actor, systemActor } from './actor.ts'
import { generateSigningKey, type PublicJwk, privateKeyOf, publicKeyOf } from './signing-key-material.ts'

export interface KeyRingOptions {
  readonly store: Store
  readonly masterKey: MasterKey
  readonly config: Pick<FlowgateConfig, 'tokens'>
  readonly logger: Logger
  readonly now?: () => number
  /** Least time between two store reloads caused by a token with an unknown `kid` (default 30 s). */
  readonly unknownKidCooldownMs?: number
  /** How often automatic rotation and pruning of expired retired keys run (default 1 h; 0: never). */
  readonly maintenanceIntervalMs?: number
}

export interface VerificationKey {
  readonly kid: string
  readonly alg: SigningAlgorithm
  readonly publicKey: KeyObject
}

export interface SigningMaterial {
  readonly kid: string
  readonly alg: SigningAlgorithm
  readonly privateKey: KeyObject
}

export interface RotationResult {
  readonly active: string
  readonly next: string
  readonly retired: readonly string[]
}

export interface KeyRing {
  /** Makes sure one active and one next key exist, rotates when due, loads the ring, starts maintenance. */
  start(): Promise<void>
  /** The active key, decrypted once per activation. */
  signer(): SigningMaterial
  /** A published key (next, active or retired and still published); undefined when unknown. */
  verificationKey(kid: string): VerificationKey | undefined
  /** `{"keys":[…]}` of every published key, serialised once per change. */
  jwksJson(): string
  publishedKeys(): readonly PublicJwk[]
  /** next → active, active → retired (published until its last token expired), new next. Audited. */
  rotate(actor: Actor): Promise<RotationResult>
  /** Re-reads the ring from the store (another node rotated: change kind `signing-key`). */
  reload(): Promise<void>
  /**
   * A token named a kid this node does not know: reload from the store at most once per cooldown
   * (callers share one reload). Resolves true when a reload happened. Never fetches anything else.
   */
  reloadForUnknownKid(): Promise<boolean>
  /** Automatic rotation when the active key is older than signingKeyLifetimeDays; drops expired retired keys. */
  maintain(): Promise<void>
  close(): void
}

interface RingState {
  readonly active: SigningKey
  readonly signer: SigningMaterial
  readonly verification: ReadonlyMap<string, VerificationKey>
  readonly published: readonly PublicJwk[]
  readonly jwksJson: string
}

const dayMs = 86_400_000

/** The newest active key signs; several actives only appear after a race between nodes, and then all verify. */
function newestActive(keys: readonly SigningKey[]): SigningKey | undefined {
  let newest: SigningKey | undefined
  for (const key of keys) {
    if (key.state !== 'active') continue
    if (
      newest === undefined ||
      (key.activatedAt ?? 0) > (newest.activatedAt ?? 0) ||
      ((key.activatedAt ?? 0) === (newest.activatedAt ?? 0) && key.kid > newest.kid)
    ) {
      newest = key
    }
  }
  return newest
}

function isPublished(key: SigningKey, now: number): boolean {
  return key.state !== 'retired' || (key.publishUntil !== null && key.publishUntil > now)
}

function auditView(key: SigningKey): Record<string, unknown> {
  return {
    kid: key.kid,
    alg: key.alg,
    state: key.state,
    createdAt: key.createdAt,
    activatedAt: key.activatedAt,
    retiredAt: key.retiredAt,
    publishUntil: key.publishUntil,
  }
}

/** Stores a key Flowgate generated itself, with its audit event (actor: system). */
async function insertGenerated(tx: StoreOperations, key: SigningKey, time: number): Promise<void> {
  await tx.insertSigningKey(key)
  await tx.appendAudit(
    { ...systemActor, action: 'signing-key.create', target: `signing-key:${key.kid}`, after: auditView(key) },
    time,
  )
}

export function createKeyRing(options: KeyRingOptions): KeyRing {
  const { store, logger, config } = options
  const now = options.now ?? Date.now
  const box = createSecretBox(options.masterKey)
  const algorithm = config.tokens.algorithm
  const cooldownMs = options.unknownKidCooldownMs ?? 30_000
  const maintenanceIntervalMs = options.maintenanceIntervalMs ?? 3_600_000
  // A retired key must verify every token it signed: the longest lifetime plus the clock leeway.
  const retiredPublishMs = (config.tokens.maxValiditySeconds + config.tokens.leewaySeconds) * 1000
  const lifetimeMs = config.tokens.signingKeyLifetimeDays * dayMs

  let state: RingState | undefined
  let lastReloadAt = Number.NEGATIVE_INFINITY
  let unknownKidReload: Promise<boolean> | undefined
  let timer: NodeJS.Timeout | undefined

  function build(keys: readonly SigningKey[], previous: RingState | undefined): RingState {
    const time = now()
    const active = newestActive(keys)
    if (active === undefined) {
      throw new FlowgateError('ERR_UNAVAILABLE', { detail: 'the key ring has no active signing key' })
    }
    const verification = new Map<string, VerificationKey>()
    const published: PublicJwk[] = []
    for (const key of keys) {
      if (!isPublished(key, time)) continue
      const known = previous?.verification.get(key.kid)
      verification.set(key.kid, known ?? { kid: key.kid, alg: key.alg, publicKey: publicKeyOf(key) })
      published.push(key.publicJwk as unknown as PublicJwk)
    }
    const signer =
      previous !== undefined && previous.active.kid === active.kid
        ? previous.signer
        : { kid: active.kid, alg: active.alg, privateKey: privateKeyOf(active, box) }
    return { active, signer, verification, published, jwksJson: JSON.stringify({ keys: published }) }
  }

  async function loadNow(): Promise<void> {
    const keys = await store.listSigningKeys()
    state = build(keys, state)
    lastReloadAt = now()
  }

  // Changes can arrive while a reload runs; one more reload after it sees all of them.
  const reload = coalescedTask(loadNow).run

  async function ensureKeys(): Promise<void> {
    const existing = await store.listSigningKeys()
    const hasActive = existing.some((key) => key.state === 'active')
    const hasNext = existing.some((key) => key.state === 'next')
    if (hasActive && hasNext) return
    // Generated outside the transaction: RSA generation takes long enough to matter under a lock.
    const candidates = await Promise.all(
      [hasActive, hasNext].filter((present) => !present).map(() => generateSigningKey(algorithm, box, now())),
    )
    await store.transaction(async (tx) => {
      const keys = await tx.listSigningKeys()
      const pending = [...candidates]
      if (!keys.some((key) => key.state === 'active')) {
        const generated = pending.shift() as SigningKey
        const active: SigningKey = { ...generated, state: 'active', activatedAt: now() }
        await insertGenerated(tx, active, now())
      }
      const next = pending.shift()
      if (next !== undefined && !keys.some((key) => key.state === 'next')) {
        await insertGenerated(tx, next, now())
      }
    })
  }

  async function rotateIn(
    tx: StoreOperations,
    actor: Actor,
    fresh: SigningKey,
    onlyIfOlderThan: number | undefined,
  ): Promise<RotationResult | undefined> {
    const time = now()
    const keys = await tx.listSigningKeys()
    const actives = keys.filter((key) => key.state === 'active')
    if (onlyIfOlderThan !== undefined) {
      const current = newestActive(keys)
      // Another node rotated first: nothing to do.
      if (current !== undefined && (current.activatedAt ?? current.createdAt) > onlyIfOlderThan)
        return undefined
    }
    const next = keys.find((key) => key.state === 'next')
    const promoted: SigningKey = { ...(next ?? fresh), state: 'active', activatedAt: time }
    const retired = actives.map(
      (key): SigningKey => ({
        ...key,
        state: 'retired',
        retiredAt: time,
        publishUntil: time + retiredPublishMs,
      }),
    )
    for (const key of retired) await tx.updateSigningKey(key)
    if (next === undefined) await tx.insertSigningKey(promoted)
    else await tx.updateSigningKey(promoted)
    let newNext: SigningKey | undefined
    if (next !== undefined) {
      newNext = fresh
      await tx.insertSigningKey(fresh)
    }
    const result: RotationResult = {
      active: promoted.kid,
      next: newNext?.kid ?? '',
      retired: retired.map((key) => key.kid),
    }
    await tx.appendAudit(
      {
        actor: actor.actor,
        sourceAddress: actor.sourceAddress,
        action: 'signing-key.rotate',
        target: `signing-key:${promoted.kid}`,
        before: { active: actives.map((key) => key.kid), next: next?.kid ?? null },
        after: { ...result, retiredPublishUntil: time + retiredPublishMs },
      },
      time,
    )
    return result
  }

  async function rotateWith(
    actor: Actor,
    onlyIfOlderThan: number | undefined,
  ): Promise<RotationResult | undefined> {
    const fresh = await generateSigningKey(algorithm, box, now())
    const result = await store.transaction((tx) => rotateIn(tx, actor, fresh, onlyIfOlderThan))
    if (result === undefined) return undefined
    // The ring had no next key (only after manual database surgery): make one now.
    if (result.next === '') await ensureKeys()
    await reload()
    logger.info({ kid: result.active, retired: result.retired }, 'signing key rotated')
    return result
  }

  async function pruneRetired(): Promise<void> {
    const time = now()
    const expired = (await store.listSigningKeys()).filter(
      (key) => key.state === 'retired' && (key.publishUntil === null || key.publishUntil <= time),
    )
    if (expired.length === 0) return
    await store.transaction(async (tx) => {
      for (const key of expired) {
        if (!(await tx.deleteSigningKey(key.kid))) continue
        await tx.appendAudit(
          {
            ...systemActor,
            action: 'signing-key.delete',
            target: `signing-key:${key.kid}`,
            before: auditView(key),
          },
          time,
        )
      }
    })
  }

  async function maintain(): Promise<void> {
    if (lifetimeMs > 0) {
      const active = state?.active ?? newestActive(await store.listSigningKeys())
      const threshold = now() - lifetimeMs
      if (active !== undefined && (active.activatedAt ?? active.createdAt) <= threshold) {
        await rotateWith(systemActor, threshold)
      }
    }
    await pruneRetired()
    await reload()
  }

  return {
    async start() {
      await ensureKeys()
      await loadNow()
      await maintain()
      if (maintenanceIntervalMs > 0 && timer === undefined) {
        timer = setInterval(() => {
          maintain().catch((error: unknown) => logger.error({ err: error }, 'signing key maintenance failed'))
        }, maintenanceIntervalMs)
        timer.unref()
      }
    },
    signer() {
      if (state === undefined) throw new FlowgateError('ERR_UNAVAILABLE', { detail: 'key ring not started' })
      return state.signer
    },
    verificationKey(kid) {
      return state?.verification.get(kid)
    },
    jwksJson() {
      if (state === undefined) throw new FlowgateError('ERR_UNAVAILABLE', { detail: 'key ring not started' })
      return state.jwksJson
    },
    publishedKeys() {
      return state?.published ?? []
    },
    async rotate(actor) {
      return (await rotateWith(actor, undefined)) as RotationResult
    },
    reload,
    reloadForUnknownKid() {
      if (unknownKidReload !== undefined) return unknownKidReload
      if (now() - lastReloadAt < cooldownMs) return Promise.resolve(false)
      unknownKidReload = reload().then(
        () => true,
        (error: unknown) => {
          // Count the failed attempt against the cooldown too, so a broken store is not hammered.
          lastReloadAt = now()
          logger.warn({ err: error }, 'key ring reload for an unknown kid failed')
          return false
        },
      )
      unknownKidReload.finally(() => {
        unknownKidReload = undefined
      })
      return unknownKidReload
    },
    maintain,
    close() {
      if (timer !== undefined) clearInterval(timer)
      timer = undefined
    },
  }
}

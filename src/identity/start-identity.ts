import type { FlowgateConfig } from '../config/schema.ts'
import type { Logger } from '../lib/logger.ts'
import type { MasterKey } from '../secrets/master-key.ts'
import type { ChangeFeed } from '../store/change-feed.ts'
import type { Store } from '../store/types.ts'
import { createIdentityIndex, type IdentityIndex } from './identity-index.ts'
import { createIdentityService, type IdentityService } from './identity-service.ts'
import { createKeyRing, type KeyRing, type KeyRingOptions } from './key-ring.ts'
import { createTokenAuthenticator, type FlowgateTokenAuthenticator } from './token-authenticator.ts'
import { createTokenIssuer, type TokenIssuer } from './token-issuer.ts'

const resyncDelayMs = 1000

/** The part of the change feed identity needs: changes made by any node, this one included. */
export type ChangeSubscriber = Pick<ChangeFeed, 'subscribe'>

export interface StartIdentityOptions {
  readonly config: FlowgateConfig
  readonly store: Store
  readonly masterKey: MasterKey
  readonly logger: Logger
  /** Other nodes' changes; without it this node only sees its own (single-node deployments, tests). */
  readonly feed?: ChangeSubscriber
  readonly now?: () => number
  readonly keyRing?: Pick<KeyRingOptions, 'unknownKidCooldownMs' | 'maintenanceIntervalMs'>
}

export interface Identity {
  readonly keyRing: KeyRing
  readonly index: IdentityIndex
  readonly issuer: TokenIssuer
  readonly authenticator: FlowgateTokenAuthenticator
  readonly service: IdentityService
  /** Stops following changes and the key ring's maintenance. */
  close(): void
}

/**
 * Builds and starts the identity components of one node: the key ring (one active and one next
 * key guaranteed), the in-memory index, and the subscription that keeps both current with changes
 * made by other nodes.
 */
export async function startIdentity(options: StartIdentityOptions): Promise<Identity> {
  const { config, store, masterKey, logger } = options
  const now = options.now ?? Date.now
  const keyRing = createKeyRing({ store, masterKey, config, logger, now, ...options.keyRing })
  const index = createIdentityIndex({ store, now, graceMs: config.tokens.leewaySeconds * 1000 })

  // A change that could not be applied (store unreachable) must not leave this node stale for
  // good: reload everything until a reload succeeds.
  let resync: NodeJS.Timeout | undefined
  let closed = false
  const scheduleResync = () => {
    if (resync !== undefined || closed) return
    resync = setTimeout(() => {
      resync = undefined
      Promise.all([index.load(), keyRing.reload()]).then(
        () => logger.info('identity state reloaded after a failed change'),
        (error: unknown) => {
          logger.error({ err: error }, 'reloading identity state failed; retrying')
          scheduleResync()
        },
      )
    }, resyncDelayMs)
    resync.unref()
  }

  // Subscribed before loading, so nothing committed during the load is missed (re-reads are idempotent).
  const unsubscribe = options.feed?.subscribe(async (changes) => {
    if (changes[0]?.kind === 'reload') {
      // Changes this node had not seen were pruned: everything is read again.
      await Promise.all([index.load(), keyRing.reload()]).catch((error: unknown) => {
        logger.error({ err: error }, 'reloading identity state failed')
        scheduleResync()
      })
      return
    }
    let signingKeys = false
    for (const change of changes) {
      if (change.kind === 'signing-key') {
        signingKeys = true
        continue
      }
      try {
        await index.apply(change)
      } catch (error) {
        logger.error(
          { err: error, kind: change.kind, seq: change.seq },
          'applying a change to identity failed',
        )
        scheduleResync()
        return
      }
    }
    // One reload covers any number of signing-key changes in the batch.
    if (signingKeys) {
      await keyRing.reload().catch((error: unknown) => {
        logger.error({ err: error }, 'reloading the key ring after a change failed')
        scheduleResync()
      })
    }
  })
  try {
    await keyRing.start()
    await index.load()
  } catch (error) {
    unsubscribe?.()
    keyRing.close()
    throw error
  }
  const issuer = createTokenIssuer({ keyRing, config, now })
  const authenticator = createTokenAuthenticator({ keyRing, index, config, now })
  const service = createIdentityService({ store, index, keyRing, masterKey, config, now })
  return {
    keyRing,
    index,
    issuer,
    authenticator,
    service,
    close() {
      closed = true
      if (resync !== undefined) clearTimeout(resync)
      unsubscribe?.()
      keyRing.close()
    },
  }
}

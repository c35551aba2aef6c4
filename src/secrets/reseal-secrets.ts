import { FlowgateError, isFlowgateError } from '../lib/errors.ts'
import type { Logger } from '../lib/logger.ts'
import type { Store, StoreOperations } from '../store/types.ts'
import {
  connectionSecretPlace,
  createSecretBox,
  type MasterKey,
  type SealedPlace,
  signingKeyPlace,
} from './master-key.ts'

export interface ResealOptions {
  readonly store: Pick<Store, 'listConnections' | 'listSigningKeys' | 'transaction'>
  readonly masterKey: MasterKey
  readonly logger: Logger
  readonly now?: () => number
}

/** Names of the connections and kids of the signing keys whose secrets were sealed again. */
export interface ResealResult {
  readonly connections: readonly string[]
  readonly signingKeys: readonly string[]
}

/**
 * Seals every secret still in the unbound `v1` format again as `v2`, bound to its row, so that a
 * value copied to another row no longer opens. Run at start-up after the migrations and before
 * anything opens a secret.
 *
 * Not a store migration: migrations run in the store, which never holds the master key (nor should
 * it), and Kysely records a migration as done once, whether or not a key was at hand; this step
 * needs no record, because the format marker says which values are left. It is idempotent: values
 * already `v2` are not touched, and a run with nothing to do only reads. The writes take the
 * store's write lock and read the values again under it, so nodes starting together, or an admin
 * changing a connection meanwhile, never lose a change. A value that does not open (another master
 * key, altered data) fails the start-up and nothing is written.
 */
export async function resealSecrets(options: ResealOptions): Promise<ResealResult> {
  const { store, logger } = options
  const now = options.now ?? Date.now
  const box = createSecretBox(options.masterKey)

  const pending = async (ops: Pick<StoreOperations, 'listConnections' | 'listSigningKeys'>) => ({
    connections: (await ops.listConnections()).filter(
      (connection) => connection.secretEncrypted !== null && !box.isCurrent(connection.secretEncrypted),
    ),
    signingKeys: (await ops.listSigningKeys()).filter((key) => !box.isCurrent(key.privateKeyEncrypted)),
  })

  // The row is named, so an operator knows which secret to set again.
  const reseal = (sealed: string, place: SealedPlace): string => {
    try {
      return box.reseal(sealed, place)
    } catch (error) {
      const failure = new FlowgateError('ERR_DECRYPT', {
        detail: `${place} cannot be re-sealed: ${isFlowgateError(error) ? error.detail : 'unknown failure'}`,
        cause: error,
      })
      // Start-up reports only the public message; the row belongs in the log.
      logger.error({ err: failure }, 'a secret of an earlier release cannot be opened; nothing was re-sealed')
      throw failure
    }
  }

  const seen = await pending(store)
  if (seen.connections.length === 0 && seen.signingKeys.length === 0) {
    return { connections: [], signingKeys: [] }
  }
  const result = await store.transaction(async (tx) => {
    const { connections, signingKeys } = await pending(tx)
    for (const connection of connections) {
      await tx.updateConnection({
        ...connection,
        secretEncrypted: reseal(connection.secretEncrypted as string, connectionSecretPlace(connection.name)),
      })
    }
    for (const key of signingKeys) {
      await tx.updateSigningKey({
        ...key,
        privateKeyEncrypted: reseal(key.privateKeyEncrypted, signingKeyPlace(key.kid)),
      })
    }
    const done: ResealResult = {
      connections: connections.map((connection) => connection.name),
      signingKeys: signingKeys.map((key) => key.kid),
    }
    if (connections.length + signingKeys.length > 0) {
      await tx.appendAudit(
        { actor: 'system', sourceAddress: null, action: 'secrets.reseal', target: 'secrets', after: done },
        now(),
      )
    }
    return done
  })
  if (result.connections.length + result.signingKeys.length > 0) {
    logger.info(result, 'secrets at rest sealed again, each bound to its row (format v2)')
  }
  return result
}

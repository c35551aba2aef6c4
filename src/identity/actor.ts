import type { UnitOfWork } from '../lib/unit-of-work.ts'
import type { StoreOperations } from '../store/types.ts'

/** Who performs an administrative operation, as written into its audit event. */
export interface Actor {
  /** Client id of an admin, `cli`, `system`, or the client acting on its own tokens. */
  readonly actor: string
  readonly sourceAddress: string | null
}

export const systemActor: Actor = { actor: 'system', sourceAddress: null }

/**
 * The store transaction an administrative operation joins: declarative apply runs many operations
 * of the identity and flow services in one; absent, each operation opens its own.
 */
export type StoreUnit = UnitOfWork<StoreOperations>

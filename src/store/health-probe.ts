import { randomBytes } from 'node:crypto'
import { type Kysely, sql } from 'kysely'
import type { Database } from './database.ts'
import type { Writer } from './entities/operation-context.ts'
import type { StoreHealth, StoreHealthState } from './store-health.ts'

/**
 * A write that needs space and leaves nothing behind: a row of 32 KiB of incompressible text is
 * inserted and deleted in one committed transaction, so the database must find pages for it (SQLite
 * overflow pages and WAL frames; PostgreSQL heap, TOAST and WAL). No transaction sees the row, and
 * no change row is recorded.
 */
async function probeWrite(write: Writer): Promise<void> {
  const jti = 'flowgate-health-probe'
  await write(async (tx) => {
    await tx
      .insertInto('revoked_tokens')
      .values({ jti, client_id: randomBytes(16 * 1024).toString('hex'), expires_at: 0, revoked_at: 0 })
      .execute()
    await tx.deleteFrom('revoked_tokens').where('jti', '=', jti).execute()
  })
}

/**
 * The store's health for readiness: healthy stores answer at once; a degraded one is probed (a
 * `select 1` when unreachable, a write when full), since nothing else may write for a long time
 * once the operator has freed space. The probes' outcomes reach `health` through the store's own
 * error translation, like any other operation's.
 */
export function healthProbe(options: {
  readonly db: Kysely<Database>
  readonly write: Writer
  readonly health: StoreHealth
  readonly translate: (error: unknown) => unknown
}): () => Promise<StoreHealthState> {
  const { db, write, health, translate } = options
  // One probe at a time, shared by every caller: GET /readyz is public.
  let probing: Promise<void> | undefined

  async function probe(): Promise<void> {
    try {
      if (health.state === 'unavailable') {
        await sql`select 1`.execute(db)
        health.reached()
      } else {
        await probeWrite(write)
      }
    } catch (error) {
      translate(error)
    }
  }

  return async () => {
    if (health.state === 'ok') return 'ok'
    probing ??= probe().finally(() => {
      probing = undefined
    })
    await probing
    return health.state
  }
}

import { type Kysely, sql } from 'kysely'
import { FlowgateError } from '../lib/errors.ts'
import type { Database } from './database.ts'
import { accessRecordOperations } from './entities/access-records.ts'
import { auditOperations } from './entities/audit.ts'
import { changeOperations, changeRecorder } from './entities/changes.ts'
import { flowOperations } from './entities/flows.ts'
import { instanceOperations } from './entities/instances.ts'
import type { OperationContext } from './entities/operation-context.ts'
import { roleOperations } from './entities/roles.ts'
import { signingKeyOperations } from './entities/signing-keys.ts'
import { healthProbe } from './health-probe.ts'
import { storeMigrator } from './migrations/migrator.ts'
import type { StoreDialect } from './store-dialect.ts'
import { createStoreHealth, type StoreHealth } from './store-health.ts'
import { transactionScope } from './transactions.ts'
import type { Store, StoreOperations } from './types.ts'

export interface KyselyStoreOptions {
  readonly db: Kysely<Database>
  readonly dialect: StoreDialect
  /** Clock of change-log rows (tests freeze it). */
  readonly now?: () => number
  /** Where failures and recoveries are reported (one that logs nothing by default). */
  readonly health?: StoreHealth
}

/** Every entity's operations, bound to the store's database or to one of its transactions. */
function entityOperations(context: OperationContext): StoreOperations {
  return {
    ...roleOperations(context),
    ...instanceOperations(context),
    ...signingKeyOperations(context),
    ...flowOperations(context),
    ...auditOperations(context),
  }
}

/**
 * The one implementation of the store over both dialects: the entities' operations
 * (src/store/entities/), composed, with the transaction machinery (transactions.ts), error
 * translation (error-translation.ts) and migrations (migrations/).
 */
export function createKyselyStore(options: KyselyStoreOptions): Store {
  const { db, dialect } = options
  const recordChange = changeRecorder(options.now ?? Date.now)
  const health = options.health ?? createStoreHealth({ location: dialect.location })
  const scope = transactionScope(db, dialect, health)
  const migrator = storeMigrator(db, dialect, scope.translate)
  const probeHealth = healthProbe({ db, write: scope.storeWriter, health, translate: scope.translate })

  const lifecycle = scope.wrap(
    {
      migrate: () => migrator.migrate(),
      isMigrated: () => migrator.isMigrated(),
      async ping() {
        try {
          await sql`select 1`.execute(db)
        } catch (cause) {
          throw new FlowgateError('ERR_STORE_UNAVAILABLE', {
            detail: `${dialect.location}: ${(cause as Error).message}`,
            cause,
          })
        }
      },
      transaction: <T>(fn: (tx: StoreOperations) => Promise<T>): Promise<T> =>
        scope.run((tx, write) =>
          fn(scope.wrap(entityOperations({ reader: tx, write, dialect, recordChange }), false)),
        ),
    },
    true,
  )

  return {
    ...scope.wrap(entityOperations({ reader: db, write: scope.storeWriter, dialect, recordChange }), true),
    ...scope.wrap(changeOperations(db), true),
    ...scope.wrap(accessRecordOperations(db), true),
    ...lifecycle,
    health: probeHealth,
    dialect: dialect.name,
    close: async () => {
      await db.destroy()
      await dialect.close(db)
    },
  }
}

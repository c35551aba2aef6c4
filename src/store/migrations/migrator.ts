import type { Kysely } from 'kysely'
import { Migrator } from 'kysely/migration'
import { FlowgateError } from '../../lib/errors.ts'
import type { Database } from '../database.ts'
import type { StoreDialect } from '../store-dialect.ts'
import { migrationLockTable, migrationProvider, migrationTable } from './migrations.ts'

/** Applies and checks the migrations of migrations.ts (docs/store.md, *Migrations and locking*). */
export function storeMigrator(
  db: Kysely<Database>,
  dialect: StoreDialect,
  translate: (error: unknown) => unknown,
) {
  const migrator = new Migrator({
    db,
    provider: migrationProvider(dialect.name),
    migrationTableName: migrationTable,
    migrationLockTableName: migrationLockTable,
  })
  return {
    async migrate(): Promise<void> {
      const { error, results } = await migrator.migrateToLatest()
      if (error === undefined) return
      if (dialect.classifyError(error) === 'unavailable') throw translate(error)
      const failed = results?.find((result) => result.status === 'Error')?.migrationName
      throw new FlowgateError('ERR_STORE_MIGRATION', {
        detail:
          failed === undefined
            ? `migration failed: ${(error as Error).message}`
            : `migration ${failed} failed: ${(error as Error).message}`,
        cause: error,
      })
    },
    async isMigrated(): Promise<boolean> {
      const migrations = await migrator.getMigrations()
      return migrations.every((migration) => migration.executedAt !== undefined)
    },
  }
}

import type { Migration, MigrationProvider } from 'kysely/migration'
import { initialSchema } from './0001-initial.ts'
import { accessRecordBlocks } from './0002-access-record-blocks.ts'
import { accessRecordBlocksFirstTime } from './0003-access-record-blocks-first-time.ts'
import { accessRecordRows } from './0004-access-record-rows.ts'
import { flowRequestHeaders } from './0005-flow-request-headers.ts'

/**
 * Every schema version, in order. Names sort lexically (Kysely applies them in name order) and are
 * never renamed once released: the migration table records them. A migration imports nothing of
 * the live code (only kysely and its own frozen/ helpers), so that a later change cannot change it.
 */
export function migrationProvider(dialect: 'sqlite' | 'postgres'): MigrationProvider {
  const migrations: Record<string, Migration> = {
    '0001-initial': initialSchema(dialect),
    '0002-access-record-blocks': accessRecordBlocks(dialect),
    '0003-access-record-blocks-first-time': accessRecordBlocksFirstTime,
    '0004-access-record-rows': accessRecordRows(dialect),
    '0005-flow-request-headers': flowRequestHeaders,
  }
  return { getMigrations: async () => migrations }
}

export const migrationTable = 'flowgate_migrations'
export const migrationLockTable = 'flowgate_migration_lock'

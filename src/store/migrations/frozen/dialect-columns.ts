import { type ColumnDefinitionBuilder, sql } from 'kysely'

/**
 * FROZEN: column definitions that differ between the two databases, as the released migrations
 * use them. Changing one would change what an old migration creates, so this file never changes
 * and imports nothing of the live code; a new migration that needs another definition writes its own.
 */
export function dialectColumns(dialect: 'sqlite' | 'postgres') {
  return {
    /**
     * Names, addresses and other sortable keys compare byte-wise on both databases, so listings
     * come back in the same order everywhere (PostgreSQL's default collation would sort `Zed`
     * after `apple`).
     */
    text: (column: ColumnDefinitionBuilder): ColumnDefinitionBuilder =>
      dialect === 'postgres' ? column.modifyEnd(sql`collate "C"`) : column,
    /** A generated integer primary key: an identity column, or SQLite's AUTOINCREMENT rowid. */
    serial: (column: ColumnDefinitionBuilder): ColumnDefinitionBuilder =>
      dialect === 'postgres'
        ? column.primaryKey().generatedAlwaysAsIdentity()
        : column.primaryKey().autoIncrement(),
    serialType: dialect === 'postgres' ? ('bigint' as const) : ('integer' as const),
  }
}

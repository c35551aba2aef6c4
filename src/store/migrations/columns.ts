import { type ColumnDefinitionBuilder, sql } from 'kysely'

/** Column definitions that differ between the two databases, for every migration to use alike. */
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

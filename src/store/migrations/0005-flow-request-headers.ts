import type { Kysely } from 'kysely'
import type { Migration } from 'kysely/migration'

/**
 * Each flow's request-header policy, as JSON (`{"mode":"deny-list"}` or
 * `{"mode":"allow-list","allow":[…]}`). Existing flows keep the deny-list they were served with.
 */
export const flowRequestHeaders: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .alterTable('flows')
      .addColumn('request_headers', 'text', (c) => c.notNull().defaultTo('{"mode":"deny-list"}'))
      .execute()
  },
}

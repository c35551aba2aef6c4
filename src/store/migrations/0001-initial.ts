import type { Kysely } from 'kysely'
import type { Migration } from 'kysely/migration'
import { dialectColumns } from './frozen/dialect-columns.ts'

/** The roles every installation starts with; they cannot be deleted. */
export const builtInRoles = [
  { name: 'ESBMessaging.send', description: 'Call integration flows through the runtime URL' },
  { name: 'Flowgate.Admin', description: 'Read and change everything through the admin API' },
  { name: 'Flowgate.Viewer', description: 'Read everything through the admin API, change nothing' },
] as const

export function initialSchema(dialect: 'sqlite' | 'postgres'): Migration {
  const { text, serial, serialType } = dialectColumns(dialect)

  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('roles')
        .addColumn('name', 'text', (c) => text(c).primaryKey())
        .addColumn('description', 'text')
        .addColumn('built_in', 'boolean', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute()

      await db.schema
        .createTable('instances')
        .addColumn('id', 'text', (c) => text(c).primaryKey())
        .addColumn('name', 'text', (c) => text(c).notNull().unique())
        .addColumn('plan', 'text', (c) => c.notNull())
        .addColumn('parameters', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute()

      await db.schema
        .createTable('service_keys')
        .addColumn('id', 'text', (c) => text(c).primaryKey())
        .addColumn('instance_id', 'text', (c) =>
          text(c).notNull().references('instances.id').onDelete('cascade'),
        )
        .addColumn('name', 'text', (c) => text(c).notNull())
        .addColumn('client_id', 'text', (c) => text(c).notNull().unique())
        .addColumn('key_type', 'text', (c) => c.notNull())
        .addColumn('secret_hash', 'text')
        .addColumn('secret_prefix', 'text')
        .addColumn('previous_secret_hash', 'text')
        .addColumn('previous_secret_prefix', 'text')
        .addColumn('previous_secret_valid_until', 'bigint')
        .addColumn('certificate_pem', 'text')
        .addColumn('certificate_fingerprint', 'text')
        .addColumn('expires_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('service_keys_instance_name_key', ['instance_id', 'name'])
        .execute()

      // A counter row rather than a PostgreSQL sequence: one code path for both databases, and
      // writers are serialised anyway (see StoreDialect.lockWrites).
      await db.schema
        .createTable('key_numbers')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('value', 'bigint', (c) => c.notNull())
        .execute()
      await db
        .insertInto('key_numbers' as never)
        .values({ name: 'service-key', value: 0 } as never)
        .execute()

      await db.schema
        .createTable('signing_keys')
        .addColumn('kid', 'text', (c) => text(c).primaryKey())
        .addColumn('alg', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('public_jwk', 'text', (c) => c.notNull())
        .addColumn('private_key_encrypted', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('activated_at', 'bigint')
        .addColumn('retired_at', 'bigint')
        .addColumn('publish_until', 'bigint')
        .execute()

      await db.schema
        .createTable('revoked_tokens')
        .addColumn('jti', 'text', (c) => text(c).primaryKey())
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint', (c) => c.notNull())
        .execute()
      await db.schema
        .createIndex('revoked_tokens_expires_at')
        .on('revoked_tokens')
        .column('expires_at')
        .execute()

      await db.schema
        .createTable('connections')
        .addColumn('name', 'text', (c) => text(c).primaryKey())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('settings', 'text', (c) => c.notNull())
        .addColumn('secret_encrypted', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute()

      // The store checks role and connection references itself to report precise errors; the
      // foreign keys are the backstop against anything that bypasses it.
      await db.schema
        .createTable('flows')
        .addColumn('id', 'text', (c) => text(c).primaryKey())
        .addColumn('address', 'text', (c) => text(c).notNull().unique())
        .addColumn('upstream', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => text(c).notNull().references('roles.name').onDelete('restrict'))
        .addColumn('methods', 'text', (c) => c.notNull())
        .addColumn('csrf', 'boolean', (c) => c.notNull())
        .addColumn('max_body_bytes', 'bigint', (c) => c.notNull())
        .addColumn('timeout_ms', 'bigint', (c) => c.notNull())
        .addColumn('connection', 'text', (c) => text(c).references('connections.name').onDelete('restrict'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute()
      await db.schema.createIndex('flows_connection').on('flows').column('connection').execute()
      await db.schema.createIndex('flows_role').on('flows').column('role').execute()

      await db.schema
        .createTable('audit_events')
        .addColumn('seq', 'bigint', (c) => c.primaryKey())
        .addColumn('time', 'bigint', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('source_address', 'text')
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('before_value', 'text')
        .addColumn('after_value', 'text')
        .addColumn('prev_hash', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute()
      await db.schema.createIndex('audit_events_time').on('audit_events').column('time').execute()

      await db.schema
        .createTable('changes')
        .addColumn('seq', serialType, serial)
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('entity_id', 'text', (c) => c.notNull())
        .addColumn('time', 'bigint', (c) => c.notNull())
        .execute()
      await db.schema.createIndex('changes_time').on('changes').column('time').execute()

      await db.schema
        .createTable('access_records')
        .addColumn('id', serialType, serial)
        .addColumn('time', 'bigint', (c) => c.notNull())
        .addColumn('correlation_id', 'text', (c) => c.notNull())
        .addColumn('client_id', 'text')
        .addColumn('instance_id', 'text')
        .addColumn('flow', 'text')
        .addColumn('method', 'text', (c) => c.notNull())
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('status', 'integer', (c) => c.notNull())
        .addColumn('upstream_status', 'integer')
        .addColumn('bytes_in', 'bigint', (c) => c.notNull())
        .addColumn('bytes_out', 'bigint', (c) => c.notNull())
        .addColumn('duration_ms', 'bigint', (c) => c.notNull())
        .addColumn('upstream_duration_ms', 'bigint')
        .addColumn('reason', 'text')
        .addColumn('source_address', 'text')
        .execute()
      await db.schema
        .createIndex('access_records_time')
        .on('access_records')
        .columns(['time', 'id'])
        .execute()
      await db.schema
        .createIndex('access_records_client')
        .on('access_records')
        .columns(['client_id', 'time', 'id'])
        .execute()
      await db.schema
        .createIndex('access_records_flow')
        .on('access_records')
        .columns(['flow', 'time', 'id'])
        .execute()

      const createdAt = Date.now()
      await db
        .insertInto('roles' as never)
        .values(
          builtInRoles.map((role) => ({
            name: role.name,
            description: role.description,
            built_in: dialect === 'postgres' ? true : 1,
            created_at: createdAt,
          })) as never,
        )
        .execute()
    },
  }
}

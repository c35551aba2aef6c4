import { AsyncLocalStorage } from 'node:async_hooks'
import { type Kysely, sql, type Transaction } from 'kysely'
import { Migrator } from 'kysely/migration'
import { auditHash, genesisHash } from '../audit/chain.ts'
import { FlowgateError, isFlowgateError } from '../lib/errors.ts'
import { accessRecordOperations } from './access-record-store.ts'
import type { Database } from './database.ts'
import { migrationLockTable, migrationProvider, migrationTable } from './migrations/migrations.ts'
import { decodeCursor, encodeCursor, pageLimit } from './paging.ts'
import {
  auditEventFromRow,
  connectionFromRow,
  connectionToRow,
  flowFromRow,
  flowToRow,
  instanceFromRow,
  instanceToRow,
  revokedTokenFromRow,
  roleFromRow,
  serviceKeyFromRow,
  serviceKeyToRow,
  signingKeyFromRow,
  signingKeyToRow,
} from './rows.ts'
import type { StoreDialect } from './store-dialect.ts'
import type {
  AuditEvent,
  Change,
  ChangeKind,
  Flow,
  Store,
  StoreOperations,
  UpstreamConnection,
} from './types.ts'

/** Runs `fn` in a transaction that holds the dialect's write lock. */
type Writer = <T>(fn: (tx: Transaction<Database>) => Promise<T>) => Promise<T>

const changesPageLimit = 1000

function conflict(code: 'ERR_ALREADY_EXISTS' | 'ERR_CONFLICT' | 'ERR_ROLE_IN_USE', description: string) {
  return new FlowgateError(code, { description })
}

function notFound(what: string): FlowgateError {
  return new FlowgateError('ERR_NOT_FOUND', { description: `${what} not found` })
}

/** JSON round trip, so the value hashed is exactly the value stored and read back; undefined when absent. */
function jsonText(value: unknown): string | undefined {
  return value === undefined ? undefined : JSON.stringify(value)
}

function count(result: { numDeletedRows?: bigint; numUpdatedRows?: bigint }): number {
  return Number(result.numDeletedRows ?? result.numUpdatedRows ?? 0n)
}

interface Bindings {
  readonly dialect: StoreDialect
  readonly now: () => number
  readonly iterateAuditEvents: (reader: Kysely<Database>, batchSize?: number) => AsyncIterable<AuditEvent>
}

function bindOperations(reader: Kysely<Database>, write: Writer, bindings: Bindings): StoreOperations {
  const { dialect, now, iterateAuditEvents } = bindings

  async function recordChange(tx: Transaction<Database>, kind: ChangeKind, entityId: string): Promise<void> {
    await tx.insertInto('changes').values({ kind, entity_id: entityId, time: now() }).execute()
  }

  async function checkFlowReferences(tx: Transaction<Database>, flow: Flow): Promise<void> {
    const holder = await tx
      .selectFrom('flows')
      .select('id')
      .where('address', '=', flow.address)
      .executeTakeFirst()
    if (holder !== undefined && holder.id !== flow.id) {
      throw conflict('ERR_ALREADY_EXISTS', `a flow already has the address ${flow.address}`)
    }
    const role = await tx.selectFrom('roles').select('name').where('name', '=', flow.role).executeTakeFirst()
    if (role === undefined) {
      throw new FlowgateError('ERR_UNKNOWN_ROLE', { description: `unknown role ${flow.role}` })
    }
    if (flow.connection !== null) {
      const connection = await tx
        .selectFrom('connections')
        .select('name')
        .where('name', '=', flow.connection)
        .executeTakeFirst()
      if (connection === undefined) {
        throw new FlowgateError('ERR_UNKNOWN_CONNECTION', {
          description: `unknown upstream connection ${flow.connection}`,
        })
      }
    }
  }

  async function checkServiceKeyUniqueness(
    tx: Transaction<Database>,
    key: { id: string; instanceId: string; name: string; clientId: string },
    instanceName: string,
  ): Promise<void> {
    const byClientId = await tx
      .selectFrom('service_keys')
      .select('id')
      .where('client_id', '=', key.clientId)
      .executeTakeFirst()
    if (byClientId !== undefined && byClientId.id !== key.id) {
      throw conflict('ERR_ALREADY_EXISTS', `a service key with client id ${key.clientId} already exists`)
    }
    const byName = await tx
      .selectFrom('service_keys')
      .select('id')
      .where('instance_id', '=', key.instanceId)
      .where('name', '=', key.name)
      .executeTakeFirst()
    if (byName !== undefined && byName.id !== key.id) {
      throw conflict(
        'ERR_ALREADY_EXISTS',
        `service key ${key.name} already exists in instance ${instanceName}`,
      )
    }
  }

  async function instanceName(tx: Transaction<Database>, id: string): Promise<string> {
    const row = await tx.selectFrom('instances').select('name').where('id', '=', id).executeTakeFirst()
    if (row === undefined) throw notFound('instance')
    return row.name
  }

  return {
    async listRoles() {
      const rows = await reader.selectFrom('roles').selectAll().orderBy('name').execute()
      return rows.map(roleFromRow)
    },
    async getRole(name) {
      const row = await reader.selectFrom('roles').selectAll().where('name', '=', name).executeTakeFirst()
      return row === undefined ? undefined : roleFromRow(row)
    },
    createRole: (role) =>
      write(async (tx) => {
        const existing = await tx
          .selectFrom('roles')
          .select('name')
          .where('name', '=', role.name)
          .executeTakeFirst()
        if (existing !== undefined) throw conflict('ERR_ALREADY_EXISTS', `role ${role.name} already exists`)
        await tx
          .insertInto('roles')
          .values({
            name: role.name,
            description: role.description,
            built_in: dialect.boolean(role.builtIn),
            created_at: role.createdAt,
          })
          .execute()
        await recordChange(tx, 'role', role.name)
      }),
    deleteRole: (name) =>
      write(async (tx) => {
        const role = await tx.selectFrom('roles').selectAll().where('name', '=', name).executeTakeFirst()
        if (role === undefined) return false
        if (role.built_in) {
          throw new FlowgateError('ERR_ROLE_BUILT_IN', {
            description: `built-in role ${name} cannot be deleted`,
          })
        }
        const flow = await tx
          .selectFrom('flows')
          .select('address')
          .where('role', '=', name)
          .executeTakeFirst()
        if (flow !== undefined)
          throw conflict('ERR_ROLE_IN_USE', `role ${name} is required by flow ${flow.address}`)
        // The LIKE narrows the scan (role names may hold `_`, which LIKE treats as a wildcard, so it
        // only over-selects); the parsed parameters decide.
        const candidates = await tx
          .selectFrom('instances')
          .selectAll()
          .where('parameters', 'like', `%"${name}"%`)
          .orderBy('name')
          .execute()
        const holder = candidates
          .map(instanceFromRow)
          .find((instance) => instance.parameters.roles.includes(name))
        if (holder !== undefined) {
          throw conflict('ERR_ROLE_IN_USE', `role ${name} is assigned to instance ${holder.name}`)
        }
        await tx.deleteFrom('roles').where('name', '=', name).execute()
        await recordChange(tx, 'role', name)
        return true
      }),

    async listInstances() {
      const rows = await reader.selectFrom('instances').selectAll().orderBy('name').execute()
      return rows.map(instanceFromRow)
    },
    async getInstance(id) {
      const row = await reader.selectFrom('instances').selectAll().where('id', '=', id).executeTakeFirst()
      return row === undefined ? undefined : instanceFromRow(row)
    },
    async getInstanceByName(name) {
      const row = await reader.selectFrom('instances').selectAll().where('name', '=', name).executeTakeFirst()
      return row === undefined ? undefined : instanceFromRow(row)
    },
    createInstance: (instance) =>
      write(async (tx) => {
        const existing = await tx
          .selectFrom('instances')
          .select('id')
          .where((eb) => eb.or([eb('name', '=', instance.name), eb('id', '=', instance.id)]))
          .executeTakeFirst()
        if (existing !== undefined) {
          throw conflict(
            'ERR_ALREADY_EXISTS',
            existing.id === instance.id
              ? `an instance with id ${instance.id} already exists`
              : `instance ${instance.name} already exists`,
          )
        }
        await tx.insertInto('instances').values(instanceToRow(instance)).execute()
        await recordChange(tx, 'instance', instance.id)
      }),
    updateInstance: (instance) =>
      write(async (tx) => {
        const holder = await tx
          .selectFrom('instances')
          .select('id')
          .where('name', '=', instance.name)
          .executeTakeFirst()
        if (holder !== undefined && holder.id !== instance.id) {
          throw conflict('ERR_ALREADY_EXISTS', `instance ${instance.name} already exists`)
        }
        const { id: _id, created_at: _createdAt, ...row } = instanceToRow(instance)
        const result = await tx
          .updateTable('instances')
          .set(row)
          .where('id', '=', instance.id)
          .executeTakeFirst()
        if (count(result) === 0) throw notFound('instance')
        await recordChange(tx, 'instance', instance.id)
      }),
    deleteInstance: (id) =>
      write(async (tx) => {
        const keys = await tx.selectFrom('service_keys').select('id').where('instance_id', '=', id).execute()
        const result = await tx.deleteFrom('instances').where('id', '=', id).executeTakeFirst()
        if (count(result) === 0) return false
        // The keys went with the instance (ON DELETE CASCADE); every node must drop them too.
        for (const key of keys) await recordChange(tx, 'service-key', key.id)
        await recordChange(tx, 'instance', id)
        return true
      }),

    async listServiceKeys(instanceId) {
      let query = reader.selectFrom('service_keys').selectAll()
      if (instanceId !== undefined) query = query.where('instance_id', '=', instanceId)
      const rows = await query.orderBy('instance_id').orderBy('name').execute()
      return rows.map(serviceKeyFromRow)
    },
    async getServiceKey(id) {
      const row = await reader.selectFrom('service_keys').selectAll().where('id', '=', id).executeTakeFirst()
      return row === undefined ? undefined : serviceKeyFromRow(row)
    },
    async getServiceKeyByName(instanceId, name) {
      const row = await reader
        .selectFrom('service_keys')
        .selectAll()
        .where('instance_id', '=', instanceId)
        .where('name', '=', name)
        .executeTakeFirst()
      return row === undefined ? undefined : serviceKeyFromRow(row)
    },
    async getServiceKeyByClientId(clientId) {
      const row = await reader
        .selectFrom('service_keys')
        .selectAll()
        .where('client_id', '=', clientId)
        .executeTakeFirst()
      return row === undefined ? undefined : serviceKeyFromRow(row)
    },
    createServiceKey: (key) =>
      write(async (tx) => {
        const name = await instanceName(tx, key.instanceId)
        const existing = await tx
          .selectFrom('service_keys')
          .select('id')
          .where('id', '=', key.id)
          .executeTakeFirst()
        if (existing !== undefined)
          throw conflict('ERR_ALREADY_EXISTS', `a service key with id ${key.id} already exists`)
        await checkServiceKeyUniqueness(tx, key, name)
        await tx.insertInto('service_keys').values(serviceKeyToRow(key)).execute()
        await recordChange(tx, 'service-key', key.id)
      }),
    updateServiceKey: (key) =>
      write(async (tx) => {
        const name = await instanceName(tx, key.instanceId)
        await checkServiceKeyUniqueness(tx, key, name)
        const { id: _id, created_at: _createdAt, ...row } = serviceKeyToRow(key)
        const result = await tx
          .updateTable('service_keys')
          .set(row)
          .where('id', '=', key.id)
          .executeTakeFirst()
        if (count(result) === 0) throw notFound('service key')
        await recordChange(tx, 'service-key', key.id)
      }),
    deleteServiceKey: (id) =>
      write(async (tx) => {
        const result = await tx.deleteFrom('service_keys').where('id', '=', id).executeTakeFirst()
        if (count(result) === 0) return false
        await recordChange(tx, 'service-key', id)
        return true
      }),
    nextKeyNumber: () =>
      write(async (tx) => {
        const row = await tx
          .updateTable('key_numbers')
          .set((eb) => ({ value: eb('value', '+', 1) }))
          .where('name', '=', 'service-key')
          .returning('value')
          .executeTakeFirstOrThrow()
        return Number(row.value)
      }),

    async listSigningKeys() {
      const rows = await reader
        .selectFrom('signing_keys')
        .selectAll()
        .orderBy('created_at')
        .orderBy('kid')
        .execute()
      return rows.map(signingKeyFromRow)
    },
    insertSigningKey: (key) =>
      write(async (tx) => {
        const existing = await tx
          .selectFrom('signing_keys')
          .select('kid')
          .where('kid', '=', key.kid)
          .executeTakeFirst()
        if (existing !== undefined)
          throw conflict('ERR_ALREADY_EXISTS', `signing key ${key.kid} already exists`)
        await tx.insertInto('signing_keys').values(signingKeyToRow(key)).execute()
        await recordChange(tx, 'signing-key', key.kid)
      }),
    updateSigningKey: (key) =>
      write(async (tx) => {
        const { kid: _kid, created_at: _createdAt, ...row } = signingKeyToRow(key)
        const result = await tx
          .updateTable('signing_keys')
          .set(row)
          .where('kid', '=', key.kid)
          .executeTakeFirst()
        if (count(result) === 0) throw notFound('signing key')
        await recordChange(tx, 'signing-key', key.kid)
      }),
    deleteSigningKey: (kid) =>
      write(async (tx) => {
        const result = await tx.deleteFrom('signing_keys').where('kid', '=', kid).executeTakeFirst()
        if (count(result) === 0) return false
        await recordChange(tx, 'signing-key', kid)
        return true
      }),

    revokeToken: (token) =>
      write(async (tx) => {
        const result = await tx
          .insertInto('revoked_tokens')
          .values({
            jti: token.jti,
            client_id: token.clientId,
            expires_at: token.expiresAt,
            revoked_at: token.revokedAt,
          })
          .onConflict((oc) => oc.column('jti').doNothing())
          .executeTakeFirst()
        if (Number(result.numInsertedOrUpdatedRows ?? 0n) > 0)
          await recordChange(tx, 'revoked-token', token.jti)
      }),
    async listRevokedTokens(now) {
      const rows = await reader
        .selectFrom('revoked_tokens')
        .selectAll()
        .where('expires_at', '>', now)
        .orderBy('jti')
        .execute()
      return rows.map(revokedTokenFromRow)
    },
    async getRevokedToken(jti) {
      const row = await reader
        .selectFrom('revoked_tokens')
        .selectAll()
        .where('jti', '=', jti)
        .executeTakeFirst()
      return row === undefined ? undefined : revokedTokenFromRow(row)
    },
    // No change rows: an entry is only pruned after its token expired, which every node checks by
    // itself, so no node's decision changes.
    pruneRevokedTokens: (before) =>
      write(async (tx) =>
        count(await tx.deleteFrom('revoked_tokens').where('expires_at', '<', before).executeTakeFirst()),
      ),

    async listFlows() {
      const rows = await reader.selectFrom('flows').selectAll().orderBy('address').execute()
      return rows.map(flowFromRow)
    },
    async getFlow(id) {
      const row = await reader.selectFrom('flows').selectAll().where('id', '=', id).executeTakeFirst()
      return row === undefined ? undefined : flowFromRow(row)
    },
    async getFlowByAddress(address) {
      const row = await reader
        .selectFrom('flows')
        .selectAll()
        .where('address', '=', address)
        .executeTakeFirst()
      return row === undefined ? undefined : flowFromRow(row)
    },
    createFlow: (flow) =>
      write(async (tx) => {
        const existing = await tx
          .selectFrom('flows')
          .select('id')
          .where('id', '=', flow.id)
          .executeTakeFirst()
        if (existing !== undefined)
          throw conflict('ERR_ALREADY_EXISTS', `a flow with id ${flow.id} already exists`)
        await checkFlowReferences(tx, flow)
        await tx.insertInto('flows').values(flowToRow(flow, dialect.boolean)).execute()
        await recordChange(tx, 'flow', flow.id)
      }),
    updateFlow: (flow) =>
      write(async (tx) => {
        await checkFlowReferences(tx, flow)
        const { id: _id, created_at: _createdAt, ...row } = flowToRow(flow, dialect.boolean)
        const result = await tx.updateTable('flows').set(row).where('id', '=', flow.id).executeTakeFirst()
        if (count(result) === 0) throw notFound('flow')
        await recordChange(tx, 'flow', flow.id)
      }),
    deleteFlow: (id) =>
      write(async (tx) => {
        const result = await tx.deleteFrom('flows').where('id', '=', id).executeTakeFirst()
        if (count(result) === 0) return false
        await recordChange(tx, 'flow', id)
        return true
      }),

    async listConnections() {
      const rows = await reader.selectFrom('connections').selectAll().orderBy('name').execute()
      return rows.map(connectionFromRow)
    },
    async getConnection(name) {
      const row = await reader
        .selectFrom('connections')
        .selectAll()
        .where('name', '=', name)
        .executeTakeFirst()
      return row === undefined ? undefined : connectionFromRow(row)
    },
    createConnection: (connection: UpstreamConnection) =>
      write(async (tx) => {
        const existing = await tx
          .selectFrom('connections')
          .select('name')
          .where('name', '=', connection.name)
          .executeTakeFirst()
        if (existing !== undefined) {
          throw conflict('ERR_ALREADY_EXISTS', `upstream connection ${connection.name} already exists`)
        }
        await tx.insertInto('connections').values(connectionToRow(connection)).execute()
        await recordChange(tx, 'connection', connection.name)
      }),
    updateConnection: (connection) =>
      write(async (tx) => {
        const { name: _name, created_at: _createdAt, ...row } = connectionToRow(connection)
        const result = await tx
          .updateTable('connections')
          .set(row)
          .where('name', '=', connection.name)
          .executeTakeFirst()
        if (count(result) === 0) throw notFound('upstream connection')
        await recordChange(tx, 'connection', connection.name)
      }),
    deleteConnection: (name) =>
      write(async (tx) => {
        const flow = await tx
          .selectFrom('flows')
          .select('address')
          .where('connection', '=', name)
          .executeTakeFirst()
        if (flow !== undefined) {
          throw conflict('ERR_CONFLICT', `upstream connection ${name} is used by flow ${flow.address}`)
        }
        const result = await tx.deleteFrom('connections').where('name', '=', name).executeTakeFirst()
        if (count(result) === 0) return false
        await recordChange(tx, 'connection', name)
        return true
      }),

    appendAudit: (input, time) =>
      write(async (tx) => {
        // The write lock is held from here to commit, so no other writer can read the same head.
        const head = await tx
          .selectFrom('audit_events')
          .select(['seq', 'hash'])
          .orderBy('seq', 'desc')
          .limit(1)
          .executeTakeFirst()
        const beforeText = jsonText(input.before)
        const afterText = jsonText(input.after)
        const fields = {
          seq: head === undefined ? 1 : head.seq + 1,
          time,
          actor: input.actor,
          sourceAddress: input.sourceAddress,
          action: input.action,
          target: input.target,
          ...(beforeText === undefined ? {} : { before: JSON.parse(beforeText) as unknown }),
          ...(afterText === undefined ? {} : { after: JSON.parse(afterText) as unknown }),
        }
        const prevHash = head === undefined ? genesisHash : head.hash
        const event: AuditEvent = { ...fields, prevHash, hash: auditHash(prevHash, fields) }
        await tx
          .insertInto('audit_events')
          .values({
            seq: event.seq,
            time: event.time,
            actor: event.actor,
            source_address: event.sourceAddress,
            action: event.action,
            target: event.target,
            before_value: beforeText ?? null,
            after_value: afterText ?? null,
            prev_hash: event.prevHash,
            hash: event.hash,
          })
          .execute()
        return event
      }),
    async listAuditEvents(query) {
      const limit = pageLimit(query.limit)
      let after = query.afterSeq ?? 0
      if (query.cursor !== undefined && query.cursor !== null) {
        after = Math.max(after, decodeCursor('audit', query.cursor, 1)[0] as number)
      }
      let select = reader.selectFrom('audit_events').selectAll().where('seq', '>', after)
      if (query.from !== undefined) select = select.where('time', '>=', query.from)
      if (query.to !== undefined) select = select.where('time', '<', query.to)
      if (query.actor !== undefined) select = select.where('actor', '=', query.actor)
      if (query.action !== undefined) select = select.where('action', '=', query.action)
      const rows = await select
        .orderBy('seq')
        .limit(limit + 1)
        .execute()
      const items = rows.slice(0, limit).map(auditEventFromRow)
      const last = items.at(-1)
      return {
        items,
        next: rows.length > limit && last !== undefined ? encodeCursor('audit', [last.seq]) : null,
      }
    },
    iterateAuditEvents: (batchSize) => iterateAuditEvents(reader, batchSize),
  }
}

async function* auditEvents(reader: Kysely<Database>, batchSize = 500): AsyncGenerator<AuditEvent> {
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new RangeError('batchSize must be a positive integer')
  let after = 0
  for (;;) {
    const rows = await reader
      .selectFrom('audit_events')
      .selectAll()
      .where('seq', '>', after)
      .orderBy('seq')
      .limit(batchSize)
      .execute()
    for (const row of rows) yield auditEventFromRow(row)
    const last = rows.at(-1)
    if (last === undefined || rows.length < batchSize) return
    after = last.seq
  }
}

export interface KyselyStoreOptions {
  readonly db: Kysely<Database>
  readonly dialect: StoreDialect
  /** Clock of change-log rows (tests freeze it). */
  readonly now?: () => number
}

/** The one implementation of the store over both dialects. */
export function createKyselyStore(options: KyselyStoreOptions): Store {
  const { db, dialect } = options
  const now = options.now ?? Date.now
  // Marks code running inside one of this store's transactions (see `guard`).
  const inTransaction = new AsyncLocalStorage<{ active: boolean }>()

  /**
   * Using the store itself inside `transaction(fn)` would hang on SQLite (its one connection is held
   * by the transaction) and deadlock on PostgreSQL as soon as it writes (the write lock is held), so
   * it fails loudly instead, on both.
   */
  function guard(operation: string): void {
    if (inTransaction.getStore()?.active === true) {
      throw new FlowgateError('ERR_INTERNAL', {
        detail: `store.${operation}() called inside store.transaction(); use the transaction's operations`,
      })
    }
  }

  function translate(error: unknown): unknown {
    if (isFlowgateError(error)) return error
    switch (dialect.classifyError(error)) {
      case 'unavailable':
        return new FlowgateError('ERR_STORE_UNAVAILABLE', {
          detail: `${dialect.location}: ${(error as Error).message}`,
          cause: error,
        })
      // Explicit checks under the write lock report these precisely; the constraints are the backstop.
      case 'unique':
        return new FlowgateError('ERR_ALREADY_EXISTS', { detail: (error as Error).message, cause: error })
      case 'foreign-key':
        return new FlowgateError('ERR_CONFLICT', {
          description: 'a referenced entity does not exist or is still referenced',
          detail: (error as Error).message,
          cause: error,
        })
      default:
        return error
    }
  }

  async function translated<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    guard(operation)
    try {
      return await fn()
    } catch (error) {
      throw translate(error)
    }
  }

  const storeWriter: Writer = (fn) =>
    db.transaction().execute(async (tx) => {
      await dialect.lockWrites(tx)
      return fn(tx)
    })

  const iterate = async function* (reader: Kysely<Database>, batchSize?: number): AsyncGenerator<AuditEvent> {
    try {
      yield* auditEvents(reader, batchSize)
    } catch (error) {
      throw translate(error)
    }
  }

  /**
   * Wraps every operation so driver errors surface as FlowgateErrors, on the store and in
   * transactions; the store's own operations also refuse to run inside one of its transactions.
   */
  function translateAll<T extends object>(operations: T, guarded: boolean): T {
    const wrapped: Record<string, unknown> = {}
    for (const [name, operation] of Object.entries(operations) as [
      string,
      (...args: unknown[]) => unknown,
    ][]) {
      wrapped[name] =
        name === 'iterateAuditEvents'
          ? async function* (...args: unknown[]) {
              if (guarded) guard(name)
              yield* operation(...args) as AsyncIterable<AuditEvent>
            }
          : async (...args: unknown[]) => {
              if (guarded) guard(name)
              try {
                return await operation(...args)
              } catch (error) {
                throw translate(error)
              }
            }
    }
    return wrapped as T
  }

  const bindings: Bindings = { dialect, now, iterateAuditEvents: iterate }
  const operations = translateAll(bindOperations(db, storeWriter, bindings), true)

  const migrator = new Migrator({
    db,
    provider: migrationProvider(dialect.name),
    migrationTableName: migrationTable,
    migrationLockTableName: migrationLockTable,
  })

  return {
    ...operations,
    dialect: dialect.name,

    migrate: () =>
      translated('migrate', async () => {
        const { error, results } = await migrator.migrateToLatest()
        if (error !== undefined) {
          if (dialect.classifyError(error) === 'unavailable') throw translate(error)
          const failed = results?.find((result) => result.status === 'Error')?.migrationName
          throw new FlowgateError('ERR_STORE_MIGRATION', {
            detail:
              failed === undefined
                ? `migration failed: ${(error as Error).message}`
                : `migration ${failed} failed: ${(error as Error).message}`,
            cause: error,
          })
        }
      }),

    isMigrated: () =>
      translated('isMigrated', async () => {
        const migrations = await migrator.getMigrations()
        return migrations.every((migration) => migration.executedAt !== undefined)
      }),

    ping: () =>
      translated('ping', async () => {
        try {
          await sql`select 1`.execute(db)
        } catch (cause) {
          throw new FlowgateError('ERR_STORE_UNAVAILABLE', {
            detail: `${dialect.location}: ${(cause as Error).message}`,
            cause,
          })
        }
      }),

    transaction: (fn) =>
      translated('transaction', () =>
        db.transaction().execute(async (tx) => {
          const context = { active: true }
          let lock: Promise<void> | undefined
          const txWriter: Writer = async (write) => {
            lock ??= dialect.lockWrites(tx)
            await lock
            return write(tx)
          }
          try {
            return await inTransaction.run(context, () =>
              fn(translateAll(bindOperations(tx, txWriter, bindings), false)),
            )
          } finally {
            context.active = false
          }
        }),
      ),

    latestChange: () =>
      translated('latestChange', async () => {
        const row = await db
          .selectFrom('changes')
          .select((eb) => eb.fn.max('seq').as('seq'))
          .executeTakeFirst()
        return row?.seq ?? 0
      }),

    changesSince: (seq, limit = changesPageLimit) =>
      translated('changesSince', async () => {
        const rows = await db
          .selectFrom('changes')
          .selectAll()
          .where('seq', '>', seq)
          .orderBy('seq')
          .limit(limit)
          .execute()
        return rows.map(
          (row): Change => ({
            seq: row.seq,
            kind: row.kind as ChangeKind,
            entityId: row.entity_id,
            time: row.time,
          }),
        )
      }),

    deleteChangesBefore: (time) =>
      translated('deleteChangesBefore', async () =>
        count(await db.deleteFrom('changes').where('time', '<', time).executeTakeFirst()),
      ),

    ...translateAll(accessRecordOperations(db), true),

    close: async () => {
      await db.destroy()
      await dialect.close(db)
    },
  }
}

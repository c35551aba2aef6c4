import { AsyncLocalStorage } from 'node:async_hooks'
import { type Kysely, sql, type Transaction } from 'kysely'
import { Migrator } from 'kysely/migration'
import { auditHash, genesisHash } from '../audit/chain.ts'
import { FlowgateError, isFlowgateError } from '../lib/errors.ts'
import {
  accessRecordBlock,
  accessRecordsOfBlock,
  clientKey,
  countAccessRecordsInTime,
  decodeAccessRecords,
  type EncodedAccessRecords,
  encodeAccessRecords,
  flowKey,
  statusKey,
} from './access-record-batch.ts'
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
  AccessRecord,
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

/** Key rows per INSERT on PostgreSQL: 3 parameters each, well under its 65,535. */
const keysPerInsert = 1000

/**
 * Blocks read per query round trip, and deleted per statement by retention (about 100 records each,
 * so SQLite's write lock is released between statements).
 */
const blocksPerRead = 32
const deleteBlockBatch = 100

/** Where a record stands in the newest-first order: its time, its block, its place in the block. */
type AccessRecordPosition = [time: number, block: number, index: number]

interface FoundAccessRecord {
  readonly position: AccessRecordPosition
  readonly record: AccessRecord
}

function comparePositions(a: AccessRecordPosition, b: AccessRecordPosition): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2]
}

const newestFirst = (a: FoundAccessRecord, b: FoundAccessRecord): number =>
  comparePositions(b.position, a.position)

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
  /** SQL of the block and key INSERTs of `dialect.insertWithChildren`, compiled by the first insert. */
  let blockInserts: { block: string; key: string } | undefined

  /**
   * Stores each batch as one block with its key rows, all batches in one transaction: every block
   * or none. Each block is built (and its batch checked) before anything is written.
   */
  async function insertAccessRecordBlocks(batches: readonly EncodedAccessRecords[]): Promise<void> {
    // One transaction without the write lock: access records are not in the change log and must
    // not wait behind administrative writes.
    const rows = batches.map((batch) => {
      const block = accessRecordBlock(batch)
      return {
        block,
        row: {
          first_time: block.firstTime,
          last_time: block.lastTime,
          record_count: block.count,
          cutoff: block.firstTime,
          removed: 0,
          records: block.data,
        },
      }
    })
    const first = rows[0]
    if (first === undefined) return
    const insertWithChildren = dialect.insertWithChildren
    if (insertWithChildren !== undefined) {
      // In-process SQLite has no round trip to save: two prepared statements on the raw connection
      // cost a fraction of Kysely building, binding and awaiting them. The SQL is compiled once;
      // Kysely's connection is held meanwhile so no Kysely transaction is open.
      blockInserts ??= {
        block: db.insertInto('access_record_blocks').values(first.row).compile().sql,
        key: db.insertInto('access_record_keys').values({ key: '', last_time: 0, block_id: 0 }).compile().sql,
      }
      const { block: blockSql, key: keySql } = blockInserts
      const parents = rows.map(({ block, row }) => ({
        parent: Object.values(row),
        children: block.keys.map((key) => [key, block.lastTime]),
      }))
      await db.connection().execute(async () => insertWithChildren(blockSql, keySql, parents))
      return
    }
    await db.transaction().execute(async (tx) => {
      for (const { block, row } of rows) {
        const { id } = await tx
          .insertInto('access_record_blocks')
          .values(row)
          .returning('id')
          .executeTakeFirstOrThrow()
        for (let start = 0; start < block.keys.length; start += keysPerInsert) {
          await tx
            .insertInto('access_record_keys')
            .values(
              block.keys
                .slice(start, start + keysPerInsert)
                .map((key) => ({ key, last_time: block.lastTime, block_id: id })),
            )
            .execute()
        }
      }
    })
  }
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
  function translateAll(operations: StoreOperations, guarded: boolean): StoreOperations {
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
    return wrapped as unknown as StoreOperations
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

    insertAccessRecords: (records) =>
      translated('insertAccessRecords', async () => {
        if (records.length > 0) await insertAccessRecordBlocks([encodeAccessRecords(records)])
      }),

    insertAccessRecordBatches: (batches) =>
      translated('insertAccessRecordBatches', async () => insertAccessRecordBlocks(batches)),

    queryAccessRecords: (query) =>
      translated('queryAccessRecords', async () => {
        const limit = pageLimit(query.limit)
        const cursor =
          query.cursor !== undefined && query.cursor !== null
            ? (decodeCursor('access', query.cursor, 3) as AccessRecordPosition)
            : undefined
        const { from, to, clientId, flow, status } = query
        // Blocks are selected by one key; every filter is checked on each record.
        const key =
          clientId !== undefined
            ? clientKey(clientId)
            : flow !== undefined
              ? flowKey(flow)
              : status !== undefined
                ? statusKey(status)
                : undefined
        const found: FoundAccessRecord[] = []
        const keep = limit + 1
        let after: { lastTime: number; id: number } | undefined
        scan: for (;;) {
          const blocks = await db
            .selectFrom('access_record_blocks as b')
            .$if(key !== undefined, (select) =>
              select
                .innerJoin('access_record_keys as k', (join) =>
                  join.onRef('k.block_id', '=', 'b.id').onRef('k.last_time', '=', 'b.last_time'),
                )
                .where('k.key', '=', key as string),
            )
            .select(['b.id', 'b.last_time', 'b.cutoff', 'b.records'])
            .$if(cursor !== undefined, (select) =>
              select.where('b.first_time', '<=', (cursor as AccessRecordPosition)[0]),
            )
            .$if(to !== undefined, (select) => select.where('b.first_time', '<', to as number))
            .$if(from !== undefined, (select) => select.where('b.last_time', '>=', from as number))
            .$if(after !== undefined, (select) => {
              const { lastTime, id } = after as { lastTime: number; id: number }
              const [last, block] =
                key === undefined ? ['b.last_time', 'b.id'] : ['k.last_time', 'k.block_id']
              return select.where((eb) =>
                eb.or([
                  eb(sql.ref(last), '<', lastTime),
                  eb.and([eb(sql.ref(last), '=', lastTime), eb(sql.ref(block), '<', id)]),
                ]),
              )
            })
            .orderBy(sql.ref(key === undefined ? 'b.last_time' : 'k.last_time'), 'desc')
            .orderBy(sql.ref(key === undefined ? 'b.id' : 'k.block_id'), 'desc')
            .limit(blocksPerRead)
            .execute()
          for (const block of blocks) {
            if (found.length >= keep) {
              found.sort(newestFirst)
              found.length = keep
              // Every later block's records are older than the page's last one.
              if (block.last_time < (found[keep - 1] as FoundAccessRecord).position[0]) break scan
            }
            const records = decodeAccessRecords(accessRecordsOfBlock(block.records))
            for (let index = 0; index < records.length; index++) {
              const record = records[index] as AccessRecord
              const { time } = record
              if (time < block.cutoff) continue
              if (from !== undefined && time < from) continue
              if (to !== undefined && time >= to) continue
              if (clientId !== undefined && record.clientId !== clientId) continue
              if (flow !== undefined && record.flow !== flow) continue
              if (status !== undefined && record.status !== status) continue
              const position: AccessRecordPosition = [time, block.id, index]
              if (cursor !== undefined && comparePositions(position, cursor) >= 0) continue
              found.push({ position, record })
            }
          }
          const last = blocks.at(-1)
          if (last === undefined || blocks.length < blocksPerRead) break
          after = { lastTime: last.last_time, id: last.id }
        }
        found.sort(newestFirst)
        const page = found.slice(0, limit)
        const lastFound = page.at(-1)
        return {
          items: page.map((item) => item.record),
          next:
            found.length > limit && lastFound !== undefined
              ? encodeCursor('access', lastFound.position)
              : null,
        }
      }),

    deleteAccessRecordsBefore: (time) =>
      translated('deleteAccessRecordsBefore', async () => {
        let deleted = 0
        // A block that spans the cutoff keeps its newer records: the older ones are marked deleted.
        const spanning = await db
          .selectFrom('access_record_blocks')
          .select(['id', 'cutoff', 'records'])
          .where('first_time', '<', time)
          .where('last_time', '>=', time)
          .where('cutoff', '<', time)
          .execute()
        for (const block of spanning) {
          const older = countAccessRecordsInTime(accessRecordsOfBlock(block.records), block.cutoff, time)
          // Another node's retention run may have moved the cutoff meanwhile; then it counted them.
          const updated = await db
            .updateTable('access_record_blocks')
            .set((eb) => ({ cutoff: time, removed: eb('removed', '+', older) }))
            .where('id', '=', block.id)
            .where('cutoff', '=', block.cutoff)
            .executeTakeFirst()
          if (count(updated) === 1) deleted += older
        }
        for (;;) {
          const gone = await db
            .deleteFrom('access_record_blocks')
            .where('id', 'in', (eb) =>
              eb
                .selectFrom('access_record_blocks')
                .select('id')
                .where('last_time', '<', time)
                .limit(deleteBlockBatch),
            )
            .returning(['record_count', 'removed'])
            .execute()
          for (const block of gone) deleted += block.record_count - block.removed
          if (gone.length < deleteBlockBatch) break
        }
        // Keys carry their block's last_time, so those of the blocks just deleted go by it. Keys left
        // by an interrupted run go with the next; a query never reaches them without their block.
        // The key rows are ordered by key first: one range of the primary key per distinct key, each
        // found by a seek, so a run reads what it deletes instead of every key row that stays.
        let key: string | undefined = ''
        while (key !== undefined) {
          const next: { key: string } | undefined = await db
            .selectFrom('access_record_keys')
            .select('key')
            .where('key', '>', key)
            .orderBy('key')
            .limit(1)
            .executeTakeFirst()
          key = next?.key
          if (key !== undefined) {
            await db
              .deleteFrom('access_record_keys')
              .where('key', '=', key)
              .where('last_time', '<', time)
              .execute()
          }
        }
        return deleted
      }),

    close: async () => {
      await db.destroy()
      await dialect.close(db)
    },
  }
}

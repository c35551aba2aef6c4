import { randomUUID } from 'node:crypto'
import type { FlowgateConfig } from '../config/schema.ts'
import type { Actor, StoreUnit } from '../identity/actor.ts'
import { FlowgateError } from '../lib/errors.ts'
import { withinUnit } from '../lib/unit-of-work.ts'
import type { ConnectionInput } from '../model/connection.ts'
import type { FlowDefinition, FlowInput } from '../model/flow.ts'
import { connectionSecretPlace, type SecretBox } from '../secrets/master-key.ts'
import type { Flow, Store, StoreOperations, UpstreamConnection } from '../store/types.ts'
import { normalizeAddress } from './address.ts'
import { type ConnectionDefinition, validateConnectionInput } from './connection-input.ts'
import { validateFlowInput } from './flow-input.ts'

/** An upstream connection as it may be shown: settings only, never the sealed secret. */
export interface ConnectionView {
  readonly name: string
  readonly type: UpstreamConnection['type']
  readonly settings: Readonly<Record<string, unknown>>
  readonly hasSecret: boolean
  readonly createdAt: number
  readonly updatedAt: number
}

export interface FlowChange {
  readonly kind: 'flow' | 'connection'
  /** Flow id or connection name. */
  readonly id: string
}

export interface FlowServiceOptions {
  readonly store: Store
  readonly secretBox: SecretBox
  readonly config: FlowgateConfig
  /**
   * Called after a change has committed and awaited before the operation returns, so the caller
   * (the gateway) can make this node's route table current before the change is acknowledged.
   */
  readonly onChange?: (change: FlowChange) => void | Promise<void>
  readonly now?: () => number
}

export interface FlowService {
  listFlows(): Promise<Flow[]>
  /** By id, or by address (`/orders`, `orders`, `/Orders/*`); ERR_NOT_FOUND when absent. */
  getFlow(ref: string): Promise<Flow>
  createFlow(input: FlowInput, actor: Actor, unit?: StoreUnit): Promise<Flow>
  /** Changes the given properties; the result is validated as a whole. */
  updateFlow(ref: string, patch: Partial<FlowInput>, actor: Actor, unit?: StoreUnit): Promise<Flow>
  deleteFlow(ref: string, actor: Actor, unit?: StoreUnit): Promise<void>
  listConnections(): Promise<ConnectionView[]>
  getConnection(name: string): Promise<ConnectionView>
  createConnection(input: ConnectionInput, actor: Actor, unit?: StoreUnit): Promise<ConnectionView>
  /** Replaces the connection's definition (type, settings and secret) under the same name. */
  updateConnection(
    name: string,
    input: Omit<ConnectionInput, 'name'>,
    actor: Actor,
    unit?: StoreUnit,
  ): Promise<ConnectionView>
  /** ERR_CONFLICT while a flow uses it. */
  deleteConnection(name: string, actor: Actor, unit?: StoreUnit): Promise<void>
}

export function connectionView(connection: UpstreamConnection): ConnectionView {
  return {
    name: connection.name,
    type: connection.type,
    settings: connection.settings,
    hasSecret: connection.secretEncrypted !== null,
    createdAt: connection.createdAt,
    updatedAt: connection.updatedAt,
  }
}

function notFound(what: string): FlowgateError {
  return new FlowgateError('ERR_NOT_FOUND', { description: `${what} not found` })
}

async function findFlow(ops: StoreOperations, ref: string): Promise<Flow | undefined> {
  if (typeof ref !== 'string' || ref === '') return undefined
  if (!ref.includes('/')) {
    const byId = await ops.getFlow(ref)
    if (byId !== undefined) return byId
  }
  let address: string
  try {
    address = normalizeAddress(ref)
  } catch {
    return undefined
  }
  return ops.getFlowByAddress(address)
}

/** Role and connection must exist, and no other flow may hold the address. */
async function checkReferences(
  ops: StoreOperations,
  definition: FlowDefinition,
  selfId: string | null,
): Promise<void> {
  if ((await ops.getRole(definition.role)) === undefined) {
    throw new FlowgateError('ERR_UNKNOWN_ROLE', { description: `unknown role ${definition.role}` })
  }
  if (definition.connection !== null && (await ops.getConnection(definition.connection)) === undefined) {
    throw new FlowgateError('ERR_VALIDATION', {
      description: `invalid flow: upstream connection ${definition.connection} does not exist`,
    })
  }
  const holder = await ops.getFlowByAddress(definition.address)
  if (holder !== undefined && holder.id !== selfId) {
    throw new FlowgateError('ERR_ALREADY_EXISTS', {
      description: `a flow already has the address ${definition.address}`,
    })
  }
}

/**
 * Administrative operations on flows and upstream connections, shared by the admin API, the CLI
 * and the demo. Every change and its audit event commit in one store transaction; secrets are
 * sealed with the master key before they reach the store and never leave this module.
 */
export function createFlowService(options: FlowServiceOptions): FlowService {
  const { store, secretBox, config, onChange } = options
  const now = options.now ?? Date.now

  const seal = (definition: ConnectionDefinition): string | null =>
    definition.secret === null
      ? null
      : secretBox.seal(JSON.stringify(definition.secret), connectionSecretPlace(definition.name))

  const write = <T>(unit: StoreUnit | undefined, work: (unit: StoreUnit) => Promise<T>) =>
    withinUnit((fn) => store.transaction(fn), unit, work)
  /** After the commit: the caller's route table must know the change before it is acknowledged. */
  const changed = (unit: StoreUnit, kind: FlowChange['kind'], id: string): void => {
    unit.afterCommit(async () => {
      await onChange?.({ kind, id })
    })
  }

  return {
    listFlows: () => store.listFlows(),

    async getFlow(ref) {
      const flow = await findFlow(store, ref)
      if (flow === undefined) throw notFound('flow')
      return flow
    },

    async createFlow(input, actor, unit) {
      const definition = validateFlowInput(input, config)
      return write(unit, async (work) => {
        const { tx } = work
        await checkReferences(tx, definition, null)
        const time = now()
        const created: Flow = { id: randomUUID(), ...definition, createdAt: time, updatedAt: time }
        await tx.createFlow(created)
        await tx.appendAudit(
          { ...actor, action: 'flow.create', target: `flow:${created.address}`, after: created },
          time,
        )
        changed(work, 'flow', created.id)
        return created
      })
    },

    async updateFlow(ref, patch, actor, unit) {
      return write(unit, async (work) => {
        const { tx } = work
        const before = await findFlow(tx, ref)
        if (before === undefined) throw notFound('flow')
        const { id: _id, createdAt: _created, updatedAt: _updated, ...current } = before
        const definition = validateFlowInput({ ...current, ...patch }, config)
        await checkReferences(tx, definition, before.id)
        const time = now()
        const after: Flow = { ...definition, id: before.id, createdAt: before.createdAt, updatedAt: time }
        await tx.updateFlow(after)
        await tx.appendAudit(
          { ...actor, action: 'flow.update', target: `flow:${after.address}`, before, after },
          time,
        )
        changed(work, 'flow', after.id)
        return after
      })
    },

    async deleteFlow(ref, actor, unit) {
      await write(unit, async (work) => {
        const { tx } = work
        const before = await findFlow(tx, ref)
        if (before === undefined || !(await tx.deleteFlow(before.id))) throw notFound('flow')
        await tx.appendAudit(
          { ...actor, action: 'flow.delete', target: `flow:${before.address}`, before },
          now(),
        )
        changed(work, 'flow', before.id)
      })
    },

    listConnections: async () => (await store.listConnections()).map(connectionView),

    async getConnection(name) {
      const connection = typeof name === 'string' ? await store.getConnection(name) : undefined
      if (connection === undefined) throw notFound('upstream connection')
      return connectionView(connection)
    },

    async createConnection(input, actor, unit) {
      const definition = validateConnectionInput(input, config)
      return write(unit, async (work) => {
        const { tx } = work
        if ((await tx.getConnection(definition.name)) !== undefined) {
          throw new FlowgateError('ERR_ALREADY_EXISTS', {
            description: `an upstream connection named ${definition.name} already exists`,
          })
        }
        const time = now()
        const created: UpstreamConnection = {
          name: definition.name,
          type: definition.type,
          settings: definition.settings,
          secretEncrypted: seal(definition),
          createdAt: time,
          updatedAt: time,
        }
        await tx.createConnection(created)
        const after = connectionView(created)
        await tx.appendAudit(
          { ...actor, action: 'connection.create', target: `connection:${created.name}`, after },
          time,
        )
        changed(work, 'connection', created.name)
        return after
      })
    },

    async updateConnection(name, input, actor, unit) {
      const definition = validateConnectionInput({ ...input, name }, config)
      return write(unit, async (work) => {
        const { tx } = work
        const existing = await tx.getConnection(name)
        if (existing === undefined) throw notFound('upstream connection')
        const time = now()
        const updated: UpstreamConnection = {
          name,
          type: definition.type,
          settings: definition.settings,
          secretEncrypted: seal(definition),
          createdAt: existing.createdAt,
          updatedAt: time,
        }
        await tx.updateConnection(updated)
        const before = connectionView(existing)
        const after = connectionView(updated)
        await tx.appendAudit(
          { ...actor, action: 'connection.update', target: `connection:${name}`, before, after },
          time,
        )
        changed(work, 'connection', name)
        return after
      })
    },

    async deleteConnection(name, actor, unit) {
      await write(unit, async (work) => {
        const { tx } = work
        const existing = await tx.getConnection(name)
        if (existing === undefined) throw notFound('upstream connection')
        await tx.deleteConnection(name)
        await tx.appendAudit(
          {
            ...actor,
            action: 'connection.delete',
            target: `connection:${name}`,
            before: connectionView(existing),
          },
          now(),
        )
        changed(work, 'connection', name)
      })
    },
  }
}

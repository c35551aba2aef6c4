import type { Transaction } from 'kysely'
import { FlowgateError } from '../../lib/errors.ts'
import type { Database } from '../database.ts'
import { connectionFromRow, connectionToRow, flowFromRow, flowToRow } from '../rows.ts'
import type { Flow, UpstreamConnection } from '../types.ts'
import { conflict, count, notFound, type OperationContext } from './operation-context.ts'

export interface FlowOperations {
  listFlows(): Promise<Flow[]>
  getFlow(id: string): Promise<Flow | undefined>
  getFlowByAddress(address: string): Promise<Flow | undefined>
  /**
   * Throws ERR_ALREADY_EXISTS for a taken address, ERR_UNKNOWN_ROLE / ERR_UNKNOWN_CONNECTION for a
   * role or connection that does not exist (updateFlow too).
   */
  createFlow(flow: Flow): Promise<void>
  updateFlow(flow: Flow): Promise<void>
  deleteFlow(id: string): Promise<boolean>

  listConnections(): Promise<UpstreamConnection[]>
  getConnection(name: string): Promise<UpstreamConnection | undefined>
  createConnection(connection: UpstreamConnection): Promise<void>
  updateConnection(connection: UpstreamConnection): Promise<void>
  /** Throws ERR_CONFLICT when a flow still uses it. */
  deleteConnection(name: string): Promise<boolean>
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

/** Flows and the upstream connections they use. */
export function flowOperations({ reader, write, dialect, recordChange }: OperationContext): FlowOperations {
  return {
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
  }
}

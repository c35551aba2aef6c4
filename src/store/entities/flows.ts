import type { Transaction } from 'kysely'
import { FlowgateError } from '../../lib/errors.ts'
import type { Database } from '../database.ts'
import { connectionFromRow, connectionToRow, flowFromRow, flowToRow } from '../rows.ts'
import type { Flow, UpstreamConnection } from '../types.ts'
import { conflict, type OperationContext } from './operation-context.ts'
import { allOf, firstOf, refuseDuplicate, rowChanges } from './row-steps.ts'

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
  const { updated, deleted } = rowChanges(recordChange)
  return {
    listFlows: () => allOf(reader.selectFrom('flows').selectAll().orderBy('address'), flowFromRow),
    getFlow: (id) => firstOf(reader.selectFrom('flows').selectAll().where('id', '=', id), flowFromRow),
    getFlowByAddress: (address) =>
      firstOf(reader.selectFrom('flows').selectAll().where('address', '=', address), flowFromRow),
    createFlow: (flow) =>
      write(async (tx) => {
        await refuseDuplicate(
          tx.selectFrom('flows').select('id').where('id', '=', flow.id),
          `a flow with id ${flow.id} already exists`,
        )
        await checkFlowReferences(tx, flow)
        await tx.insertInto('flows').values(flowToRow(flow, dialect.boolean)).execute()
        await recordChange(tx, 'flow', flow.id)
      }),
    updateFlow: (flow) =>
      write(async (tx) => {
        await checkFlowReferences(tx, flow)
        const { id: _id, created_at: _createdAt, ...row } = flowToRow(flow, dialect.boolean)
        await updated(tx, tx.updateTable('flows').set(row).where('id', '=', flow.id), {
          kind: 'flow',
          id: flow.id,
          what: 'flow',
        })
      }),
    deleteFlow: (id) => write((tx) => deleted(tx, tx.deleteFrom('flows').where('id', '=', id), 'flow', id)),

    listConnections: () =>
      allOf(reader.selectFrom('connections').selectAll().orderBy('name'), connectionFromRow),
    getConnection: (name) =>
      firstOf(reader.selectFrom('connections').selectAll().where('name', '=', name), connectionFromRow),
    createConnection: (connection: UpstreamConnection) =>
      write(async (tx) => {
        await refuseDuplicate(
          tx.selectFrom('connections').select('name').where('name', '=', connection.name),
          `upstream connection ${connection.name} already exists`,
        )
        await tx.insertInto('connections').values(connectionToRow(connection)).execute()
        await recordChange(tx, 'connection', connection.name)
      }),
    updateConnection: (connection) =>
      write(async (tx) => {
        const { name: _name, created_at: _createdAt, ...row } = connectionToRow(connection)
        await updated(tx, tx.updateTable('connections').set(row).where('name', '=', connection.name), {
          kind: 'connection',
          id: connection.name,
          what: 'upstream connection',
        })
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
        return deleted(tx, tx.deleteFrom('connections').where('name', '=', name), 'connection', name)
      }),
  }
}

import type { Transaction } from 'kysely'
import type { Database } from '../database.ts'
import { instanceFromRow, instanceToRow, serviceKeyFromRow, serviceKeyToRow } from '../rows.ts'
import type { Instance, ServiceKey } from '../types.ts'
import { conflict, count, notFound, type OperationContext } from './operation-context.ts'
import { allOf, firstOf, refuseDuplicate, rowChanges } from './row-steps.ts'

export interface InstanceOperations {
  listInstances(): Promise<Instance[]>
  getInstance(id: string): Promise<Instance | undefined>
  getInstanceByName(name: string): Promise<Instance | undefined>
  /** Throws ERR_ALREADY_EXISTS on a duplicate name. */
  createInstance(instance: Instance): Promise<void>
  /** Throws ERR_NOT_FOUND when absent (every update does), ERR_ALREADY_EXISTS when renamed onto another. */
  updateInstance(instance: Instance): Promise<void>
  /** Deletes the instance and its service keys. Returns false when absent. */
  deleteInstance(id: string): Promise<boolean>

  listServiceKeys(instanceId?: string): Promise<ServiceKey[]>
  getServiceKey(id: string): Promise<ServiceKey | undefined>
  getServiceKeyByName(instanceId: string, name: string): Promise<ServiceKey | undefined>
  getServiceKeyByClientId(clientId: string): Promise<ServiceKey | undefined>
  /** Throws ERR_ALREADY_EXISTS on a duplicate (instance, name) or client id, ERR_NOT_FOUND without its instance. */
  createServiceKey(key: ServiceKey): Promise<void>
  updateServiceKey(key: ServiceKey): Promise<void>
  deleteServiceKey(id: string): Promise<boolean>
  /**
   * The next number for `!b<N>` in client ids (monotonic; a number is handed out again only when the
   * transaction that drew it rolled back, so no committed key ever carried it).
   */
  nextKeyNumber(): Promise<number>
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
    throw conflict('ERR_ALREADY_EXISTS', `service key ${key.name} already exists in instance ${instanceName}`)
  }
}

async function instanceName(tx: Transaction<Database>, id: string): Promise<string> {
  const row = await tx.selectFrom('instances').select('name').where('id', '=', id).executeTakeFirst()
  if (row === undefined) throw notFound('instance')
  return row.name
}

/** Instances and their service keys (the key numbers of their client ids included). */
export function instanceOperations({ reader, write, recordChange }: OperationContext): InstanceOperations {
  const { updated, deleted } = rowChanges(recordChange)
  return {
    listInstances: () => allOf(reader.selectFrom('instances').selectAll().orderBy('name'), instanceFromRow),
    getInstance: (id) =>
      firstOf(reader.selectFrom('instances').selectAll().where('id', '=', id), instanceFromRow),
    getInstanceByName: (name) =>
      firstOf(reader.selectFrom('instances').selectAll().where('name', '=', name), instanceFromRow),
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
        await updated(tx, tx.updateTable('instances').set(row).where('id', '=', instance.id), {
          kind: 'instance',
          id: instance.id,
          what: 'instance',
        })
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

    listServiceKeys: (instanceId) => {
      let query = reader.selectFrom('service_keys').selectAll()
      if (instanceId !== undefined) query = query.where('instance_id', '=', instanceId)
      return allOf(query.orderBy('instance_id').orderBy('name'), serviceKeyFromRow)
    },
    getServiceKey: (id) =>
      firstOf(reader.selectFrom('service_keys').selectAll().where('id', '=', id), serviceKeyFromRow),
    getServiceKeyByName: (instanceId, name) =>
      firstOf(
        reader
          .selectFrom('service_keys')
          .selectAll()
          .where('instance_id', '=', instanceId)
          .where('name', '=', name),
        serviceKeyFromRow,
      ),
    getServiceKeyByClientId: (clientId) =>
      firstOf(
        reader.selectFrom('service_keys').selectAll().where('client_id', '=', clientId),
        serviceKeyFromRow,
      ),
    createServiceKey: (key) =>
      write(async (tx) => {
        const name = await instanceName(tx, key.instanceId)
        await refuseDuplicate(
          tx.selectFrom('service_keys').select('id').where('id', '=', key.id),
          `a service key with id ${key.id} already exists`,
        )
        await checkServiceKeyUniqueness(tx, key, name)
        await tx.insertInto('service_keys').values(serviceKeyToRow(key)).execute()
        await recordChange(tx, 'service-key', key.id)
      }),
    updateServiceKey: (key) =>
      write(async (tx) => {
        const name = await instanceName(tx, key.instanceId)
        await checkServiceKeyUniqueness(tx, key, name)
        const { id: _id, created_at: _createdAt, ...row } = serviceKeyToRow(key)
        await updated(tx, tx.updateTable('service_keys').set(row).where('id', '=', key.id), {
          kind: 'service-key',
          id: key.id,
          what: 'service key',
        })
      }),
    deleteServiceKey: (id) =>
      write((tx) => deleted(tx, tx.deleteFrom('service_keys').where('id', '=', id), 'service-key', id)),
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
  }
}

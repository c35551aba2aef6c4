import { randomUUID } from 'node:crypto'
import type { FlowgateConfig } from '../config/schema.ts'
import { type ConnectionDefinition, validateConnectionInput } from '../flows/connection-input.ts'
import { type FlowDefinition, validateFlowInput } from '../flows/flow-input.ts'
import { connectionView } from '../flows/flow-service.ts'
import type { Actor } from '../identity/actor.ts'
import { parseInstanceParameters, toSapInstanceParameters } from '../identity/instance-parameters.ts'
import { adminRolePrefix, roleNamePattern } from '../identity/names.ts'
import { FlowgateError } from '../lib/errors.ts'
import type {
  Flow,
  Instance,
  InstanceParameters,
  Role,
  StoreOperations,
  UpstreamConnection,
} from '../store/types.ts'
import { sameSecret, sameSet, sameValue } from './canonical.ts'
import type { ObjectKind, PlannedChange, ResolvedConnectionEntry, ResolvedDocument } from './document.ts'

/** The objects a document can describe, as they are now. */
export interface CurrentState {
  readonly roles: readonly Role[]
  readonly connections: readonly UpstreamConnection[]
  readonly flows: readonly Flow[]
  readonly instances: readonly Instance[]
}

export async function readCurrentState(ops: StoreOperations): Promise<CurrentState> {
  const [roles, connections, flows, instances] = await Promise.all([
    ops.listRoles(),
    ops.listConnections(),
    ops.listFlows(),
    ops.listInstances(),
  ])
  return { roles, connections, flows, instances }
}

export interface WriteContext {
  readonly tx: StoreOperations
  readonly time: number
  readonly actor: Actor
}

/** One change and the writes that make it, run inside the caller's transaction. */
export interface PlannedStep {
  readonly change: PlannedChange
  /** Set for instance changes, so the caller can update this node's identity index after commit. */
  readonly instance?: { readonly id: string; readonly removed: boolean }
  run(context: WriteContext): Promise<void>
}

export interface PlanOptions {
  readonly config: FlowgateConfig
  readonly prune: boolean
  /** Seals or opens the secret of the named upstream connection. */
  readonly seal: (plaintext: string, connection: string) => string
  readonly open: (sealed: string, connection: string) => string
}

export interface Planned {
  readonly steps: readonly PlannedStep[]
  readonly unchanged: number
}

function invalid(description: string): FlowgateError {
  return new FlowgateError('ERR_VALIDATION', { description })
}

function unique<T>(items: readonly T[], keyOf: (item: T) => string, kind: string): Map<string, T> {
  const byKey = new Map<string, T>()
  for (const item of items) {
    const key = keyOf(item)
    if (byKey.has(key)) throw invalid(`the document names ${kind} ${key} twice`)
    byKey.set(key, item)
  }
  return byKey
}

function audit(context: WriteContext, action: string, target: string, before?: unknown, after?: unknown) {
  return context.tx.appendAudit(
    {
      ...context.actor,
      action,
      target,
      ...(before === undefined ? {} : { before }),
      ...(after === undefined ? {} : { after }),
    },
    context.time,
  )
}

/** The same audit view as the identity service writes. */
function instanceView(instance: Instance): Record<string, unknown> {
  return {
    id: instance.id,
    name: instance.name,
    plan: instance.plan,
    parameters: toSapInstanceParameters(instance.parameters),
  }
}

const change = (action: PlannedChange['action'], kind: ObjectKind, name: string, fields: string[] = []) => ({
  action,
  kind,
  name,
  fields,
})

const secretFieldByType = {
  none: undefined,
  basic: 'password',
  'oauth2-client-credentials': 'serviceKey',
  'client-certificate': 'key',
} as const

/**
 * A connection named without its secret keeps the stored one; it may then not change anything the
 * secret belongs with (its type, or a basic connection's user name).
 */
function checkKeptConnection(entry: ResolvedConnectionEntry, current: UpstreamConnection | undefined): void {
  const secretField = secretFieldByType[entry.type]
  const from = `${secretField === 'password' ? 'passwordFrom' : secretField === 'serviceKey' ? 'serviceKeyFrom' : 'keyFrom'}`
  if (current === undefined) {
    throw invalid(`connection ${entry.name} does not exist yet: creating it needs ${from}`)
  }
  if (current.type !== entry.type) {
    throw invalid(`connection ${entry.name}: changing its type to ${entry.type} needs ${from}`)
  }
  if (
    entry.type === 'basic' &&
    entry.username !== undefined &&
    entry.username !== current.settings.username
  ) {
    throw invalid(`connection ${entry.name}: changing its username needs ${from}`)
  }
  if (entry.certificate !== undefined || entry.ca !== undefined) {
    throw invalid(`connection ${entry.name}: changing its certificate needs ${from}`)
  }
}

function connectionChanges(
  definition: ConnectionDefinition,
  current: UpstreamConnection,
  open: (sealed: string, connection: string) => string,
): string[] {
  const fields: string[] = []
  if (definition.type !== current.type) fields.push('type')
  for (const key of new Set([...Object.keys(definition.settings), ...Object.keys(current.settings)])) {
    if (!sameValue(definition.settings[key], current.settings[key])) fields.push(key)
  }
  const wanted = definition.secret === null ? null : JSON.stringify(definition.secret)
  const stored = current.secretEncrypted === null ? null : open(current.secretEncrypted, current.name)
  if (wanted === null || stored === null ? wanted !== stored : !sameSecret(wanted, stored))
    fields.push('secret')
  return fields
}

function flowChanges(definition: FlowDefinition, current: Flow): string[] {
  const fields: string[] = []
  if (definition.upstream !== current.upstream) fields.push('upstream')
  if (definition.role !== current.role) fields.push('role')
  if (!sameSet(definition.methods, current.methods)) fields.push('methods')
  if (definition.csrf !== current.csrf) fields.push('csrf')
  if (definition.maxBodyBytes !== current.maxBodyBytes) fields.push('maxBodyBytes')
  if (definition.timeoutMs !== current.timeoutMs) fields.push('timeoutMs')
  if (definition.connection !== current.connection) fields.push('connection')
  return fields
}

function instanceChanges(parameters: InstanceParameters, current: Instance): string[] {
  const fields: string[] = []
  if (!sameSet(parameters.roles, current.parameters.roles)) fields.push('roles')
  if (!sameSet(parameters.grantTypes, current.parameters.grantTypes)) fields.push('grant-types')
  if (parameters.tokenValidity !== current.parameters.tokenValidity) fields.push('token-validity')
  return fields
}

/**
 * Compares a document with the current state and returns the writes that make the state match,
 * validating everything before anything is written: the same validation functions as the flow and
 * identity services, plus the references between objects (a flow's role and connection, an
 * instance's roles) as they will be after the whole document is applied. Deletions only with
 * `prune`; built-in roles and plan `api` instances (the admins' own access) are never pruned.
 */
export function planChanges(
  document: ResolvedDocument,
  current: CurrentState,
  options: PlanOptions,
): Planned {
  const { config, prune, seal, open } = options
  const wantedRoles = unique(document.roles ?? [], (role) => role.name, 'role')
  const wantedConnections = unique(document.connections ?? [], (connection) => connection.name, 'connection')
  const flowDefinitions = (document.flows ?? []).map((flow) => validateFlowInput(flow, config))
  const wantedFlows = unique(flowDefinitions, (flow) => flow.address, 'flow')
  const wantedInstances = unique(document.instances ?? [], (instance) => instance.name, 'instance')

  const currentRoles = new Map(current.roles.map((role) => [role.name, role]))
  const currentConnections = new Map(current.connections.map((connection) => [connection.name, connection]))
  const currentFlows = new Map(current.flows.map((flow) => [flow.address, flow]))
  const currentInstances = new Map(current.instances.map((instance) => [instance.name, instance]))

  const roleCreates: PlannedStep[] = []
  const roleDeletes: PlannedStep[] = []
  const connectionWrites: PlannedStep[] = []
  const connectionDeletes: PlannedStep[] = []
  const flowWrites: PlannedStep[] = []
  const flowDeletes: PlannedStep[] = []
  const instanceWrites: PlannedStep[] = []
  const instanceDeletes: PlannedStep[] = []
  let unchanged = 0

  // Roles: created when missing. A description is set at creation (roles have nothing to update).
  for (const entry of wantedRoles.values()) {
    if (!roleNamePattern.test(entry.name) || entry.name.startsWith(adminRolePrefix)) {
      throw new FlowgateError('ERR_INVALID_ROLE_NAME', {
        description: `invalid role name ${entry.name}: letters, digits, "_" and "."; "${adminRolePrefix}" is reserved`,
      })
    }
    if (currentRoles.has(entry.name)) {
      unchanged++
      continue
    }
    const role: Role = {
      name: entry.name,
      description: entry.description ?? null,
      builtIn: false,
      createdAt: 0,
    }
    roleCreates.push({
      change: change('create', 'role', entry.name),
      async run(context) {
        const created = { ...role, createdAt: context.time }
        await context.tx.createRole(created)
        await audit(context, 'role.create', `role:${created.name}`, undefined, created)
      },
    })
  }
  if (prune) {
    for (const role of current.roles) {
      if (role.builtIn || wantedRoles.has(role.name)) continue
      roleDeletes.push({
        change: change('delete', 'role', role.name),
        async run(context) {
          await context.tx.deleteRole(role.name)
          await audit(context, 'role.delete', `role:${role.name}`, role)
        },
      })
    }
  }
  const rolesAfter = new Set(current.roles.filter((role) => role.builtIn || !prune).map((role) => role.name))
  for (const name of wantedRoles.keys()) rolesAfter.add(name)

  // Upstream connections.
  for (const entry of wantedConnections.values()) {
    const existing = currentConnections.get(entry.name)
    const secretField = secretFieldByType[entry.type]
    if (secretField !== undefined && entry[secretField] === undefined) {
      checkKeptConnection(entry, existing)
      unchanged++
      continue
    }
    const definition = validateConnectionInput(entry, config)
    const secretEncrypted =
      definition.secret === null ? null : seal(JSON.stringify(definition.secret), definition.name)
    if (existing === undefined) {
      connectionWrites.push({
        change: change('create', 'connection', entry.name),
        async run(context) {
          const created: UpstreamConnection = {
            name: definition.name,
            type: definition.type,
            settings: definition.settings,
            secretEncrypted,
            createdAt: context.time,
            updatedAt: context.time,
          }
          await context.tx.createConnection(created)
          await audit(
            context,
            'connection.create',
            `connection:${created.name}`,
            undefined,
            connectionView(created),
          )
        },
      })
      continue
    }
    const fields = connectionChanges(definition, existing, open)
    if (fields.length === 0) {
      unchanged++
      continue
    }
    connectionWrites.push({
      change: change('update', 'connection', entry.name, fields),
      async run(context) {
        const updated: UpstreamConnection = {
          name: existing.name,
          type: definition.type,
          settings: definition.settings,
          secretEncrypted,
          createdAt: existing.createdAt,
          updatedAt: context.time,
        }
        await context.tx.updateConnection(updated)
        await audit(
          context,
          'connection.update',
          `connection:${existing.name}`,
          connectionView(existing),
          connectionView(updated),
        )
      },
    })
  }
  if (prune) {
    for (const connection of current.connections) {
      if (wantedConnections.has(connection.name)) continue
      connectionDeletes.push({
        change: change('delete', 'connection', connection.name),
        async run(context) {
          await context.tx.deleteConnection(connection.name)
          await audit(
            context,
            'connection.delete',
            `connection:${connection.name}`,
            connectionView(connection),
          )
        },
      })
    }
  }
  const connectionsAfter = new Set(prune ? [] : current.connections.map((connection) => connection.name))
  for (const name of wantedConnections.keys()) connectionsAfter.add(name)

  // Flows, keyed by normalised address.
  for (const definition of wantedFlows.values()) {
    if (!rolesAfter.has(definition.role)) {
      throw new FlowgateError('ERR_UNKNOWN_ROLE', {
        description: `flow ${definition.address} requires role ${definition.role}, which neither exists nor is in the document`,
      })
    }
    if (definition.connection !== null && !connectionsAfter.has(definition.connection)) {
      throw invalid(
        `flow ${definition.address} uses connection ${definition.connection}, which neither exists nor is in the document`,
      )
    }
    const existing = currentFlows.get(definition.address)
    if (existing === undefined) {
      flowWrites.push({
        change: change('create', 'flow', definition.address),
        async run(context) {
          const created: Flow = {
            id: randomUUID(),
            ...definition,
            createdAt: context.time,
            updatedAt: context.time,
          }
          await context.tx.createFlow(created)
          await audit(context, 'flow.create', `flow:${created.address}`, undefined, created)
        },
      })
      continue
    }
    const fields = flowChanges(definition, existing)
    if (fields.length === 0) {
      unchanged++
      continue
    }
    flowWrites.push({
      change: change('update', 'flow', definition.address, fields),
      async run(context) {
        const updated: Flow = {
          ...definition,
          id: existing.id,
          createdAt: existing.createdAt,
          updatedAt: context.time,
        }
        await context.tx.updateFlow(updated)
        await audit(context, 'flow.update', `flow:${updated.address}`, existing, updated)
      },
    })
  }
  if (prune) {
    for (const flow of current.flows) {
      if (wantedFlows.has(flow.address)) continue
      flowDeletes.push({
        change: change('delete', 'flow', flow.address),
        async run(context) {
          await context.tx.deleteFlow(flow.id)
          await audit(context, 'flow.delete', `flow:${flow.address}`, flow)
        },
      })
    }
  }

  // Instances: parameters as written (absent keys take SAP's defaults, not the current values).
  for (const entry of wantedInstances.values()) {
    const plan = entry.plan ?? 'integration-flow'
    const parameters = parseInstanceParameters(entry.parameters, plan, config.tokens.maxValiditySeconds)
    for (const role of parameters.roles) {
      if (!rolesAfter.has(role)) {
        throw new FlowgateError('ERR_UNKNOWN_ROLE', {
          description: `instance ${entry.name} holds role ${role}, which neither exists nor is in the document`,
        })
      }
    }
    const existing = currentInstances.get(entry.name)
    if (existing === undefined) {
      const id = randomUUID()
      instanceWrites.push({
        change: change('create', 'instance', entry.name),
        instance: { id, removed: false },
        async run(context) {
          const created: Instance = {
            id,
            name: entry.name,
            plan,
            parameters,
            createdAt: context.time,
            updatedAt: context.time,
          }
          await context.tx.createInstance(created)
          await audit(
            context,
            'instance.create',
            `instance:${created.name}`,
            undefined,
            instanceView(created),
          )
        },
      })
      continue
    }
    if (existing.plan !== plan) {
      throw new FlowgateError('ERR_CONFLICT', {
        description: `instance ${entry.name} has plan ${existing.plan}; a plan cannot change (delete the instance first)`,
      })
    }
    const fields = instanceChanges(parameters, existing)
    if (fields.length === 0) {
      unchanged++
      continue
    }
    instanceWrites.push({
      change: change('update', 'instance', entry.name, fields),
      instance: { id: existing.id, removed: false },
      async run(context) {
        const updated: Instance = { ...existing, parameters, updatedAt: context.time }
        await context.tx.updateInstance(updated)
        await audit(
          context,
          'instance.update',
          `instance:${existing.name}`,
          instanceView(existing),
          instanceView(updated),
        )
      },
    })
  }
  if (prune) {
    for (const instance of current.instances) {
      if (wantedInstances.has(instance.name) || instance.plan === 'api') continue
      instanceDeletes.push({
        change: change('delete', 'instance', instance.name),
        instance: { id: instance.id, removed: true },
        async run(context) {
          const keys = await context.tx.listServiceKeys(instance.id)
          await context.tx.deleteInstance(instance.id)
          await audit(context, 'instance.delete', `instance:${instance.name}`, {
            ...instanceView(instance),
            serviceKeys: keys.map((key) => ({ name: key.name, clientId: key.clientId })),
          })
        },
      })
    }
  }

  // Dependencies first on the way in, dependants first on the way out.
  return {
    steps: [
      ...roleCreates,
      ...connectionWrites,
      ...flowDeletes,
      ...flowWrites,
      ...instanceDeletes,
      ...instanceWrites,
      ...connectionDeletes,
      ...roleDeletes,
    ],
    unchanged,
  }
}

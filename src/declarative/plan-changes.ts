import type { FlowgateConfig } from '../config/schema.ts'
import { type ConnectionDefinition, validateConnectionInput } from '../flows/connection-input.ts'
import { validateFlowInput } from '../flows/flow-input.ts'
import type { FlowService } from '../flows/flow-service.ts'
import type { Actor, StoreUnit } from '../identity/actor.ts'
import type { IdentityService } from '../identity/identity-service.ts'
import { parseInstanceParameters, toSapInstanceParameters } from '../identity/instance-parameters.ts'
import { checkNewRoleName } from '../identity/names.ts'
import { FlowgateError } from '../lib/errors.ts'
import type { ConnectionInput } from '../model/connection.ts'
import type { FlowDefinition, RequestHeaderPolicy } from '../model/flow.ts'
import type {
  Flow,
  Instance,
  InstanceParameters,
  Role,
  StoreOperations,
  UpstreamConnection,
} from '../store/types.ts'
import { sameSecret, sameSet, sameValue } from './canonical.ts'
import type { ObjectKind, PlannedChange, ResolvedDocument } from './document.ts'

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

/** The services that write each entity: apply calls the same operations as the admin API. */
export interface Writers {
  readonly identity: Pick<
    IdentityService,
    'createRole' | 'deleteRole' | 'createInstance' | 'updateInstance' | 'deleteInstance'
  >
  readonly flows: Pick<
    FlowService,
    'createFlow' | 'updateFlow' | 'deleteFlow' | 'createConnection' | 'updateConnection' | 'deleteConnection'
  >
}

export interface WriteContext extends Writers {
  /** The one transaction of the whole apply. */
  readonly unit: StoreUnit
  readonly actor: Actor
}

/** An instance an apply created, changed or removed, for the caller's caches. */
export interface AppliedInstance {
  readonly id: string
  readonly removed: boolean
}

/** One change and the service operation that makes it, run inside the caller's transaction. */
export interface PlannedStep {
  readonly change: PlannedChange
  run(context: WriteContext): Promise<AppliedInstance | undefined>
}

export interface PlanOptions {
  readonly config: FlowgateConfig
  readonly prune: boolean
  /** Opens the stored secret of the named upstream connection, to tell whether the document changes it. */
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

const change = (action: PlannedChange['action'], kind: ObjectKind, name: string, fields: string[] = []) => ({
  action,
  kind,
  name,
  fields,
})

/** With `prune`: the deletion of every current object that is not kept. */
function pruned<T>(
  prune: boolean,
  current: readonly T[],
  kept: (item: T) => boolean,
  deletion: (item: T) => PlannedStep,
): PlannedStep[] {
  return prune ? current.filter((item) => !kept(item)).map(deletion) : []
}

/** A step whose operation leaves no instance for the caller's caches to refresh. */
function step(
  action: PlannedChange['action'],
  kind: ObjectKind,
  name: string,
  fields: string[],
  operation: (context: WriteContext) => Promise<unknown>,
): PlannedStep {
  return {
    change: change(action, kind, name, fields),
    async run(context) {
      await operation(context)
      return undefined
    },
  }
}

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
function checkKeptConnection(entry: ConnectionInput, current: UpstreamConnection | undefined): void {
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

/** The allow-list is a set: its order is not a change. */
function sameRequestHeaders(wanted: RequestHeaderPolicy, stored: RequestHeaderPolicy): boolean {
  if (wanted.mode === 'allow-list' && stored.mode === 'allow-list')
    return sameSet(wanted.allow ?? [], stored.allow ?? [])
  return wanted.mode === stored.mode
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
  if (!sameRequestHeaders(definition.requestHeaders, current.requestHeaders)) fields.push('requestHeaders')
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
  const { config, prune, open } = options
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
  const connectionWrites: PlannedStep[] = []
  const flowWrites: PlannedStep[] = []
  const instanceWrites: PlannedStep[] = []
  let unchanged = 0

  // Roles: created when missing. A description is set at creation (roles have nothing to update).
  for (const entry of wantedRoles.values()) {
    checkNewRoleName(entry.name)
    if (currentRoles.has(entry.name)) {
      unchanged++
      continue
    }
    roleCreates.push(
      step('create', 'role', entry.name, [], ({ identity, unit, actor }) =>
        identity.createRole(entry.name, entry.description ?? null, actor, unit),
      ),
    )
  }
  const roleDeletes = pruned(
    prune,
    current.roles,
    (role) => role.builtIn || wantedRoles.has(role.name),
    (role) =>
      step('delete', 'role', role.name, [], ({ identity, unit, actor }) =>
        identity.deleteRole(role.name, actor, unit),
      ),
  )
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
    if (existing === undefined) {
      connectionWrites.push(
        step('create', 'connection', entry.name, [], ({ flows, unit, actor }) =>
          flows.createConnection(entry, actor, unit),
        ),
      )
      continue
    }
    const fields = connectionChanges(definition, existing, open)
    if (fields.length === 0) {
      unchanged++
      continue
    }
    const { name, ...replacement } = entry
    connectionWrites.push(
      step('update', 'connection', name, fields, ({ flows, unit, actor }) =>
        flows.updateConnection(name, replacement, actor, unit),
      ),
    )
  }
  const connectionDeletes = pruned(
    prune,
    current.connections,
    (connection) => wantedConnections.has(connection.name),
    (connection) =>
      step('delete', 'connection', connection.name, [], ({ flows, unit, actor }) =>
        flows.deleteConnection(connection.name, actor, unit),
      ),
  )
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
      flowWrites.push(
        step('create', 'flow', definition.address, [], ({ flows, unit, actor }) =>
          flows.createFlow(definition, actor, unit),
        ),
      )
      continue
    }
    const fields = flowChanges(definition, existing)
    if (fields.length === 0) {
      unchanged++
      continue
    }
    flowWrites.push(
      step('update', 'flow', definition.address, fields, ({ flows, unit, actor }) =>
        flows.updateFlow(existing.id, definition, actor, unit),
      ),
    )
  }
  const flowDeletes = pruned(
    prune,
    current.flows,
    (flow) => wantedFlows.has(flow.address),
    (flow) =>
      step('delete', 'flow', flow.address, [], ({ flows, unit, actor }) =>
        flows.deleteFlow(flow.id, actor, unit),
      ),
  )

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
      instanceWrites.push({
        change: change('create', 'instance', entry.name),
        async run({ identity, unit, actor }) {
          const created = await identity.createInstance(entry.name, plan, entry.parameters, actor, unit)
          return { id: created.id, removed: false }
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
      async run({ identity, unit, actor }) {
        // Every key given, so none keeps its current value.
        await identity.updateInstance(entry.name, toSapInstanceParameters(parameters), actor, unit)
        return { id: existing.id, removed: false }
      },
    })
  }
  const instanceDeletes = pruned(
    prune,
    current.instances,
    (instance) => wantedInstances.has(instance.name) || instance.plan === 'api',
    (instance): PlannedStep => ({
      change: change('delete', 'instance', instance.name),
      async run({ identity, unit, actor }) {
        await identity.deleteInstance(instance.name, actor, unit)
        return { id: instance.id, removed: true }
      },
    }),
  )

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

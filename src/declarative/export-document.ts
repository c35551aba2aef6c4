import { toSapInstanceParameters } from '../identity/instance-parameters.ts'
import type { FlowInput } from '../model/flow.ts'
import type { InstanceInput } from '../model/instance.ts'
import type { RoleInput } from '../model/role.ts'
import type { StoreOperations } from '../store/types.ts'
import type { ExportedConnection, ExportedDocument } from './declarative-service.ts'
import { readCurrentState } from './plan-changes.ts'

const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)

/**
 * The current state as a declarative document, every value explicit (defaults included) so the
 * file still means the same after a default changes. Connections carry no secret: applying the
 * document keeps the stored ones. Built-in roles are not listed (they always exist).
 */
export async function exportDocument(ops: StoreOperations): Promise<ExportedDocument> {
  const state = await readCurrentState(ops)
  const roles: RoleInput[] = state.roles
    .filter((role) => !role.builtIn)
    .sort(byName)
    .map((role) =>
      role.description === null ? { name: role.name } : { name: role.name, description: role.description },
    )
  const connections: ExportedConnection[] = [...state.connections]
    .sort(byName)
    .map((connection) =>
      connection.type === 'basic'
        ? { name: connection.name, type: connection.type, username: String(connection.settings.username) }
        : { name: connection.name, type: connection.type },
    )
  const flows: FlowInput[] = [...state.flows]
    .sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0))
    .map((flow) => ({
      address: flow.address,
      upstream: flow.upstream,
      role: flow.role,
      methods: [...flow.methods],
      csrf: flow.csrf,
      maxBodyBytes: flow.maxBodyBytes,
      timeoutMs: flow.timeoutMs,
      connection: flow.connection,
      requestHeaders: flow.requestHeaders,
    }))
  const instances: InstanceInput[] = [...state.instances].sort(byName).map((instance) => ({
    name: instance.name,
    plan: instance.plan,
    parameters: { ...toSapInstanceParameters(instance.parameters) },
  }))
  return { roles, connections, flows, instances }
}

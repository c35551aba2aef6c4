import type { ConnectionView as StoredConnectionView } from '../flows/flow-service.ts'
import type { ServiceKeySummary } from '../identity/identity-service.ts'
import { toSapInstanceParameters } from '../identity/instance-parameters.ts'
import type { ConnectionView } from '../model/connection.ts'
import type { FlowView } from '../model/flow.ts'
import type { InstanceView } from '../model/instance.ts'
import type { RoleView } from '../model/role.ts'
import type { AccessRecord, AuditEvent, Flow, Instance, Role, SigningKey } from '../store/types.ts'

/**
 * The admin API's representations: times as ISO 8601, never a secret or a hash of one. The
 * entities' views are typed by their schemas (src/model), so a view and its schema cannot drift.
 */

const iso = (time: number): string => new Date(time).toISOString()
const isoOrNull = (time: number | null): string | null => (time === null ? null : iso(time))

export function roleView(role: Role): RoleView {
  return {
    name: role.name,
    description: role.description,
    builtIn: role.builtIn,
    createdAt: iso(role.createdAt),
  }
}

export function instanceView(instance: Instance): InstanceView {
  return {
    id: instance.id,
    name: instance.name,
    plan: instance.plan,
    parameters: toSapInstanceParameters(instance.parameters),
    createdAt: iso(instance.createdAt),
    updatedAt: iso(instance.updatedAt),
  }
}

export function serviceKeyView(key: ServiceKeySummary) {
  return {
    name: key.name,
    instance: key.instanceName,
    clientId: key.clientId,
    keyType: key.keyType,
    secretPrefix: key.secretPrefix,
    rotation:
      key.rotation === null
        ? null
        : {
            previousSecretPrefix: key.rotation.previousSecretPrefix,
            validUntil: iso(key.rotation.validUntil),
          },
    expiresAt: isoOrNull(key.expiresAt),
    expired: key.expired,
    createdAt: iso(key.createdAt),
  }
}

export function flowView(flow: Flow): FlowView {
  return {
    ...flow,
    methods: [...flow.methods],
    requestHeaders:
      flow.requestHeaders.allow === undefined
        ? { mode: flow.requestHeaders.mode }
        : { mode: flow.requestHeaders.mode, allow: [...flow.requestHeaders.allow] },
    createdAt: iso(flow.createdAt),
    updatedAt: iso(flow.updatedAt),
  }
}

export function connectionView(connection: StoredConnectionView): ConnectionView {
  return { ...connection, createdAt: iso(connection.createdAt), updatedAt: iso(connection.updatedAt) }
}

export function accessRecordView(record: AccessRecord) {
  return { ...record, time: iso(record.time) }
}

export function auditEventView(event: AuditEvent) {
  return { ...event, time: iso(event.time) }
}

export function signingKeyView(key: SigningKey) {
  return {
    kid: key.kid,
    alg: key.alg,
    state: key.state,
    createdAt: iso(key.createdAt),
    activatedAt: isoOrNull(key.activatedAt),
    retiredAt: isoOrNull(key.retiredAt),
    publishUntil: isoOrNull(key.publishUntil),
  }
}

import type { RequestHeaderPolicy } from '../model/flow.ts'
import type {
  AuditEventsTable,
  ConnectionsTable,
  FlowsTable,
  InstancesTable,
  RevokedTokensTable,
  RolesTable,
  ServiceKeysTable,
  SigningKeysTable,
} from './database.ts'
import type {
  AuditEvent,
  ConnectionType,
  Flow,
  Instance,
  InstanceParameters,
  KeyType,
  Plan,
  RevokedToken,
  Role,
  ServiceKey,
  SigningAlgorithm,
  SigningKey,
  SigningKeyState,
  UpstreamConnection,
} from './types.ts'

/** Row ↔ entity mapping, the same for both dialects. Column values are trusted: only the store writes them. */

export function roleFromRow(row: RolesTable): Role {
  return {
    name: row.name,
    description: row.description,
    builtIn: Boolean(row.built_in),
    createdAt: row.created_at,
  }
}

export function instanceFromRow(row: InstancesTable): Instance {
  return {
    id: row.id,
    name: row.name,
    plan: row.plan as Plan,
    parameters: JSON.parse(row.parameters) as InstanceParameters,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

export function instanceToRow(instance: Instance): InstancesTable {
  return {
    id: instance.id,
    name: instance.name,
    plan: instance.plan,
    parameters: JSON.stringify({
      roles: instance.parameters.roles,
      grantTypes: instance.parameters.grantTypes,
      tokenValidity: instance.parameters.tokenValidity,
    }),
    created_at: instance.createdAt,
    updated_at: instance.updatedAt,
  }
}

export function serviceKeyFromRow(row: ServiceKeysTable): ServiceKey {
  return {
    id: row.id,
    instanceId: row.instance_id,
    name: row.name,
    clientId: row.client_id,
    keyType: row.key_type as KeyType,
    secretHash: row.secret_hash,
    secretPrefix: row.secret_prefix,
    previousSecretHash: row.previous_secret_hash,
    previousSecretPrefix: row.previous_secret_prefix,
    previousSecretValidUntil: row.previous_secret_valid_until,
    certificatePem: row.certificate_pem,
    certificateFingerprint: row.certificate_fingerprint,
    expiresAt: row.expires_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

export function serviceKeyToRow(key: ServiceKey): ServiceKeysTable {
  return {
    id: key.id,
    instance_id: key.instanceId,
    name: key.name,
    client_id: key.clientId,
    key_type: key.keyType,
    secret_hash: key.secretHash,
    secret_prefix: key.secretPrefix,
    previous_secret_hash: key.previousSecretHash,
    previous_secret_prefix: key.previousSecretPrefix,
    previous_secret_valid_until: key.previousSecretValidUntil,
    certificate_pem: key.certificatePem,
    certificate_fingerprint: key.certificateFingerprint,
    expires_at: key.expiresAt,
    created_at: key.createdAt,
    updated_at: key.updatedAt,
  }
}

export function signingKeyFromRow(row: SigningKeysTable): SigningKey {
  return {
    kid: row.kid,
    alg: row.alg as SigningAlgorithm,
    state: row.state as SigningKeyState,
    publicJwk: JSON.parse(row.public_jwk) as Record<string, unknown>,
    privateKeyEncrypted: row.private_key_encrypted,
    createdAt: row.created_at,
    activatedAt: row.activated_at,
    retiredAt: row.retired_at,
    publishUntil: row.publish_until,
  }
}

export function signingKeyToRow(key: SigningKey): SigningKeysTable {
  return {
    kid: key.kid,
    alg: key.alg,
    state: key.state,
    public_jwk: JSON.stringify(key.publicJwk),
    private_key_encrypted: key.privateKeyEncrypted,
    created_at: key.createdAt,
    activated_at: key.activatedAt,
    retired_at: key.retiredAt,
    publish_until: key.publishUntil,
  }
}

export function revokedTokenFromRow(row: RevokedTokensTable): RevokedToken {
  return { jti: row.jti, clientId: row.client_id, expiresAt: row.expires_at, revokedAt: row.revoked_at }
}

export function flowFromRow(row: FlowsTable): Flow {
  return {
    id: row.id,
    address: row.address,
    upstream: row.upstream,
    role: row.role,
    methods: JSON.parse(row.methods) as string[],
    csrf: Boolean(row.csrf),
    maxBodyBytes: row.max_body_bytes,
    timeoutMs: row.timeout_ms,
    connection: row.connection,
    requestHeaders: JSON.parse(row.request_headers) as RequestHeaderPolicy,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

export function flowToRow(flow: Flow, boolean: (value: boolean) => boolean | number): FlowsTable {
  return {
    id: flow.id,
    address: flow.address,
    upstream: flow.upstream,
    role: flow.role,
    methods: JSON.stringify(flow.methods),
    csrf: boolean(flow.csrf),
    max_body_bytes: flow.maxBodyBytes,
    timeout_ms: flow.timeoutMs,
    connection: flow.connection,
    request_headers: JSON.stringify(flow.requestHeaders),
    created_at: flow.createdAt,
    updated_at: flow.updatedAt,
  }
}

export function connectionFromRow(row: ConnectionsTable): UpstreamConnection {
  return {
    name: row.name,
    type: row.type as ConnectionType,
    settings: JSON.parse(row.settings) as Record<string, unknown>,
    secretEncrypted: row.secret_encrypted,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

export function connectionToRow(connection: UpstreamConnection): ConnectionsTable {
  return {
    name: connection.name,
    type: connection.type,
    settings: JSON.stringify(connection.settings),
    secret_encrypted: connection.secretEncrypted,
    created_at: connection.createdAt,
    updated_at: connection.updatedAt,
  }
}

/** An absent before/after value is a NULL column; a present one (even `null`) is JSON text. */
export function auditEventFromRow(row: AuditEventsTable): AuditEvent {
  const event: {
    -readonly [K in keyof AuditEvent]: AuditEvent[K]
  } = {
    seq: row.seq,
    time: row.time,
    actor: row.actor,
    sourceAddress: row.source_address,
    action: row.action,
    target: row.target,
    prevHash: row.prev_hash,
    hash: row.hash,
  }
  if (row.before_value !== null) event.before = JSON.parse(row.before_value)
  if (row.after_value !== null) event.after = JSON.parse(row.after_value)
  return event
}

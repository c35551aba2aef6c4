import type { Generated } from 'kysely'

/**
 * Row shapes as both dialects return them (after the PostgreSQL int8 parser of
 * src/store/postgres/postgres-database.ts). JSON values are stored as text, booleans as 0/1 on SQLite
 * and `boolean` on PostgreSQL, times as BIGINT epoch milliseconds.
 */
export type DbBoolean = boolean | number

export interface RolesTable {
  name: string
  description: string | null
  built_in: DbBoolean
  created_at: number
}

export interface InstancesTable {
  id: string
  name: string
  plan: string
  parameters: string
  created_at: number
  updated_at: number
}

export interface ServiceKeysTable {
  id: string
  instance_id: string
  name: string
  client_id: string
  key_type: string
  secret_hash: string | null
  secret_prefix: string | null
  previous_secret_hash: string | null
  previous_secret_prefix: string | null
  previous_secret_valid_until: number | null
  certificate_pem: string | null
  certificate_fingerprint: string | null
  expires_at: number | null
  created_at: number
  updated_at: number
}

export interface KeyNumbersTable {
  name: string
  value: number
}

export interface SigningKeysTable {
  kid: string
  alg: string
  state: string
  public_jwk: string
  private_key_encrypted: string
  created_at: number
  activated_at: number | null
  retired_at: number | null
  publish_until: number | null
}

export interface RevokedTokensTable {
  jti: string
  client_id: string
  expires_at: number
  revoked_at: number
}

export interface FlowsTable {
  id: string
  address: string
  upstream: string
  role: string
  methods: string
  csrf: DbBoolean
  max_body_bytes: number
  timeout_ms: number
  connection: string | null
  /** The flow's `RequestHeaderPolicy` as JSON. */
  request_headers: string
  created_at: number
  updated_at: number
}

export interface ConnectionsTable {
  name: string
  type: string
  settings: string
  secret_encrypted: string | null
  created_at: number
  updated_at: number
}

export interface AuditEventsTable {
  seq: number
  time: number
  actor: string
  source_address: string | null
  action: string
  target: string
  /** JSON text; NULL when the event has no before/after value. */
  before_value: string | null
  after_value: string | null
  prev_hash: string
  hash: string
}

export interface ChangesTable {
  seq: Generated<number>
  kind: string
  entity_id: string
  time: number
}

/** One row per runtime call (docs/store.md, *Access records*). */
export interface AccessRecordsTable {
  id: Generated<number>
  time: number
  correlation_id: string
  client_id: string | null
  instance_id: string | null
  flow: string | null
  method: string
  path: string
  status: number
  upstream_status: number | null
  bytes_in: number
  bytes_out: number
  duration_ms: number
  upstream_duration_ms: number | null
  reason: string | null
  source_address: string | null
  mpl_id: string | null
}

export interface Database {
  roles: RolesTable
  instances: InstancesTable
  service_keys: ServiceKeysTable
  key_numbers: KeyNumbersTable
  signing_keys: SigningKeysTable
  revoked_tokens: RevokedTokensTable
  flows: FlowsTable
  connections: ConnectionsTable
  audit_events: AuditEventsTable
  changes: ChangesTable
  access_records: AccessRecordsTable
}

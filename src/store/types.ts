/**
 * The store: Flowgate's only persistent state, behind one interface with two implementations of
 * identical behaviour (embedded SQLite, the default, and PostgreSQL). Times are epoch milliseconds.
 *
 * Every mutating operation also appends a row to the change log (`changes`), in the same
 * transaction, so that every node sharing the database can learn what changed by polling
 * `changesSince` (see src/store/change-feed.ts) and refresh only what is affected. Change sequence
 * numbers become visible in commit order: writers are serialised by a write lock (SQLite's
 * `BEGIN IMMEDIATE`, a transaction-level advisory lock on PostgreSQL), so a poller never skips one.
 */

import type { ConnectionType } from '../model/connection.ts'
import type { FlowDefinition } from '../model/flow.ts'
import type { Plan } from '../model/instance.ts'
import type { KeyType } from '../model/service-key.ts'
import type { AccessRecordOperations } from './entities/access-records.ts'
import type { AuditOperations } from './entities/audit.ts'
import type { ChangeOperations } from './entities/changes.ts'
import type { FlowOperations } from './entities/flows.ts'
import type { InstanceOperations } from './entities/instances.ts'
import type { RoleOperations } from './entities/roles.ts'
import type { SigningKeyOperations } from './entities/signing-keys.ts'
import type { StoreHealthState } from './store-health.ts'

// The entities' shapes come from their schemas (src/model).
export type { ConnectionType, KeyType, Plan }
export type SigningAlgorithm = 'RS256' | 'ES256' | 'EdDSA'
export type SigningKeyState = 'next' | 'active' | 'retired'

export interface Role {
  readonly name: string
  readonly description: string | null
  readonly builtIn: boolean
  readonly createdAt: number
}

/** SAP's instance parameters, normalised (the JSON keys are `roles`, `grant-types`, `token-validity`). */
export interface InstanceParameters {
  readonly roles: readonly string[]
  readonly grantTypes: readonly 'client_credentials'[]
  /** Access-token lifetime in seconds. */
  readonly tokenValidity: number
}

export interface Instance {
  readonly id: string
  readonly name: string
  readonly plan: Plan
  readonly parameters: InstanceParameters
  readonly createdAt: number
  readonly updatedAt: number
}

export interface ServiceKey {
  readonly id: string
  readonly instanceId: string
  /** Unique within its instance. */
  readonly name: string
  /** Globally unique, e.g. `sb-<instance-uuid>!b<N>|it-rt-<gateway>!b1`. */
  readonly clientId: string
  readonly keyType: KeyType
  /** HMAC-SHA-256 (server-side pepper) of the current secret, hex; null for certificate keys. */
  readonly secretHash: string | null
  /** First characters of the secret, not enough to guess it, to tell keys apart in listings. */
  readonly secretPrefix: string | null
  /** During rotation: the previous secret's hash, valid until `previousSecretValidUntil`. */
  readonly previousSecretHash: string | null
  readonly previousSecretPrefix: string | null
  readonly previousSecretValidUntil: number | null
  /** Certificate keys: PEM of the client certificate, and its SHA-256 fingerprint (hex, lower case). */
  readonly certificatePem: string | null
  readonly certificateFingerprint: string | null
  /** null: never expires. */
  readonly expiresAt: number | null
  readonly createdAt: number
  readonly updatedAt: number
}

export interface SigningKey {
  readonly kid: string
  readonly alg: SigningAlgorithm
  readonly state: SigningKeyState
  /** Public JWK (with kid, alg, use). */
  readonly publicJwk: Readonly<Record<string, unknown>>
  /** Private key, PKCS#8 PEM encrypted with the master key (see src/secrets). */
  readonly privateKeyEncrypted: string
  readonly createdAt: number
  readonly activatedAt: number | null
  readonly retiredAt: number | null
  /** Retired keys stay published until this time (the last token they signed has expired). */
  readonly publishUntil: number | null
}

export interface RevokedToken {
  readonly jti: string
  readonly clientId: string
  /** The token's own `exp` (ms): after it the entry can be pruned. */
  readonly expiresAt: number
  readonly revokedAt: number
}

/** A flow as stored: its validated definition (src/model/flow.ts), an id and its times. */
export interface Flow extends FlowDefinition {
  readonly id: string
  readonly createdAt: number
  readonly updatedAt: number
}

export interface UpstreamConnection {
  readonly name: string
  readonly type: ConnectionType
  /** Non-secret settings (user name, token URL, client id, CA PEM, ...). */
  readonly settings: Readonly<Record<string, unknown>>
  /** Secret settings (password, client secret, private key), encrypted with the master key. */
  readonly secretEncrypted: string | null
  readonly createdAt: number
  readonly updatedAt: number
}

export interface AccessRecord {
  readonly time: number
  readonly correlationId: string
  readonly clientId: string | null
  readonly instanceId: string | null
  readonly flow: string | null
  readonly method: string
  /** Path without query values. */
  readonly path: string
  readonly status: number
  readonly upstreamStatus: number | null
  readonly bytesIn: number
  readonly bytesOut: number
  readonly durationMs: number
  readonly upstreamDurationMs: number | null
  /** Error code of a rejection (an ErrorCode), null when forwarded normally. */
  readonly reason: string | null
  readonly sourceAddress: string | null
  /** CPI's `SAP_MessageProcessingLogID` from the upstream's answer, to find the call in CPI's monitor. */
  readonly mplId: string | null
}

export interface AuditEventInput {
  /** Client id of an admin, `system`, `cli`, or the client id a security event is about. */
  readonly actor: string
  readonly sourceAddress: string | null
  /** Dotted verb, e.g. `instance.create`, `key.delete`, `token.revoke`, `token.failures`. */
  readonly action: string
  /** What was acted on, e.g. `instance:<name>`, `key:<instance>/<key>`. */
  readonly target: string
  /** Before/after values with every secret removed. */
  readonly before?: unknown
  readonly after?: unknown
}

export interface AuditEvent extends AuditEventInput {
  readonly seq: number
  readonly time: number
  /** Hex SHA-256 of the previous event (64 zeros for the first). */
  readonly prevHash: string
  /** Hex SHA-256 over prevHash and the canonical encoding of this event. */
  readonly hash: string
}

export type ChangeKind =
  | 'role'
  | 'instance'
  | 'service-key'
  | 'signing-key'
  | 'revoked-token'
  | 'flow'
  | 'connection'
  /**
   * Never stored: the change feed delivers it alone when the change log no longer holds rows this
   * node has not seen (they were pruned): every listener reloads all it keeps.
   */
  | 'reload'

export interface Change {
  readonly seq: number
  readonly kind: ChangeKind
  /** The changed entity's id (name for roles and connections, kid for signing keys, jti for tokens). */
  readonly entityId: string
  readonly time: number
}

export interface Page<T> {
  readonly items: readonly T[]
  /** Opaque cursor for the next page, null on the last page. */
  readonly next: string | null
}

/** Time ranges are half-open: `from` inclusive, `to` exclusive. `limit`: 1..1000, default 100. */
export interface AccessRecordQuery {
  readonly from?: number
  readonly to?: number
  readonly clientId?: string
  readonly flow?: string
  readonly status?: number
  readonly limit?: number
  readonly cursor?: string | null
}

/** Time ranges are half-open: `from` inclusive, `to` exclusive. `limit`: 1..1000, default 100. */
export interface AuditQuery {
  readonly from?: number
  readonly to?: number
  readonly actor?: string
  readonly action?: string
  /** Events with seq greater than this. */
  readonly afterSeq?: number
  readonly limit?: number
  readonly cursor?: string | null
}

/**
 * Operations available both on the store and inside a transaction: one small interface per entity
 * (src/store/entities/), each implemented once over both databases.
 */
export interface StoreOperations
  extends RoleOperations,
    InstanceOperations,
    SigningKeyOperations,
    FlowOperations,
    AuditOperations {}

export interface Store extends StoreOperations, ChangeOperations, AccessRecordOperations {
  readonly dialect: 'sqlite' | 'postgres'
  /** Applies pending migrations under a lock (advisory lock on PostgreSQL). Idempotent. */
  migrate(): Promise<void>
  /** True when every known migration is applied. */
  isMigrated(): Promise<boolean>
  /** Fails with ERR_STORE_UNAVAILABLE when the database cannot be reached. */
  ping(): Promise<void>
  /**
   * `ok`, or why changes are refused now: `full` from a write refused for space (ERR_STORE_FULL)
   * until a write commits, `unavailable` from a failure to reach the database until an operation
   * succeeds. While degraded each call probes (concurrent calls share one probe); never rejects.
   */
  health(): Promise<StoreHealthState>
  /**
   * All writes inside `fn`, and their change-log rows and audit events, commit together or not at
   * all. Inside `fn`, use only `tx`: calling the store itself fails with ERR_INTERNAL (it would hang
   * on SQLite's single connection and deadlock on PostgreSQL's write lock).
   */
  transaction<T>(fn: (tx: StoreOperations) => Promise<T>): Promise<T>

  close(): Promise<void>
}

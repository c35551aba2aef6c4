import type { ConnectionType, Plan } from '../store/types.ts'

/** TypeScript forms of the schemas in document-schema.ts. */

export interface RoleEntry {
  readonly name: string
  readonly description?: string
}

export interface FlowEntry {
  readonly address: string
  readonly upstream: string
  readonly role?: string
  readonly methods?: readonly string[]
  readonly csrf?: boolean
  readonly maxBodyBytes?: number
  readonly timeoutMs?: number
  readonly connection?: string | null
}

export interface InstanceEntry {
  readonly name: string
  readonly plan?: Plan
  /** SAP's JSON: `roles`, `grant-types`, `token-validity`. */
  readonly parameters?: Readonly<Record<string, unknown>>
}

export interface SecretSource {
  readonly env?: string
  readonly file?: string
}

export interface FileConnectionEntry {
  readonly name: string
  readonly type: ConnectionType
  readonly username?: string
  readonly passwordFrom?: SecretSource
  readonly serviceKeyFrom?: SecretSource
  readonly certificateFrom?: SecretSource
  readonly keyFrom?: SecretSource
  readonly caFrom?: SecretSource
}

/** A connection with its references read: the ConnectionInput of src/flows, name included. */
export interface ResolvedConnectionEntry {
  readonly name: string
  readonly type: ConnectionType
  readonly username?: string
  readonly password?: string
  readonly serviceKey?: string
  readonly certificate?: string
  readonly key?: string
  readonly ca?: string
}

export interface DeclarativeDocument<Connection> {
  readonly roles?: readonly RoleEntry[]
  readonly connections?: readonly Connection[]
  readonly flows?: readonly FlowEntry[]
  readonly instances?: readonly InstanceEntry[]
}

export type FileDocument = DeclarativeDocument<FileConnectionEntry>
export type ResolvedDocument = DeclarativeDocument<ResolvedConnectionEntry>

export type ObjectKind = 'role' | 'connection' | 'flow' | 'instance'

export interface PlannedChange {
  readonly action: 'create' | 'update' | 'delete'
  readonly kind: ObjectKind
  /** Role, connection or instance name; flow address. */
  readonly name: string
  /** Names of the fields an update changes (never values). */
  readonly fields: readonly string[]
}

export interface ChangePlan {
  readonly changes: readonly PlannedChange[]
  readonly unchanged: number
  /** False for a plan or a dry run. */
  readonly applied: boolean
}

import type { ConnectionInput } from '../model/connection.ts'
import type { FlowInput } from '../model/flow.ts'
import type { InstanceInput } from '../model/instance.ts'
import type { RoleInput } from '../model/role.ts'
import type { FileConnectionEntry } from './document-schema.ts'

/**
 * TypeScript forms of the schemas in document-schema.ts: roles, flows and instances are the
 * entities' inputs (src/model), connections differ between the file and the resolved document.
 */

export interface DeclarativeDocument<Connection> {
  readonly roles?: readonly RoleInput[]
  readonly connections?: readonly Connection[]
  readonly flows?: readonly FlowInput[]
  readonly instances?: readonly InstanceInput[]
}

export type FileDocument = DeclarativeDocument<FileConnectionEntry>
export type ResolvedDocument = DeclarativeDocument<ConnectionInput>

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

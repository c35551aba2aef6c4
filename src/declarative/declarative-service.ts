import type { FlowgateConfig } from '../config/schema.ts'
import type { Actor } from '../identity/actor.ts'
import { inUnitOfWork } from '../lib/unit-of-work.ts'
import { connectionSecretPlace, type SecretBox } from '../secrets/master-key.ts'
import type { Store, StoreOperations } from '../store/types.ts'
import type { ChangePlan, DeclarativeDocument, ResolvedDocument } from './document.ts'
import { exportDocument } from './export-document.ts'
import {
  type AppliedInstance,
  type Planned,
  type PlannedStep,
  planChanges,
  readCurrentState,
  type Writers,
} from './plan-changes.ts'

export interface DeclarativeServiceOptions extends Writers {
  readonly store: Store
  readonly config: FlowgateConfig
  /** Opens stored connection secrets to compare them with the document's. */
  readonly secretBox: SecretBox
  /**
   * Called after an apply has committed (and after the services' own post-commit updates), with
   * the instances it created, changed or removed.
   */
  readonly onApplied?: (instances: readonly AppliedInstance[]) => Promise<void> | void
  readonly now?: () => number
}

export interface ExportedConnection {
  readonly name: string
  readonly type: string
  readonly username?: string
}

export type ExportedDocument = DeclarativeDocument<ExportedConnection>

export interface DeclarativeService {
  /** What applying would change; nothing is written. */
  plan(document: ResolvedDocument, prune: boolean): Promise<ChangePlan>
  /** Applies every change and its audit event in one transaction: all of it or nothing. */
  apply(document: ResolvedDocument, prune: boolean, actor: Actor): Promise<ChangePlan>
  /** The current state in the document format, without secrets. */
  export(): Promise<ExportedDocument>
}

/**
 * Declarative configuration on top of the identity and flow services. Planning compares the
 * document with the current state and validates all of it before anything is written; applying
 * runs the services' own operations (the only code that writes roles, connections, flows and
 * instances, and their audit events) in one unit of work, reading the current state inside the
 * same transaction so a concurrent change cannot slip between the comparison and the writes.
 */
export function createDeclarativeService(options: DeclarativeServiceOptions): DeclarativeService {
  const { store, config, secretBox, onApplied, identity, flows } = options
  const now = options.now ?? Date.now
  const open = (sealed: string, connection: string) =>
    secretBox.open(sealed, connectionSecretPlace(connection))

  const summary = (steps: readonly PlannedStep[], unchanged: number, applied: boolean): ChangePlan => ({
    changes: steps.map((step) => step.change),
    unchanged,
    applied,
  })

  return {
    async plan(document, prune) {
      const planned = planChanges(document, await readCurrentState(store), { config, prune, open })
      return summary(planned.steps, planned.unchanged, false)
    },

    async apply(document, prune, actor) {
      const instances: AppliedInstance[] = []
      const planned = await inUnitOfWork<StoreOperations, Planned>(
        (fn) => store.transaction(fn),
        async (unit) => {
          instances.length = 0
          const { tx } = unit
          const result = planChanges(document, await readCurrentState(tx), { config, prune, open })
          if (result.steps.length === 0) return result
          for (const step of result.steps) {
            const instance = await step.run({ identity, flows, unit, actor })
            if (instance !== undefined) instances.push(instance)
          }
          await tx.appendAudit(
            {
              ...actor,
              action: 'configuration.apply',
              target: 'configuration',
              after: { prune, changes: result.steps.map((step) => step.change), unchanged: result.unchanged },
            },
            now(),
          )
          return result
        },
      )
      if (planned.steps.length > 0) await onApplied?.(instances)
      return summary(planned.steps, planned.unchanged, true)
    },

    export: () => exportDocument(store),
  }
}

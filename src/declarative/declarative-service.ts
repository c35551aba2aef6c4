import type { FlowgateConfig } from '../config/schema.ts'
import type { Actor } from '../identity/actor.ts'
import { connectionSecretPlace, type SecretBox } from '../secrets/master-key.ts'
import type { Store } from '../store/types.ts'
import type { ChangePlan, DeclarativeDocument, ResolvedDocument } from './document.ts'
import { exportDocument } from './export-document.ts'
import { type PlannedStep, planChanges, readCurrentState } from './plan-changes.ts'

export interface DeclarativeServiceOptions {
  readonly store: Store
  readonly config: FlowgateConfig
  readonly secretBox: SecretBox
  /**
   * Called after an apply has committed, with the instances it created, changed or removed, so this
   * node's caches see the change before the response is sent (other nodes: the change feed).
   */
  readonly onApplied?: (instances: readonly { id: string; removed: boolean }[]) => Promise<void> | void
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
 * Declarative configuration on top of the store. The flow and identity services each open their
 * own transaction per operation, so a whole document cannot go through them; this composition
 * reuses their validation functions and audit shapes and performs every write inside one
 * `store.transaction`, reading the current state inside it too so a concurrent change cannot slip
 * between the comparison and the writes.
 */
export function createDeclarativeService(options: DeclarativeServiceOptions): DeclarativeService {
  const { store, config, secretBox, onApplied } = options
  const now = options.now ?? Date.now
  const seal = (plaintext: string, connection: string) =>
    secretBox.seal(plaintext, connectionSecretPlace(connection))
  const open = (sealed: string, connection: string) =>
    secretBox.open(sealed, connectionSecretPlace(connection))

  const summary = (steps: readonly PlannedStep[], unchanged: number, applied: boolean): ChangePlan => ({
    changes: steps.map((step) => step.change),
    unchanged,
    applied,
  })

  return {
    async plan(document, prune) {
      const planned = planChanges(document, await readCurrentState(store), { config, prune, seal, open })
      return summary(planned.steps, planned.unchanged, false)
    },

    async apply(document, prune, actor) {
      const planned = await store.transaction(async (tx) => {
        const result = planChanges(document, await readCurrentState(tx), { config, prune, seal, open })
        if (result.steps.length === 0) return result
        const time = now()
        for (const step of result.steps) await step.run({ tx, time, actor })
        await tx.appendAudit(
          {
            ...actor,
            action: 'configuration.apply',
            target: 'configuration',
            after: { prune, changes: result.steps.map((step) => step.change), unchanged: result.unchanged },
          },
          time,
        )
        return result
      })
      const instances = planned.steps.flatMap((step) => (step.instance === undefined ? [] : [step.instance]))
      if (planned.steps.length > 0) await onApplied?.(instances)
      return summary(planned.steps, planned.unchanged, true)
    },

    export: () => exportDocument(store),
  }
}

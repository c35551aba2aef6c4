import { writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import type { ExportedDocument } from '../../declarative/declarative-service.ts'
import type { ChangePlan, PlannedChange } from '../../declarative/document.ts'
import { readDocumentFile } from '../../declarative/read-document.ts'
import { renderDocument } from '../../declarative/render-document.ts'
import { usageError } from '../cli-error.ts'
import type { CommandContext, CommandSpec } from '../command.ts'
import { writeJson } from '../output.ts'

const fileOption = {
  type: 'string',
  short: 'f',
  value: 'FILE',
  help: 'The declarative configuration (flowgate.yaml)',
} as const
const pruneOption = {
  type: 'boolean',
  help: 'Also delete what the file does not name (never built-in roles or plan api instances)',
} as const

const marks = { create: '+', update: '~', delete: '-' } as const

function describe(change: PlannedChange): string {
  const fields = change.fields.length === 0 ? '' : ` (${change.fields.join(', ')})`
  return `${marks[change.action]} ${change.action} ${change.kind} ${change.name}${fields}`
}

function formatPlan(plan: ChangePlan, mode: 'plan' | 'applied'): string {
  const count = (action: PlannedChange['action']) =>
    plan.changes.filter((change) => change.action === action).length
  const lines = plan.changes.map(describe)
  if (plan.changes.length === 0) lines.push(`No changes; ${plan.unchanged} objects already match.`)
  else {
    const verb = mode === 'applied' ? 'Applied' : 'Would apply'
    lines.push(
      `${verb}: ${count('create')} to create, ${count('update')} to update, ${count('delete')} to delete; ${plan.unchanged} unchanged.`,
    )
  }
  return `${lines.join('\n')}\n`
}

function documentOf(context: CommandContext) {
  const file = context.string('file')
  if (file === undefined) throw usageError('needs -f FILE (the flowgate.yaml to read)')
  return readDocumentFile(resolve(context.io.cwd, file), context.io.env)
}

function printPlan(context: CommandContext, plan: ChangePlan, mode: 'plan' | 'applied'): void {
  if (context.flag('json')) writeJson(context.io, plan)
  else context.io.stdout.write(formatPlan(plan, mode))
}

export const declarativeCommands: readonly CommandSpec[] = [
  {
    name: 'apply',
    summary: 'Make the gateway match a flowgate.yaml, in one transaction (all of it or nothing)',
    synopsis: '-f <file>',
    kind: 'admin',
    json: true,
    options: {
      file: fileOption,
      prune: pruneOption,
      'dry-run': { type: 'boolean', help: 'Only show what would change' },
    },
    description:
      'Connection secrets are read from the environment variables and files the YAML names (passwordFrom, serviceKeyFrom, keyFrom, …), never from the YAML itself.',
    async run(context) {
      const document = documentOf(context)
      const admin = await context.admin()
      const prune = context.flag('prune')
      if (context.flag('dry-run')) {
        printPlan(
          context,
          await admin.post<ChangePlan>('/admin/v1/configuration/plan', { document, prune }),
          'plan',
        )
        return 0
      }
      printPlan(
        context,
        await admin.post<ChangePlan>('/admin/v1/configuration/apply', { document, prune }),
        'applied',
      )
      return 0
    },
  },
  {
    name: 'diff',
    summary: 'Show what `flowgate apply` would change',
    synopsis: '-f <file>',
    kind: 'admin',
    json: true,
    options: { file: fileOption, prune: pruneOption },
    async run(context) {
      const document = documentOf(context)
      const plan = await (await context.admin()).post<ChangePlan>('/admin/v1/configuration/plan', {
        document,
        prune: context.flag('prune'),
      })
      printPlan(context, plan, 'plan')
      return 0
    },
  },
  {
    name: 'export',
    summary: 'Write the current roles, connections, flows and instances as flowgate.yaml (no secrets)',
    kind: 'admin',
    json: true,
    options: {
      output: { type: 'string', short: 'o', value: 'FILE', help: 'Write to FILE instead of stdout' },
    },
    async run(context) {
      const document = await (await context.admin()).get<ExportedDocument>('/admin/v1/configuration')
      const text = context.flag('json') ? `${JSON.stringify(document, null, 2)}\n` : renderDocument(document)
      const output = context.string('output')
      if (output === undefined) context.io.stdout.write(text)
      else {
        writeFileSync(resolve(context.io.cwd, output), text)
        context.io.stderr.write(`Wrote ${resolve(context.io.cwd, output)}.\n`)
      }
      return 0
    },
  },
]

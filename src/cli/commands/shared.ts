import type { CommandContext, CommandSpec } from '../command.ts'
import { formatFields, formatTable, writeJson } from '../output.ts'

export interface Listing<T> {
  readonly items: readonly T[]
}

/** A listing: JSON (the items) with --json, a table otherwise. */
export function printList<T>(
  context: CommandContext,
  items: readonly T[],
  headers: readonly string[],
  row: (item: T) => readonly string[],
): void {
  if (context.flag('json')) writeJson(context.io, items)
  else context.io.stdout.write(formatTable(headers, items.map(row)))
}

/** One object: JSON with --json, `key: value` lines otherwise. */
export function printObject(context: CommandContext, value: Readonly<Record<string, unknown>>): void {
  if (context.flag('json')) writeJson(context.io, value)
  else context.io.stdout.write(formatFields(value))
}

/** A confirmation on stdout, or the resulting object with --json. */
export function printDone(context: CommandContext, message: string, value?: unknown): void {
  if (context.flag('json') && value !== undefined) writeJson(context.io, value)
  else context.io.stdout.write(`${message}\n`)
}

export const segment = (value: string): string => encodeURIComponent(value)

export function arg(context: CommandContext, index: number): string {
  return context.args[index] as string
}

interface ObjectCommand {
  readonly name: string
  readonly summary: string
  /** Default `<name>`, one argument. */
  readonly synopsis?: string
  /** The object's admin API path, from the arguments. */
  readonly path: (context: CommandContext) => string
}

/** The synopsis and as many arguments as it names before its first option: `<instance> <key>` is two. */
const argumentsOf = (synopsis = '<name>') => {
  const words = synopsis.split(' ')
  const first = words.findIndex((word) => word.startsWith('-'))
  const count = first === -1 ? words.length : first
  return { synopsis, args: { min: count, max: count } }
}

/**
 * An admin command taking exactly the arguments its synopsis names; `--json` is offered unless
 * `json: false`.
 */
export function adminCommand(
  spec: Omit<CommandSpec, 'kind' | 'args' | 'synopsis'> & { readonly synopsis: string },
): CommandSpec {
  return { json: true, ...spec, ...argumentsOf(spec.synopsis), kind: 'admin' }
}

/** `<noun> list`: the collection as a table, or its items with --json. */
export function listCommand<Item>(
  spec: ObjectCommand & {
    readonly headers: readonly string[]
    readonly row: (item: Item) => readonly string[]
  },
): CommandSpec {
  return {
    name: spec.name,
    summary: spec.summary,
    ...(spec.synopsis === undefined ? {} : argumentsOf(spec.synopsis)),
    kind: 'admin',
    json: true,
    async run(context) {
      const { items } = await (await context.admin()).get<Listing<Item>>(spec.path(context))
      printList(context, items, spec.headers, spec.row)
      return 0
    },
  }
}

/** `<noun> show`: one object as `key: value` lines, or JSON with --json. */
export function showCommand(spec: ObjectCommand): CommandSpec {
  return {
    name: spec.name,
    summary: spec.summary,
    ...argumentsOf(spec.synopsis),
    kind: 'admin',
    json: true,
    async run(context) {
      printObject(context, { ...(await (await context.admin()).get<object>(spec.path(context))) })
      return 0
    },
  }
}

/** `<noun> delete`, confirmed with `done`. */
export function deleteCommand(
  spec: ObjectCommand & { readonly done: (context: CommandContext) => string },
): CommandSpec {
  return {
    name: spec.name,
    summary: spec.summary,
    ...argumentsOf(spec.synopsis),
    kind: 'admin',
    async run(context) {
      await (await context.admin()).delete(spec.path(context))
      printDone(context, spec.done(context))
      return 0
    },
  }
}

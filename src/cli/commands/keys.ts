import { writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { usageError } from '../cli-error.ts'
import type { CommandContext, CommandSpec } from '../command.ts'
import { cell } from '../output.ts'
import { readJsonParameter, readUserFile } from '../params.ts'
import {
  adminCommand,
  arg,
  deleteCommand,
  type Listing,
  listCommand,
  printDone,
  segment,
  showCommand,
} from './shared.ts'

interface KeyView {
  readonly name: string
  readonly instance: string
  readonly clientId: string
  readonly keyType: string
  readonly secretPrefix: string | null
  readonly rotation: { readonly previousSecretPrefix: string | null; readonly validUntil: string } | null
  readonly expiresAt: string | null
  readonly expired: boolean
  readonly createdAt: string
}

interface SigningKeyView {
  readonly kid: string
  readonly alg: string
  readonly state: string
  readonly createdAt: string
  readonly activatedAt: string | null
  readonly retiredAt: string | null
  readonly publishUntil: string | null
}

const keyPath = (context: CommandContext) =>
  `/admin/v1/instances/${segment(arg(context, 0))}/keys/${segment(arg(context, 1))}`

const outputOption = {
  type: 'string',
  short: 'o',
  value: 'FILE',
  help: 'Also write the service key to FILE (mode 0600)',
} as const

/** The service key is printed once, as SAP prints it; with -o it is also saved, readable only by its owner. */
function emitServiceKey(context: CommandContext, key: unknown): void {
  const text = `${JSON.stringify(key, null, 2)}\n`
  const output = context.string('output')
  if (output !== undefined) {
    const path = resolve(context.io.cwd, output)
    writeFileSync(path, text, { mode: 0o600, flag: 'w' })
    context.io.stderr.write(`Wrote the service key to ${path}; its secret is not shown again.\n`)
  }
  context.io.stdout.write(text)
}

export const keyCommands: readonly CommandSpec[] = [
  adminCommand({
    name: 'key create',
    summary: "Create a service key and print SAP's service key JSON (the only time the secret is shown)",
    synopsis: '<instance> <key>',
    json: false,
    options: {
      parameters: {
        type: 'string',
        short: 'c',
        value: 'JSON|@FILE',
        help: 'SAP key parameters, e.g. \'{"key-type":"clientsecret","validity":365}\'',
      },
      output: outputOption,
    },
    async run(context) {
      const parameters = readJsonParameter(context.string('parameters'), context.io.cwd)
      const key = await (await context.admin()).post(`/admin/v1/instances/${segment(arg(context, 0))}/keys`, {
        name: arg(context, 1),
        ...(parameters === undefined ? {} : { parameters }),
      })
      emitServiceKey(context, key)
      return 0
    },
  }),
  listCommand<KeyView>({
    name: 'key list',
    summary: "List an instance's service keys (never their secrets)",
    synopsis: '<instance>',
    path: (context) => `/admin/v1/instances/${segment(arg(context, 0))}/keys`,
    headers: ['name', 'client id', 'type', 'secret', 'expires', 'rotation until'],
    row: (key) => [
      key.name,
      key.clientId,
      key.keyType,
      key.secretPrefix === null ? '-' : `${key.secretPrefix}…`,
      key.expired ? `expired ${key.expiresAt}` : cell(key.expiresAt),
      cell(key.rotation?.validUntil),
    ],
  }),
  showCommand({
    name: 'key show',
    summary: 'Show a service key (never its secret)',
    synopsis: '<instance> <key>',
    path: keyPath,
  }),
  adminCommand({
    name: 'key rotate',
    summary: 'Give a key a new secret and print the key again; the old secret works for --overlap seconds',
    synopsis: '<instance> <key>',
    json: false,
    options: {
      overlap: {
        type: 'string',
        value: 'SECONDS',
        help: 'How long the previous secret stays valid (default 86400)',
      },
      output: outputOption,
    },
    async run(context) {
      const overlap = context.string('overlap')
      if (overlap !== undefined && !/^\d+$/.test(overlap))
        throw usageError('--overlap must be a whole number')
      const key = await (await context.admin()).post(
        `${keyPath(context)}/rotate`,
        overlap === undefined ? {} : { overlapSeconds: Number(overlap) },
      )
      emitServiceKey(context, key)
      return 0
    },
  }),
  adminCommand({
    name: 'key expire',
    summary: 'Expire a key now (or at --at); its tokens stop working then',
    synopsis: '<instance> <key>',
    options: {
      at: { type: 'string', value: 'TIME', help: 'ISO 8601 time, e.g. 2026-01-31T00:00:00Z (default now)' },
    },
    async run(context) {
      const at = context.string('at')
      if (at !== undefined && Number.isNaN(Date.parse(at))) throw usageError('--at must be an ISO 8601 time')
      const key = await (await context.admin()).post<KeyView>(
        `${keyPath(context)}/expire`,
        at === undefined ? {} : { at: new Date(at).toISOString() },
      )
      printDone(context, `Key ${key.instance}/${key.name} expires at ${key.expiresAt}.`, key)
      return 0
    },
  }),
  deleteCommand({
    name: 'key delete',
    summary: 'Delete a service key (its tokens stop working at once)',
    synopsis: '<instance> <key>',
    path: keyPath,
    done: (context) => `Deleted service key ${arg(context, 0)}/${arg(context, 1)}.`,
  }),
  {
    name: 'token revoke',
    summary: 'Revoke one access token issued by this gateway',
    kind: 'admin',
    options: {
      'token-file': {
        type: 'string',
        value: 'FILE',
        help: 'File holding the token (- reads standard input)',
      },
    },
    async run(context) {
      const file = context.string('token-file')
      if (file === undefined)
        throw usageError('token revoke needs --token-file FILE (tokens never go on the command line)')
      const token = (
        file === '-'
          ? readUserFile('/dev/stdin', context.io.cwd, '--token-file')
          : readUserFile(file, context.io.cwd, '--token-file')
      ).trim()
      await (await context.admin()).post('/admin/v1/tokens/revoke', { token })
      printDone(context, 'Token revoked.')
      return 0
    },
  },
  listCommand<SigningKeyView>({
    name: 'signing-key list',
    summary: 'List token signing keys',
    path: () => '/admin/v1/signing-keys',
    headers: ['kid', 'alg', 'state', 'created', 'activated', 'published until'],
    row: (key) => [key.kid, key.alg, key.state, key.createdAt, cell(key.activatedAt), cell(key.publishUntil)],
  }),
  {
    name: 'signing-key rotate',
    summary:
      'Rotate now: the next key signs, the active one retires and stays published until its tokens expire',
    kind: 'admin',
    json: true,
    async run(context) {
      const { items } = await (await context.admin()).post<Listing<SigningKeyView>>(
        '/admin/v1/signing-keys/rotate',
        {},
      )
      const active = items.find((key) => key.state === 'active')
      printDone(context, `Rotated signing keys; active key is now ${active?.kid ?? '-'}.`, items)
      return 0
    },
  },
]

import { configKeys } from './load.ts'
import { configSchema } from './schema.ts'

type Node = {
  readonly type?: string
  readonly default?: unknown
  readonly description?: string
  readonly enum?: readonly unknown[]
  readonly minimum?: number
  readonly maximum?: number
  readonly properties?: Readonly<Record<string, Node>>
}

function nodeAt(path: readonly string[]): Node {
  let node: Node = configSchema
  for (const segment of path) node = node.properties?.[segment] as Node
  return node
}

function constraint(node: Node): string {
  if (node.enum) return node.enum.map((value) => `\`${String(value)}\``).join(', ')
  const bounds: string[] = []
  if (node.minimum !== undefined) bounds.push(`≥ ${node.minimum}`)
  if (node.maximum !== undefined) bounds.push(`≤ ${node.maximum}`)
  return bounds.join(', ')
}

function cell(value: string): string {
  return value.replaceAll('|', '\\|').replaceAll('\n', ' ')
}

/** docs/configuration.md, generated from the schema so the two never disagree. */
export function configurationReference(): string {
  const lines = [
    '# Configuration reference',
    '',
    '<!-- Generated from src/config/schema.ts by `npm run docs:config`; a test keeps it in sync. -->',
    '',
    'Flowgate reads one YAML file (`--config FILE` or `FLOWGATE_CONFIG`), then `FLOWGATE_*` environment',
    'variables, which win. Everything is validated at start-up against one schema: an unknown key, an',
    'unknown `FLOWGATE_*` variable or an invalid value stops start-up with a message naming the key.',
    'The validated configuration is frozen. Switches named `unsafe…` log a warning when on.',
    '',
    'Environment values: integers as digits, booleans as `true`/`false`, lists comma-separated.',
    '',
    '| key | environment variable | type | default | allowed | description |',
    '|---|---|---|---|---|---|',
  ]
  for (const leaf of configKeys) {
    const node = nodeAt(leaf.path)
    lines.push(
      `| \`${leaf.path.join('.')}\` | \`${leaf.env}\` | ${leaf.type} | \`${JSON.stringify(node.default)}\` | ${cell(constraint(node))} | ${cell(node.description ?? '')} |`,
    )
  }
  lines.push(
    '',
    '## Example',
    '',
    '```yaml',
    'publicUrl: https://flowgate.example.com',
    'gatewayName: acme',
    'runtime:',
    '  port: 8443',
    'tls:',
    '  certFile: /etc/flowgate/tls/fullchain.pem',
    '  keyFile: /etc/flowgate/tls/privkey.pem',
    'store:',
    '  url: postgres://flowgate@db.internal/flowgate',
    'secrets:',
    '  masterKeyFile: /run/secrets/flowgate-master-key',
    '```',
    '',
    'Other variables read by the tools (not configuration keys): `FLOWGATE_CONFIG` (configuration file),',
    "`FLOWGATE_ADMIN_URL` and `FLOWGATE_ADMIN_KEY` (the CLI's admin API address and admin service key file).",
    '',
  )
  return lines.join('\n')
}

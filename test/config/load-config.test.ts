import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { configKeys, loadConfig, unsafeSwitches } from '../../src/config/load.ts'
import { configurationReference } from '../../src/config/reference.ts'
import type { FlowgateConfig } from '../../src/config/schema.ts'
import { FlowgateError } from '../../src/lib/errors.ts'

// FlowgateConfig is derived from the schema: these fail `tsc` when the derivation loses a literal
// union, an array or the read-only guarantee the loader's freeze gives at run time.
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
export type DerivedTypeChecks = [
  true extends Equal<FlowgateConfig['tokens']['algorithm'], 'RS256' | 'ES256' | 'EdDSA'> ? true : never,
  true extends Equal<FlowgateConfig['runtime']['trustedProxies'], readonly string[]> ? true : never,
  true extends Equal<FlowgateConfig['runtime'], Readonly<FlowgateConfig['runtime']>> ? true : never,
  true extends Equal<FlowgateConfig['upstream']['unsafeAllowHttp'], boolean> ? true : never,
]
const derivedTypeChecks: DerivedTypeChecks = [true, true, true, true]

function yamlFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'flowgate-config-')), 'flowgate.yaml')
  writeFileSync(file, text)
  return file
}

function configError(run: () => unknown): { code: string; message: string } {
  try {
    run()
  } catch (error) {
    assert.ok(error instanceof FlowgateError)
    return { code: error.code, message: error.message }
  }
  assert.fail('expected a configuration error')
}

describe('loadConfig', () => {
  test('defaults fill every key and the result is frozen', () => {
    assert.deepEqual(derivedTypeChecks, [true, true, true, true])
    const config = loadConfig({ env: {} })
    assert.equal(config.runtime.port, 8443)
    assert.equal(config.admin.host, '127.0.0.1')
    assert.equal(config.tokens.algorithm, 'ES256')
    assert.deepEqual(config.runtime.trustedProxies, [])
    assert.equal(config.tls.minVersion, 'TLSv1.2')
    assert.ok(Object.isFrozen(config))
    assert.ok(Object.isFrozen(config.runtime))
    assert.throws(() => {
      ;(config.runtime as { port: number }).port = 1
    }, TypeError)
  })

  test('YAML file, then environment variables, then overrides', () => {
    const file = yamlFile('runtime:\n  port: 9443\n  host: 127.0.0.1\ntokens:\n  algorithm: RS256\n')
    const config = loadConfig({
      file,
      env: { FLOWGATE_RUNTIME_PORT: '10443', FLOWGATE_RUNTIME_TRUSTED_PROXIES: '10.0.0.1, 10.0.0.2' },
      overrides: { 'admin.port': 0 },
    })
    assert.equal(config.runtime.port, 10443)
    assert.equal(config.runtime.host, '127.0.0.1')
    assert.equal(config.tokens.algorithm, 'RS256')
    assert.deepEqual(config.runtime.trustedProxies, ['10.0.0.1', '10.0.0.2'])
    assert.equal(config.admin.port, 0)
  })

  test('FLOWGATE_CONFIG names the file', () => {
    const file = yamlFile('gatewayName: acme\n')
    assert.equal(loadConfig({ env: { FLOWGATE_CONFIG: file } }).gatewayName, 'acme')
  })

  const invalid: Array<[string, () => unknown, string]> = [
    [
      'unknown top-level key',
      () => loadConfig({ file: yamlFile('listen: 1\n'), env: {} }),
      'invalid configuration: unknown key "listen"',
    ],
    [
      'unknown nested key',
      () => loadConfig({ file: yamlFile('runtime:\n  prot: 1\n'), env: {} }),
      'invalid configuration: unknown key "runtime.prot"',
    ],
    [
      'wrong type',
      () => loadConfig({ file: yamlFile('runtime:\n  port: high\n'), env: {} }),
      'invalid configuration: "runtime.port" must be integer',
    ],
    [
      'out of range',
      () => loadConfig({ file: yamlFile('tokens:\n  leewaySeconds: 3600\n'), env: {} }),
      'invalid configuration: "tokens.leewaySeconds" must be <= 300',
    ],
    [
      'not in the allowed list',
      () => loadConfig({ file: yamlFile('tokens:\n  algorithm: HS256\n'), env: {} }),
      'invalid configuration: "tokens.algorithm" must be one of "RS256", "ES256", "EdDSA"',
    ],
    [
      'public URL must be https without a path',
      () => loadConfig({ env: { FLOWGATE_PUBLIC_URL: 'http://gw.example.com' } }),
      'invalid configuration: "publicUrl" must match pattern "^https://[^/?#]+$"',
    ],
    [
      'unknown environment variable',
      () => loadConfig({ env: { FLOWGATE_RUNTIME_PROT: '1' } }),
      'invalid configuration: unknown environment variable FLOWGATE_RUNTIME_PROT',
    ],
    [
      'environment integer that is not one',
      () => loadConfig({ env: { FLOWGATE_RUNTIME_PORT: '84a3' } }),
      'invalid configuration: FLOWGATE_RUNTIME_PORT must be an integer',
    ],
    [
      'environment boolean that is not one',
      () => loadConfig({ env: { FLOWGATE_UPSTREAM_UNSAFE_ALLOW_HTTP: 'yes' } }),
      'invalid configuration: FLOWGATE_UPSTREAM_UNSAFE_ALLOW_HTTP must be true or false',
    ],
    [
      'file that does not exist',
      () => loadConfig({ file: '/nonexistent/flowgate.yaml', env: {} }),
      'invalid configuration: cannot read configuration file /nonexistent/flowgate.yaml: ENOENT',
    ],
    [
      'file that is not a mapping',
      () => loadConfig({ file: yamlFile('- a\n- b\n'), env: {} }),
      `invalid configuration: file must hold a mapping`,
    ],
  ]
  for (const [name, run, message] of invalid) {
    test(`rejects ${name}`, () => {
      const error = configError(run)
      assert.equal(error.code, 'ERR_CONFIG_INVALID')
      assert.equal(error.message.replace(/\/[^ ]+flowgate\.yaml must/, 'file must'), message)
    })
  }

  test('unsafe switches are reported', () => {
    assert.deepEqual(unsafeSwitches(loadConfig({ env: {} })), [])
    assert.deepEqual(unsafeSwitches(loadConfig({ env: { FLOWGATE_UPSTREAM_UNSAFE_ALLOW_HTTP: 'true' } })), [
      'upstream.unsafeAllowHttp',
    ])
  })

  test('every key has a default and a description that carries no benchmark figures', () => {
    const config = loadConfig({ env: {} }) as unknown as Record<string, Record<string, unknown>>
    const reference = configurationReference()
    for (const leaf of configKeys) {
      let value: unknown = config
      for (const segment of leaf.path) value = (value as Record<string, unknown>)[segment]
      assert.notEqual(value, undefined, `${leaf.path.join('.')} has no default`)
      const row = reference.split('\n').find((line) => line.startsWith(`| \`${leaf.path.join('.')}\` |`))
      assert.ok(row !== undefined, `${leaf.path.join('.')} is not in the reference`)
      const description = row.split(' | ').at(-1) ?? ''
      assert.ok(description.length > 3, `${leaf.path.join('.')} has no description`)
      assert.doesNotMatch(
        description,
        /×|µs|req\/s|\bmeasured\b|\b\d+(\.\d+)? ?ms\b|20\d\d-\d\d/,
        leaf.path.join('.'),
      )
    }
  })

  test('docs/configuration.md is generated from the schema and up to date', () => {
    const committed = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8')
    assert.equal(committed, configurationReference(), 'run `npm run docs:config`')
  })
})

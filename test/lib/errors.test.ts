import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { withErrorCodeTable } from '../../src/lib/error-reference.ts'
import { type ErrorCode, errorRegistry, FlowgateError } from '../../src/lib/errors.ts'
import { bearerChallenge, renderError } from '../../src/lib/http-error.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))
const codes = Object.keys(errorRegistry) as ErrorCode[]

function filesUnder(dir: string, suffix: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith(suffix))
    .map((file) => join(dir, file))
}

describe('error registry, docs and renderer stay in sync', () => {
  test('docs/api.md carries the table generated from the registry (node scripts/error-docs.ts)', () => {
    const committed = readFileSync(join(root, 'docs/api.md'), 'utf8')
    assert.equal(committed, withErrorCodeTable(committed))
  })

  test('every code in the registry is raised somewhere in src/', () => {
    const sources = filesUnder('src', '.ts')
      .filter((file) => !file.endsWith('lib/errors.ts') && !file.endsWith('lib/error-reference.ts'))
      .map((file) => readFileSync(join(root, file), 'utf8'))
      .join('\n')
    const unused = codes.filter((code) => !sources.includes(`'${code}'`))
    assert.deepEqual(unused, [])
  })

  test('the docs name no code the registry does not have', () => {
    const documents = [...filesUnder('docs', '.md'), 'README.md']
    const unknown = new Set<string>()
    for (const file of documents) {
      for (const [code] of readFileSync(join(root, file), 'utf8').matchAll(/\bERR_[A-Z0-9_]+\b/g)) {
        // `ERR_TOKEN_*` names a family: it must have members.
        const known = code.endsWith('_') ? codes.some((c) => c.startsWith(code)) : code in errorRegistry
        if (!known) unknown.add(`${file}: ${code}`)
      }
    }
    assert.deepEqual([...unknown], [])
  })

  test('one rendering for every error: OAuth code, registry description, headers, never the detail', () => {
    const error = new FlowgateError('ERR_OAUTH_SLOW_DOWN', {
      detail: 'client id sb-x is blocked',
      headers: { 'retry-after': '30' },
    })
    assert.deepEqual(renderError(error, { correlationId: 'c-1', headers: { pragma: 'no-cache' } }), {
      error,
      status: 429,
      headers: {
        'content-type': 'application/json',
        'cache-control': 'no-store',
        'retry-after': '30',
        pragma: 'no-cache',
        'x-correlation-id': 'c-1',
      },
      body: '{"error":"slow_down","error_description":"too many failed attempts, retry later","code":"ERR_OAUTH_SLOW_DOWN","correlation_id":"c-1"}',
    })
    const internal = renderError(new Error('secret stack'), {
      wwwAuthenticate: bearerChallenge('flowgate'),
    })
    assert.equal(internal.status, 500)
    assert.equal(
      internal.body,
      '{"error":"internal","error_description":"internal error","code":"ERR_INTERNAL"}',
    )
    assert.equal(internal.headers['www-authenticate'], 'Bearer realm="flowgate"')
  })
})

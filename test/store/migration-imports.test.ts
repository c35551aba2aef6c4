import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import { test } from 'node:test'

const migrations = new URL('../../src/store/migrations/', import.meta.url)

test('migrations import only kysely and their frozen helpers, never live code that could change them', async () => {
  const files = [
    ...(await readdir(migrations)).filter((name) => /^\d{4}-.*\.ts$/.test(name)),
    ...(await readdir(new URL('frozen/', migrations))).map((name) => `frozen/${name}`),
  ]
  assert.ok(files.includes('0002-access-record-blocks.ts') && files.includes('0004-access-record-rows.ts'))
  const allowed = (file: string, source: string) =>
    source === 'kysely' ||
    source === 'kysely/migration' ||
    (file.startsWith('frozen/') ? /^\.\/[a-z0-9-]+\.ts$/ : /^\.\/frozen\/[a-z0-9-]+\.ts$/).test(source)
  const offending: string[] = []
  for (const file of files) {
    const text = await readFile(new URL(file, migrations), 'utf8')
    for (const [, source] of text.matchAll(/^import[^'"]*['"]([^'"]+)['"]/gm)) {
      if (!allowed(file, source as string)) offending.push(`${file}: ${source}`)
    }
  }
  assert.deepEqual(offending, [])
})

import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { openStore } from '../../src/store/open-store.ts'

const require = createRequire(import.meta.url)

test('SQLite: statements and closed databases survive garbage collection (better-sqlite3 on Node 24)', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'flowgate-sqlite-'))
  try {
    let junk: unknown[] = []
    for (let round = 0; round < 5; round += 1) {
      const store = await openStore({ url: '', dataDir })
      await store.migrate()
      for (let query = 0; query < 60; query += 1) {
        await store.getRole(`role-${query}`)
        await store.listAuditEvents({ actor: 'a', limit: 1 + (query % 5) })
        for (let index = 0; index < 5000; index += 1) junk.push({ filler: `x${index}` })
        if (junk.length > 100_000) junk = []
      }
      await store.close()
    }
    // Without the statement cache this process aborts in Statement::~Statement during a GC above.
    assert.ok(junk.length >= 0)
  } finally {
    await rm(dataDir, { recursive: true, force: true })
  }
})

test('better-sqlite3 still aborts when a statement is collected: the statement cache is still needed', () => {
  const repro = fileURLToPath(new URL('./sqlite-finaliser-repro.ts', import.meta.url))
  const { status, signal, stdout, stderr } = spawnSync(process.execPath, [repro], {
    encoding: 'utf8',
    timeout: 60_000,
  })
  // When this fails, better-sqlite3 (13 uses Node-API) or Node no longer aborts: remove the
  // statement cache and the retained databases of src/store/sqlite/sqlite-database.ts.
  assert.notEqual(stdout, 'survived\n', 'the reproduction survived: the workaround can go')
  assert.ok(signal === 'SIGABRT' || status === 134, `expected an abort, got ${signal ?? status}`)
  assert.match(stderr, /RemoveEnvironmentCleanupHook/)
  assert.match(stderr, /Statement::~Statement/)
})

test('SQLite: the file is in the data directory, in WAL mode', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'flowgate-sqlite-'))
  const store = await openStore({ url: '', dataDir: join(dataDir, 'nested', 'data') })
  try {
    await store.migrate()
    const BetterSqlite3 = require('better-sqlite3')
    const raw = new BetterSqlite3(join(dataDir, 'nested', 'data', 'flowgate.db'), { readonly: true })
    // Kept referenced until the end of the process (see src/store/sqlite/sqlite-database.ts).
    retainedForTest.push(raw)
    const statement = raw.prepare('pragma journal_mode')
    retainedForTest.push(statement)
    assert.deepEqual(statement.get(), { journal_mode: 'wal' })
    raw.close()
  } finally {
    await store.close()
    await rm(dataDir, { recursive: true, force: true })
  }
})

const retainedForTest: unknown[] = []

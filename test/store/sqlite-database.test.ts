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
    // better-sqlite3 12 on Node 24.19+ aborted this process in Statement::~Statement during a GC.
    assert.ok(junk.length >= 0)
  } finally {
    await rm(dataDir, { recursive: true, force: true })
  }
})

test('better-sqlite3 survives statements collected by the garbage collector (no abort in its finaliser)', () => {
  const repro = fileURLToPath(new URL('./sqlite-finaliser-repro.ts', import.meta.url))
  const { status, signal, stdout, stderr } = spawnSync(process.execPath, [repro], {
    encoding: 'utf8',
    timeout: 60_000,
  })
  assert.deepEqual(
    { status, signal, stdout, stderr },
    { status: 0, signal: null, stdout: 'survived\n', stderr: '' },
  )
})

test('SQLite: the file is in the data directory, in WAL mode', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'flowgate-sqlite-'))
  const store = await openStore({ url: '', dataDir: join(dataDir, 'nested', 'data') })
  try {
    await store.migrate()
    const BetterSqlite3 = require('better-sqlite3')
    const raw = new BetterSqlite3(join(dataDir, 'nested', 'data', 'flowgate.db'), { readonly: true })
    assert.deepEqual(raw.prepare('pragma journal_mode').get(), { journal_mode: 'wal' })
    raw.close()
  } finally {
    await store.close()
    await rm(dataDir, { recursive: true, force: true })
  }
})

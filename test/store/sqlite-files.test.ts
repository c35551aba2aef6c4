import assert from 'node:assert/strict'
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { openStore } from '../../src/store/open-store.ts'
import { capturedLogger } from '../helpers/captured-logger.ts'
import { startTestGateway } from '../helpers/gateway.ts'

const modeOf = (path: string) => `0${(statSync(path).mode & 0o777).toString(8)}`
const storeFiles = (dataDir: string) =>
  ['flowgate.db', 'flowgate.db-wal', 'flowgate.db-shm'].map((name) => join(dataDir, name))

function temporaryDirectory(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'flowgate-files-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

test('SQLite: the data directory is created 0700 and the database, WAL and shared-memory files 0600, whatever the umask', async (t) => {
  const dataDir = join(temporaryDirectory(t), 'new', 'data')
  // With no umask at all, anything left to the defaults would come out 0777/0666 (SQLite's own 0644).
  const umask = process.umask(0)
  let store: Awaited<ReturnType<typeof openStore>>
  try {
    const { logger, lines } = capturedLogger()
    store = await openStore({ url: '', dataDir, logger })
    await store.migrate()
    await store.createRole({ name: 'Custom.Files', description: null, builtIn: false, createdAt: 1 })
    assert.deepEqual(lines(), [])
  } finally {
    process.umask(umask)
  }
  try {
    assert.ok(storeFiles(dataDir).every((path) => existsSync(path)))
    assert.deepEqual([dataDir, ...storeFiles(dataDir)].map(modeOf), ['0700', '0600', '0600', '0600'])
  } finally {
    await store.close()
  }
})

test('SQLite: an existing open data directory is warned about and left; open store files are set to 0600', async (t) => {
  const dataDir = temporaryDirectory(t)
  chmodSync(dataDir, 0o755)
  // As an older Flowgate left them: the database and its WAL readable by everyone.
  const first = await openStore({ url: '', dataDir })
  await first.migrate()
  await first.close()
  const [database, wal, shm] = storeFiles(dataDir) as [string, string, string]
  writeFileSync(wal, '')
  chmodSync(database, 0o644)
  chmodSync(wal, 0o644)
  rmSync(shm, { force: true })

  const { logger, lines } = capturedLogger()
  const store = await openStore({ url: '', dataDir, logger })
  try {
    await store.createRole({ name: 'Custom.Files', description: null, builtIn: false, createdAt: 1 })
    assert.deepEqual(
      lines().map(({ level, path, mode, msg }) => ({ level, path, mode, msg })),
      [
        {
          level: 40,
          path: dataDir,
          mode: '0755',
          msg: 'the data directory is accessible to its group or others: it holds the store, keys and certificates; make it 0700',
        },
        {
          level: 40,
          path: database,
          mode: '0644',
          msg: 'a store file was accessible to its group or others: set to 0600',
        },
        {
          level: 40,
          path: wal,
          mode: '0644',
          msg: 'a store file was accessible to its group or others: set to 0600',
        },
      ],
    )
    assert.deepEqual([dataDir, database, wal, shm].map(modeOf), ['0755', '0600', '0600', '0600'])
  } finally {
    await store.close()
  }
})

test('gateway: a data directory it creates is 0700 before the master key, certificate and database are written there', async (t) => {
  const dataDir = join(temporaryDirectory(t), 'gateway-data')
  const env = await startTestGateway({ dataDir })
  try {
    assert.equal(modeOf(dataDir), '0700')
    assert.deepEqual(storeFiles(dataDir).map(modeOf), ['0600', '0600', '0600'])
    assert.ok(env.logs.every((line) => !line.includes('accessible to its group or others')))
  } finally {
    await env.close()
  }
})

test('SQLite: a data directory that cannot be created fails with ERR_STORE_UNAVAILABLE naming it', async (t) => {
  const parent = temporaryDirectory(t)
  const blocker = join(parent, 'file')
  writeFileSync(blocker, '')
  await assert.rejects(
    openStore({ url: '', dataDir: join(blocker, 'data') }),
    (error: Error & { code?: string; detail?: string }) => {
      assert.equal(error.code, 'ERR_STORE_UNAVAILABLE')
      assert.match(
        error.detail ?? '',
        new RegExp(`cannot open SQLite database ${join(blocker, 'data', 'flowgate.db')}`),
      )
      return true
    },
  )
})

import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { openStore } from '../../src/store/open-store.ts'
import type { Store } from '../../src/store/types.ts'

/**
 * A PostgreSQL superuser connection to the `postgres` database, used only to create and drop the
 * per-test databases. Override with FLOWGATE_TEST_POSTGRES_URL.
 */
export const postgresAdminUrl =
  process.env.FLOWGATE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

export interface OpenedBackend {
  /** Migrated unless `open({ migrate: false })`. */
  readonly store: Store
  /** What `openStore` was given: '' for SQLite, the database URL for PostgreSQL. */
  readonly url: string
  readonly dataDir: string
  /** Closes the store and removes the database (and the temp directory). */
  drop(): Promise<void>
}

export interface OpenOptions {
  /** Apply migrations before handing the store over (default true). */
  readonly migrate?: boolean
  /** Clock of change-log rows. */
  readonly now?: () => number
}

export interface StoreBackend {
  readonly name: 'sqlite' | 'postgres'
  open(options?: OpenOptions): Promise<OpenedBackend>
}

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: postgresAdminUrl })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

/** The same URL pointing at another database. */
export function postgresDatabaseUrl(database: string): string {
  const url = new URL(postgresAdminUrl)
  url.pathname = `/${database}`
  return url.toString()
}

/** Creates an empty, uniquely named database; returns its name. */
export async function createPostgresDatabase(): Promise<string> {
  const name = `flowgate_test_${process.pid}_${randomBytes(6).toString('hex')}`
  await withAdmin((client) => client.query(`create database ${name}`))
  return name
}

export async function dropPostgresDatabase(name: string): Promise<void> {
  await withAdmin(async (client) => {
    await client.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1', [name])
    await client.query(`drop database if exists ${name}`)
  })
}

function clock(options: OpenOptions): { now?: () => number } {
  return options.now === undefined ? {} : { now: options.now }
}

async function finish(store: Store, migrate: boolean, cleanup: () => Promise<void>): Promise<Store> {
  if (!migrate) return store
  try {
    await store.migrate()
    return store
  } catch (error) {
    await store.close().catch(() => {})
    await cleanup()
    throw error
  }
}

/** Both store backends, each opening a fresh, empty database. */
export function storeBackends(): StoreBackend[] {
  return [
    {
      name: 'sqlite',
      async open(options = {}) {
        const dataDir = await mkdtemp(join(tmpdir(), 'flowgate-store-'))
        const cleanup = () => rm(dataDir, { recursive: true, force: true })
        const store = await finish(
          await openStore({ url: '', dataDir, ...clock(options) }),
          options.migrate ?? true,
          cleanup,
        )
        return {
          store,
          url: '',
          dataDir,
          async drop() {
            await store.close()
            await cleanup()
          },
        }
      },
    },
    {
      name: 'postgres',
      async open(options = {}) {
        const database = await createPostgresDatabase()
        const dataDir = await mkdtemp(join(tmpdir(), 'flowgate-store-'))
        const cleanup = async () => {
          await dropPostgresDatabase(database)
          await rm(dataDir, { recursive: true, force: true })
        }
        const url = postgresDatabaseUrl(database)
        let store: Store
        try {
          store = await openStore({ url, dataDir, poolSize: 4, ...clock(options) })
        } catch (error) {
          await cleanup()
          throw error
        }
        store = await finish(store, options.migrate ?? true, cleanup)
        return {
          store,
          url,
          dataDir,
          async drop() {
            await store.close()
            await cleanup()
          },
        }
      },
    },
  ]
}

import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { CliIo } from '../../src/cli/cli-io.ts'
import { runCli } from '../../src/cli/run-cli.ts'
import { type AdminHarness, setupActor, startAdminHarness } from '../helpers/admin-harness.ts'
import { type OpenedBackend, storeBackends } from '../helpers/databases.ts'

export interface CliResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

export interface CliHarness {
  readonly harness: AdminHarness
  readonly backend: OpenedBackend
  /** A scratch directory: the CLI's working directory. */
  readonly dir: string
  /** The admin client id the CLI acts as. */
  readonly clientId: string
  /** Runs `flowgate …` in-process against the admin harness. */
  run(argv: readonly string[], env?: Record<string, string>): Promise<CliResult>
  close(): Promise<void>
}

/** Runs the CLI in-process with captured output. */
export async function runCaptured(
  argv: readonly string[],
  env: Record<string, string>,
  cwd: string,
): Promise<CliResult> {
  let stdout = ''
  let stderr = ''
  const io: CliIo = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env,
    cwd,
    stderrIsTty: false,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    interrupted: () => false,
  }
  const code = await runCli(argv, io)
  return { code, stdout, stderr }
}

/**
 * The CLI against a real admin listener and token endpoint. The admin key's tokenurl points at
 * the harness's token endpoint (its configured publicUrl is not a reachable host).
 */
export async function startCliHarness(): Promise<CliHarness> {
  const backend = await (storeBackends()[0] as ReturnType<typeof storeBackends>[number]).open()
  const harness = await startAdminHarness(backend.store)
  const dir = await mkdtemp(join(tmpdir(), 'flowgate-cli-'))
  const identity = harness.oauth.identity.service
  await identity.createInstance('admins', 'api', { roles: ['Flowgate.Admin'] }, setupActor)
  const key = await identity.createServiceKey('admins', 'cli', undefined, setupActor)
  const keyFile = join(dir, 'admin-key.json')
  await writeFile(
    keyFile,
    JSON.stringify({ oauth: { ...key.oauth, tokenurl: `${harness.oauth.url}/oauth/token` } }),
    {
      mode: 0o600,
    },
  )
  const caFile = join(dir, 'ca.pem')
  await writeFile(caFile, harness.ca)
  const baseEnv = {
    FLOWGATE_ADMIN_URL: harness.admin.url,
    FLOWGATE_ADMIN_KEY: keyFile,
    FLOWGATE_DATA_DIR: backend.dataDir,
  }
  return {
    harness,
    backend,
    dir,
    clientId: key.oauth.clientid,
    run: (argv, env = {}) => runCaptured([...argv, '--ca', caFile], { ...baseEnv, ...env }, dir),
    async close() {
      await harness.close()
      await backend.drop()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { runCaptured } from '../cli/cli-harness.ts'
import { freePort } from '../helpers/free-port.ts'
import { repositoryRoot } from './markdown-examples.ts'

const dir = mkdtempSync(join(tmpdir(), 'flowgate-demo-lock-'))
const dataDir = join(dir, 'data', 'demo')
const running: ChildProcess[] = []
after(async () => {
  for (const child of running) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      await once(child, 'exit')
    }
  }
  rmSync(dir, { recursive: true, force: true })
})

interface Demo {
  readonly child: ChildProcess
  /** Resolves with the printed text once the demo runs, or with the exit code when it ends first. */
  readonly outcome: Promise<{ printed: string } | { code: number | null; stdout: string; stderr: string }>
}

function demo(port: number): Demo {
  const child = spawn(
    process.execPath,
    [join(repositoryRoot, 'src/cli/main.ts'), 'demo', '--port', String(port)],
    {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  running.push(child)
  let stdout = ''
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
  })
  const outcome = new Promise<{ printed: string } | { code: number | null; stdout: string; stderr: string }>(
    (resolve) => {
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk
        if (stdout.includes('Press Ctrl-C to stop.')) resolve({ printed: stdout })
      })
      child.once('close', (code) => resolve({ code, stdout, stderr }))
    },
  )
  return { child, outcome }
}

async function stopped(child: ChildProcess): Promise<number | string | null> {
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  const [code, signal] = (await exited) as [number | null, string | null]
  return code ?? signal
}

const snapshot = () =>
  Object.fromEntries(
    readdirSync(dataDir)
      .filter((name) => !name.startsWith('flowgate.db'))
      .map((name) => [
        name,
        existsSync(join(dataDir, name, '.')) ? 'dir' : readFileSync(join(dataDir, name), 'utf8'),
      ]),
  )

test('a second demo on the same data directory refuses and touches nothing; the printed admin commands work', {
  timeout: 120_000,
}, async () => {
  const port = await freePort()
  const first = demo(port)
  const started = await first.outcome
  assert.ok('printed' in started, JSON.stringify(started))
  const before = snapshot()

  const second = await demo(await freePort()).outcome
  assert.deepEqual(second, {
    code: 1,
    stdout: '',
    stderr: `flowgate: a demo is already running at https://localhost:${port} (pid ${first.child.pid}, data in data/demo); stop it first (Ctrl-C in its terminal), or give this one another --port and --data-dir\n`,
  })
  assert.deepEqual(snapshot(), before)

  // The admin commands the demo prints, run as printed (bin/flowgate is this checkout's CLI).
  const adminCommands = started.printed
    .split('\n')
    .filter((line) => line.startsWith('bin/flowgate '))
    .map((line) => line.slice('bin/flowgate '.length).split(' '))
  assert.deepEqual(
    adminCommands.map((argv) => argv[0]),
    ['logs', 'instance', 'audit'],
  )
  for (const argv of adminCommands) {
    const result = await runCaptured(argv, { PATH: process.env.PATH ?? '' }, dir)
    assert.equal(result.code, 0, `${argv.join(' ')}: ${result.stderr}`)
  }
  const instances = await runCaptured(
    ['instance', 'list', '--config', 'data/demo/flowgate.yaml', '--json'],
    {},
    dir,
  )
  assert.deepEqual(
    (JSON.parse(instances.stdout) as { name: string }[]).map((instance) => instance.name),
    ['acme-supplier', 'admin'],
  )

  assert.equal(await stopped(first.child), 0)
  assert.equal(existsSync(join(dataDir, 'demo.lock')), false)
})

test('a lock left by a demo that is gone is taken over', { timeout: 120_000 }, async () => {
  const gone = spawn(process.execPath, ['-e', ''])
  await once(gone, 'exit')
  mkdirSync(dataDir, { recursive: true })
  writeFileSync(
    join(dataDir, 'demo.lock'),
    JSON.stringify({ pid: gone.pid, runtimeUrl: 'https://localhost:1' }),
  )
  const port = await freePort()
  const next = demo(port)
  const started = await next.outcome
  assert.ok('printed' in started, JSON.stringify(started))
  assert.deepEqual(JSON.parse(readFileSync(join(dataDir, 'demo.lock'), 'utf8')), {
    pid: next.child.pid,
    runtimeUrl: `https://localhost:${port}`,
  })
  assert.equal(await stopped(next.child), 0)
})

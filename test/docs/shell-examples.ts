import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { accessSync, chmodSync, constants, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { repositoryRoot } from './markdown-examples.ts'

export interface ShellResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/**
 * A directory standing in for the user's checkout: `bin/flowgate …` runs this checkout's CLI on this
 * Node.js, as the checkout's own bin/flowgate does once installed. `npx` fails: it would ask the
 * registry for someone else's `flowgate` package, so the documentation never uses it.
 */
export function shellPath(dir: string): string {
  const flowgate = join(dir, 'bin', 'flowgate')
  mkdirSync(join(dir, 'bin'), { recursive: true })
  writeFileSync(
    flowgate,
    `#!/bin/sh\nexec '${process.execPath}' '${join(repositoryRoot, 'src/cli/main.ts')}' "$@"\n`,
  )
  chmodSync(flowgate, 0o755)
  const bin = join(dir, '.doc-test-bin')
  mkdirSync(bin, { recursive: true })
  const npx = join(bin, 'npx')
  writeFileSync(
    npx,
    `#!/bin/sh
echo "npx $1: the documentation's examples run bin/flowgate, never npx" >&2
exit 127
`,
  )
  chmodSync(npx, 0o755)
  return `${bin}:${process.env.PATH ?? ''}`
}

/** Runs a block with bash (`-e -o pipefail`: a failing line fails the block) and collects its output. */
export function runShell(
  script: string,
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<ShellResult> {
  return runCollected('bash', ['-e', '-o', 'pipefail', '-c', script], options)
}

/** Runs a program to its end and collects its exit code and output. */
export async function runCollected(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env: NodeJS.ProcessEnv },
): Promise<ShellResult> {
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk
  })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
  })
  const [code] = (await once(child, 'close')) as [number | null]
  return { code, stdout, stderr }
}

/**
 * Starts a long-running block (`bin/flowgate start`) in the background and resolves when its output
 * contains `ready`. SIGTERM to the shell is passed on to the block, and the shell exits with the
 * block's status, so `stopShell` sees how the gateway itself ended.
 */
export async function startShell(
  script: string,
  ready: string,
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<ChildProcess> {
  // The block's last command runs in the background so that the shell can forward SIGTERM to it.
  const background = `${script.trimEnd()} &
block=$!
trap 'kill -TERM "$block" 2>/dev/null; wait "$block"; exit $?' TERM
wait "$block"
`
  const child = spawn('bash', ['-c', background], {
    ...options,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: string) => {
      output += chunk
      if (output.includes(ready)) {
        child.stdout.off('data', onData)
        child.stderr.off('data', onData)
        resolve()
      }
    }
    child.stdout.setEncoding('utf8').on('data', onData)
    child.stderr.setEncoding('utf8').on('data', onData)
    child.once('exit', (code) => reject(new Error(`exited with ${code} before "${ready}":\n${output}`)))
  })
  child.stdout.resume()
  child.stderr.resume()
  return child
}

/** Stops a block started by `startShell` with SIGTERM and returns its exit code. */
export async function stopShell(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return child.exitCode
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  const [code] = (await exited) as [number | null]
  return code
}

/** The documentation's examples use these tools; a missing one fails with its name, not with exit 127. */
export function assertToolsInstalled(tools: readonly string[] = ['bash', 'curl', 'jq']): void {
  const path = (process.env.PATH ?? '').split(':').filter(Boolean)
  const installed = (tool: string) =>
    path.some((dir) => {
      try {
        accessSync(join(dir, tool), constants.X_OK)
        return true
      } catch {
        return false
      }
    })
  assert.deepEqual(
    tools.filter((tool) => !installed(tool)),
    [],
    'the documentation examples need these on PATH (e.g. apt-get install -y curl jq)',
  )
}

export function assertSucceeded(where: string, result: ShellResult): void {
  assert.equal(
    result.code,
    0,
    `${where} exited with ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`,
  )
}

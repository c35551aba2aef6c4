import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { after, describe, test } from 'node:test'
import { loadConfig } from '../../src/config/load.ts'
import { repositoryRoot } from '../docs/markdown-examples.ts'

const made: string[] = []
after(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true })
})

/** A checkout with only what bin/flowgate reads before it runs the CLI, and a main.ts that says it ran. */
function checkout(): string {
  const root = mkdtempSync(join(tmpdir(), 'flowgate-install-'))
  made.push(root)
  for (const file of ['bin/flowgate', 'scripts/node.sh', 'scripts/install.sh', 'package-lock.json']) {
    mkdirSync(dirname(join(root, file)), { recursive: true })
    copyFileSync(join(repositoryRoot, file), join(root, file))
  }
  mkdirSync(join(root, 'src/cli'), { recursive: true })
  writeFileSync(join(root, 'src/cli/main.ts'), 'console.log("cli ran", process.argv.slice(2).join(" "))\n')
  return root
}

/** A PATH whose first `node` is the given one: this Node (24) or a stand-in that reports 22. */
function pathWith(root: string, node: 'current' | 'old'): string {
  const bin = join(root, '.test-bin')
  mkdirSync(bin)
  if (node === 'current') symlinkSync(process.execPath, join(bin, 'node'))
  else {
    writeFileSync(join(bin, 'node'), '#!/bin/sh\ncase "$1" in --version) echo v22.12.0;; *) echo 22;; esac\n')
    chmodSync(join(bin, 'node'), 0o755)
  }
  return `${bin}:/usr/bin:/bin`
}

function run(root: string, path: string, args: string[]) {
  const result = spawnSync(join(root, 'bin/flowgate'), args, {
    env: { PATH: path, HOME: root },
    encoding: 'utf8',
  })
  return { code: result.status, stdout: result.stdout, stderr: result.stderr }
}

describe('bin/flowgate installs nothing and says what is missing', () => {
  test('without node_modules: names it and the install command, exit 1, nothing created', () => {
    const root = checkout()
    const result = run(root, pathWith(root, 'current'), ['start'])
    assert.deepEqual(result, {
      code: 1,
      stdout: '',
      stderr: [
        'flowgate: the dependencies are not installed (no node_modules)',
        `flowgate: install with: ${root}/scripts/install.sh   (or: npm run setup)`,
        '',
      ].join('\n'),
    })
    assert.equal(existsSync(join(root, 'node_modules')), false)
    assert.equal(existsSync(join(root, '.tools')), false)
  })

  test('with node_modules older than package-lock.json: names it, exit 1', () => {
    const root = checkout()
    mkdirSync(join(root, 'node_modules'))
    writeFileSync(join(root, 'node_modules/.package-lock.json'), '{}')
    utimesSync(join(root, 'node_modules/.package-lock.json'), new Date(0), new Date(0))
    const result = run(root, pathWith(root, 'current'), ['start'])
    assert.equal(result.code, 1)
    assert.equal(result.stderr.split('\n')[0], 'flowgate: the dependencies are older than package-lock.json')
  })

  test('with an old Node and none in .tools/: names the version found, exit 1', () => {
    const root = checkout()
    const result = run(root, pathWith(root, 'old'), ['start'])
    assert.deepEqual(result, {
      code: 1,
      stdout: '',
      stderr: [
        'flowgate: Node.js 24 is needed (node on PATH: v22.12.0; none in .tools/)',
        `flowgate: install with: ${root}/scripts/install.sh   (or: npm run setup)`,
        '',
      ].join('\n'),
    })
  })

  test('the variable bin/flowgate sets is not taken for a configuration key', () => {
    assert.equal(loadConfig({ env: { FLOWGATE_INSTALL: 'never' } }).runtime.port, 8443)
  })

  test('with everything installed: runs the CLI on Node 24', () => {
    const root = checkout()
    mkdirSync(join(root, 'node_modules'))
    writeFileSync(join(root, 'node_modules/.package-lock.json'), '{}')
    const result = run(root, pathWith(root, 'current'), ['start', '--config', 'x.yaml'])
    assert.deepEqual(result, { code: 0, stdout: 'cli ran start --config x.yaml\n', stderr: '' })
  })
})

/** A stand-in npm that records its arguments and installs nothing but the marker npm ci leaves. */
function recordingNpm(root: string): void {
  const npm = join(root, '.test-bin', 'npm')
  writeFileSync(
    npm,
    '#!/bin/sh\necho "npm $*" >> "$HOME/npm-calls"\nmkdir -p node_modules && touch node_modules/.package-lock.json\n',
  )
  chmodSync(npm, 0o755)
}

describe('the npm scripts of a development checkout install what is missing', () => {
  test('a line per step before npm ci, which runs once', () => {
    const root = checkout()
    const path = pathWith(root, 'current')
    recordingNpm(root)
    const script = (args: string[]) =>
      spawnSync(join(root, 'scripts/node.sh'), args, { env: { PATH: path, HOME: root }, encoding: 'utf8' })
    const first = script(['node', '-e', 'console.log(process.versions.node.split(".")[0])'])
    assert.deepEqual([first.status, first.stdout], [0, '24\n'])
    assert.deepEqual(first.stderr.split('\n'), [
      'flowgate: the dependencies are not installed (no node_modules); running npm ci (once per change of package-lock.json)',
      'flowgate: dependencies installed',
      '',
    ])
    const second = script(['node', '-e', ''])
    assert.deepEqual([second.status, second.stderr], [0, ''])
    assert.equal(
      readFileSync(join(root, 'npm-calls'), 'utf8'),
      'npm ci --no-audit --no-fund --foreground-scripts\n',
    )
  })
})

test('scripts/install.sh runs npm ci even when node_modules looks current, and says what to run next', () => {
  const root = checkout()
  const path = pathWith(root, 'current')
  recordingNpm(root)
  mkdirSync(join(root, 'node_modules'))
  writeFileSync(join(root, 'node_modules/.package-lock.json'), '{}')
  const result = spawnSync(join(root, 'scripts/install.sh'), [], {
    env: { PATH: path, HOME: root },
    encoding: 'utf8',
  })
  assert.deepEqual([result.status, result.stdout], [0, ''])
  assert.deepEqual(result.stderr.split('\n'), [
    'flowgate: installing the dependencies as asked; running npm ci (once per change of package-lock.json)',
    'flowgate: dependencies installed',
    `flowgate: installed Node.js ${process.versions.node} and the dependencies; run bin/flowgate --help`,
    '',
  ])
  assert.equal(
    readFileSync(join(root, 'npm-calls'), 'utf8'),
    'npm ci --no-audit --no-fund --foreground-scripts\n',
  )
})

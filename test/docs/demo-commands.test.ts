import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { freePort } from '../helpers/free-port.ts'
import { repositoryRoot } from './markdown-examples.ts'
import { assertSucceeded, assertToolsInstalled, runShell } from './shell-examples.ts'

const dir = mkdtempSync(join(tmpdir(), 'flowgate-demo-'))
after(() => rmSync(dir, { recursive: true, force: true }))

const pasteFrom = 'Run what the partner runs (paste into a shell in this directory):'
const pasteTo = 'Press Ctrl-C to stop.'

test('the commands `flowgate demo` prints for the partner work when pasted into a shell', {
  timeout: 120_000,
}, async () => {
  assertToolsInstalled(['bash', 'curl'])
  const port = await freePort()
  const demo = spawn(
    process.execPath,
    [
      join(repositoryRoot, 'src/cli/main.ts'),
      'demo',
      '--port',
      String(port),
      '--data-dir',
      join(dir, 'data', 'demo'),
    ],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const exited = once(demo, 'exit')
  let printed = ''
  let errors = ''
  demo.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    errors += chunk
  })
  try {
    await new Promise<void>((resolve, reject) => {
      demo.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        printed += chunk
        if (printed.includes(pasteTo)) resolve()
      })
      demo.once('exit', (code) => reject(new Error(`flowgate demo exited with ${code}: ${errors}`)))
    })
    const start = printed.indexOf(pasteFrom)
    assert.notEqual(start, -1, printed)
    const commands = printed.slice(start + pasteFrom.length, printed.indexOf(pasteTo))
    assert.match(commands, /--cacert data\/demo\/tls\/localhost\.crt/)

    const result = await runShell(commands, { cwd: dir, env: { PATH: process.env.PATH ?? '' } })
    assertSucceeded('the demo commands', result)
    const [accepted, refused] = result.stdout.split(/(?=HTTP\/1\.1 \d{3} )/)
    // 3. The purchase order reaches the simulated iFlow, which echoes what it received.
    assert.match(accepted ?? '', /^HTTP\/1\.1 200 /)
    assert.match(accepted ?? '', /^sap_messageprocessinglogid: /im)
    const sent = /# 3\.[^\n]*\n[^\n]*--data '([^']*)'/.exec(commands)?.[1]
    assert.ok(sent !== undefined, commands)
    const received = JSON.parse((accepted ?? '').slice((accepted ?? '').indexOf('\r\n\r\n') + 4)).received
    assert.deepEqual(received, {
      method: 'POST',
      path: '/http/purchase-orders',
      query: '',
      bytes: Buffer.byteLength(sent),
      sha256: createHash('sha256').update(sent).digest('hex'),
      contentType: 'application/json',
    })
    // 4. Without the CSRF token: refused by Flowgate.
    assert.match(refused ?? '', /^HTTP\/1\.1 403 /)
    assert.match(refused ?? '', /^x-csrf-token: Required\r?$/im)
  } finally {
    demo.kill('SIGTERM')
    const [code] = (await exited) as [number | null]
    assert.equal(code, 0, errors)
  }
})

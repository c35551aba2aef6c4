import assert from 'node:assert/strict'
import { once } from 'node:events'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { failedListener, type ListenerAddress, listenProblem } from '../../src/server/listener-check.ts'
import { runCollected } from '../docs/shell-examples.ts'
import { freePort } from '../helpers/free-port.ts'

const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'flowgate-start-'))
after(() => rmSync(dir, { recursive: true, force: true }))

async function occupied(): Promise<{ port: number; server: Server }> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return { port: (server.address() as { port: number }).port, server }
}

function start(env: Record<string, string>) {
  return runCollected(process.execPath, [main, 'start'], {
    env: { PATH: process.env.PATH ?? '', FLOWGATE_RUNTIME_HOST: '127.0.0.1', ...env },
  })
}

describe('flowgate start with a listener that cannot listen', () => {
  for (const listener of ['runtime', 'admin'] as const) {
    test(`a busy ${listener} port is named before anything is created`, async () => {
      const busy = await occupied()
      const dataDir = join(dir, `data-${listener}`)
      try {
        const free = await freePort()
        const result = await start({
          FLOWGATE_DATA_DIR: dataDir,
          FLOWGATE_RUNTIME_PORT: String(listener === 'runtime' ? busy.port : free),
          FLOWGATE_ADMIN_PORT: String(listener === 'admin' ? busy.port : free),
        })
        assert.deepEqual(result, {
          code: 1,
          stdout: '',
          stderr: `flowgate: ${listener} listener cannot listen on 127.0.0.1:${busy.port}: address in use\n`,
        })
        // No migration, no master key, no certificate: the data directory was never made.
        assert.equal(existsSync(dataDir), false)
      } finally {
        busy.server.close()
      }
    })
  }

  test('the same port for both listeners is a configuration error', async () => {
    const dataDir = join(dir, 'data-same')
    const result = await start({
      FLOWGATE_DATA_DIR: dataDir,
      FLOWGATE_RUNTIME_PORT: '9555',
      FLOWGATE_ADMIN_PORT: '9555',
    })
    assert.deepEqual(result, {
      code: 2,
      stdout: '',
      stderr:
        'flowgate: invalid configuration: runtime.port and admin.port are both 9555 on 127.0.0.1 and 127.0.0.1; give the listeners different ports\n',
    })
    assert.equal(existsSync(dataDir), false)
  })
})

test('a port taken between the check and the bind is still named after its listener', async () => {
  const busy = await occupied()
  try {
    const second = createServer()
    const failed = once(second, 'error')
    second.listen(busy.port, '127.0.0.1')
    const [error] = (await failed) as [NodeJS.ErrnoException]
    const listeners = [
      { name: 'runtime listener', host: '127.0.0.1', port: busy.port },
      { name: 'admin listener', host: '127.0.0.1', port: busy.port + 1 },
    ]
    const listener = failedListener(listeners, error)
    assert.deepEqual(listener, listeners[0])
    assert.equal(
      listenProblem(listener as ListenerAddress, error),
      `runtime listener cannot listen on 127.0.0.1:${busy.port}: address in use`,
    )
    assert.equal(failedListener(listeners, new Error('disk full')), undefined)
  } finally {
    busy.server.close()
  }
})

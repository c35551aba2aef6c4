import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { Agent, request } from 'undici'

const main = fileURLToPath(new URL('../../src/simulator/main.ts', import.meta.url))

interface Printed {
  url: string
  serviceKey: { oauth: { clientid: string; clientsecret: string; url: string; tokenurl: string } }
  basic: { username: string; password: string }
  certificate: string
}

function run(args: string[]): ChildProcess {
  return spawn(process.execPath, [main, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
}

/** The simulator prints one JSON document once it listens. */
async function printed(child: ChildProcess): Promise<Printed> {
  let text = ''
  for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
    text += chunk.toString('utf8')
    try {
      return JSON.parse(text) as Printed
    } catch {
      // not complete yet
    }
  }
  throw new Error(`the simulator exited without printing its service key: ${text}`)
}

describe('node src/simulator/main.ts', () => {
  test('starts with a generated certificate, prints URL and service key, and stops on SIGTERM', async (t) => {
    const child = run(['--port', '0', '--auth', 'oauth'])
    t.after(() => {
      if (child.exitCode === null) child.kill('SIGKILL')
    })
    const output = await printed(child)
    assert.deepEqual(Object.keys(output), ['url', 'serviceKey', 'basic', 'certificate'])
    assert.match(output.url, /^https:\/\/127\.0\.0\.1:\d+$/)
    assert.equal(output.serviceKey.oauth.tokenurl, `${output.url}/oauth/token`)
    assert.match(output.certificate, /^-----BEGIN CERTIFICATE-----/)

    const agent = new Agent({ connect: { ca: output.certificate } })
    t.after(() => agent.close())
    const { clientid, clientsecret, tokenurl } = output.serviceKey.oauth
    const token = await request(tokenurl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: clientid,
        client_secret: clientsecret,
      }).toString(),
      dispatcher: agent,
    })
    assert.equal(token.statusCode, 200)
    const { access_token } = (await token.body.json()) as { access_token: string }
    const call = await request(`${output.url}/http/orders`, {
      headers: { authorization: `Bearer ${access_token}` },
      dispatcher: agent,
    })
    assert.equal(call.statusCode, 200)
    assert.deepEqual(((await call.body.json()) as { iflow: string }).iflow, '/orders')

    child.kill('SIGTERM')
    const [code] = await once(child, 'exit')
    assert.equal(code, 0)
  })

  test('refuses a certificate without its key', async () => {
    const child = run(['--cert', '/nonexistent.crt'])
    let stderr = ''
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8')
    })
    const [code] = await once(child, 'exit')
    assert.equal(code, 1)
    assert.equal(stderr, 'cpi-simulator: --cert and --key must be given together\n')
  })
})

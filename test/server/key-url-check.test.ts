import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { loadConfig } from '../../src/config/load.ts'
import { keyUrlWarnings } from '../../src/server/key-url-check.ts'

const dataDir = mkdtempSync(join(tmpdir(), 'flowgate-key-url-'))
after(() => rmSync(dataDir, { recursive: true, force: true }))

const configWith = (publicUrl: string | undefined) =>
  loadConfig({
    env: {},
    overrides: { dataDir, 'runtime.port': 9443, ...(publicUrl === undefined ? {} : { publicUrl }) },
  })

describe('keyUrlWarnings', () => {
  test('a loopback publicUrl on another port than the runtime listener', () => {
    assert.deepEqual(
      keyUrlWarnings(configWith('https://localhost:8443'), 'https://0.0.0.0:9443', undefined),
      [
        "publicUrl https://localhost:8443 is not where the runtime listener listens (https://0.0.0.0:9443): service keys and tokens carry publicUrl; set it to the runtime listener's address or leave it unset",
      ],
    )
  })

  test('a remote publicUrl (a load balancer may stand in front) and a matching one are not judged', () => {
    assert.deepEqual(
      keyUrlWarnings(configWith('https://flowgate.example.com'), 'https://0.0.0.0:9443', undefined),
      [],
    )
    assert.deepEqual(keyUrlWarnings(configWith(undefined), 'https://0.0.0.0:9443', undefined), [])
  })

  test('an admin key issued for another publicUrl names the command that re-issues it', () => {
    const keyFile = join(dataDir, 'admin-key.json')
    writeFileSync(keyFile, JSON.stringify({ oauth: { tokenurl: 'https://localhost:8443/oauth/token' } }))
    try {
      assert.deepEqual(keyUrlWarnings(configWith(undefined), 'https://0.0.0.0:9443', 'gw.yaml'), [
        `the admin key ${keyFile} was issued for https://localhost:8443, not for publicUrl https://localhost:9443; re-issue it with bin/flowgate init --reissue-admin-key --config gw.yaml`,
      ])
      writeFileSync(keyFile, JSON.stringify({ oauth: { tokenurl: 'https://localhost:9443/oauth/token' } }))
      assert.deepEqual(keyUrlWarnings(configWith(undefined), 'https://0.0.0.0:9443', 'gw.yaml'), [])
    } finally {
      rmSync(keyFile)
    }
  })
})

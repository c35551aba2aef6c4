import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { loadConfig } from '../../src/config/load.ts'
import { FlowgateError } from '../../src/lib/errors.ts'

function loadError(overrides: Record<string, unknown>): { code: string; message: string } {
  try {
    loadConfig({ env: {}, overrides })
  } catch (error) {
    assert.ok(error instanceof FlowgateError)
    return { code: error.code, message: error.message }
  }
  assert.fail('expected a configuration error')
}

describe('the runtime and admin listeners in the configuration', () => {
  test('the same port on the same or a wildcard address is refused', () => {
    for (const [runtimeHost, adminHost] of [
      ['127.0.0.1', '127.0.0.1'],
      ['0.0.0.0', '127.0.0.1'],
      ['10.0.0.5', '::'],
    ]) {
      assert.deepEqual(
        loadError({
          'runtime.host': runtimeHost,
          'admin.host': adminHost,
          'runtime.port': 9000,
          'admin.port': 9000,
        }),
        {
          code: 'ERR_CONFIG_INVALID',
          message: `invalid configuration: runtime.port and admin.port are both 9000 on ${runtimeHost} and ${adminHost}; give the listeners different ports`,
        },
      )
    }
  })

  test('the same port on two distinct addresses, or port 0 twice, is accepted', () => {
    const distinct = loadConfig({
      env: {},
      overrides: {
        'runtime.host': '10.0.0.5',
        'admin.host': '127.0.0.1',
        'runtime.port': 9000,
        'admin.port': 9000,
      },
    })
    assert.deepEqual([distinct.runtime.port, distinct.admin.port], [9000, 9000])
    const ephemeral = loadConfig({ env: {}, overrides: { 'runtime.port': 0, 'admin.port': 0 } })
    assert.deepEqual([ephemeral.runtime.port, ephemeral.admin.port], [0, 0])
  })
})

describe('publicUrl when not set', () => {
  const publicUrlOf = (env: Record<string, string>) => loadConfig({ env }).publicUrl

  test('is derived from the runtime listener', () => {
    assert.deepEqual(
      [
        publicUrlOf({}),
        publicUrlOf({ FLOWGATE_RUNTIME_PORT: '9443' }),
        publicUrlOf({ FLOWGATE_RUNTIME_HOST: '127.0.0.1', FLOWGATE_RUNTIME_PORT: '9443' }),
        publicUrlOf({ FLOWGATE_RUNTIME_HOST: 'gw.internal', FLOWGATE_RUNTIME_PORT: '9443' }),
        publicUrlOf({ FLOWGATE_RUNTIME_HOST: 'fd00::5', FLOWGATE_RUNTIME_PORT: '9443' }),
        publicUrlOf({ FLOWGATE_RUNTIME_HOST: 'gw.internal', FLOWGATE_RUNTIME_PORT: '443' }),
      ],
      [
        'https://localhost:8443',
        'https://localhost:9443',
        'https://localhost:9443',
        'https://gw.internal:9443',
        'https://[fd00::5]:9443',
        'https://gw.internal',
      ],
    )
  })

  test('a configured publicUrl is kept as given', () => {
    assert.equal(
      publicUrlOf({ FLOWGATE_PUBLIC_URL: 'https://flowgate.example.com', FLOWGATE_RUNTIME_PORT: '9443' }),
      'https://flowgate.example.com',
    )
  })

  test('with runtime.port 0 (known only once listening) the default stays', () => {
    assert.equal(publicUrlOf({ FLOWGATE_RUNTIME_PORT: '0' }), 'https://localhost:8443')
  })
})

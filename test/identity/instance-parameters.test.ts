import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { parseInstanceParameters, toSapInstanceParameters } from '../../src/identity/instance-parameters.ts'
import { parseKeyParameters } from '../../src/identity/key-parameters.ts'
import { clientIdFor, roleOfScope, scopeOf, xsappnameOf } from '../../src/identity/names.ts'
import { FlowgateError } from '../../src/lib/errors.ts'

function failure(run: () => unknown): { code: string; message: string } {
  try {
    run()
  } catch (error) {
    assert.ok(error instanceof FlowgateError)
    return { code: error.code, message: error.message }
  }
  assert.fail('expected a FlowgateError')
}

describe('names', () => {
  test('xsappname, client id and scopes follow SAP', () => {
    const xsappname = xsappnameOf({ gatewayName: 'acme' })
    assert.equal(xsappname, 'it-rt-acme!b1')
    assert.equal(
      clientIdFor('0f0e4a6e-1b7e-4bd0-9d43-7a1d5c6b1a11', 7, xsappname),
      'sb-0f0e4a6e-1b7e-4bd0-9d43-7a1d5c6b1a11!b7|it-rt-acme!b1',
    )
    assert.equal(scopeOf(xsappname, 'ESBMessaging.send'), 'it-rt-acme!b1.ESBMessaging.send')
    assert.equal(roleOfScope(xsappname, 'it-rt-acme!b1.ESBMessaging.send'), 'ESBMessaging.send')
    assert.equal(roleOfScope(xsappname, 'it-rt-other!b1.ESBMessaging.send'), undefined)
    assert.equal(roleOfScope(xsappname, 'it-rt-acme!b1.'), undefined)
  })
})

describe('parseInstanceParameters', () => {
  test('SAP defaults for plan integration-flow', () => {
    assert.deepEqual(parseInstanceParameters(undefined, 'integration-flow', 43200), {
      roles: ['ESBMessaging.send'],
      grantTypes: ['client_credentials'],
      tokenValidity: 3600,
    })
  })

  test('SAP JSON verbatim, round trip', () => {
    const sap = {
      roles: ['ESBMessaging.send', 'Orders.read'],
      'grant-types': ['client_credentials'],
      'token-validity': 600,
    }
    const parsed = parseInstanceParameters(sap, 'integration-flow', 43200)
    assert.deepEqual(parsed, {
      roles: ['ESBMessaging.send', 'Orders.read'],
      grantTypes: ['client_credentials'],
      tokenValidity: 600,
    })
    assert.deepEqual(toSapInstanceParameters(parsed), sap)
  })

  test('an update keeps what it does not name', () => {
    const current = {
      roles: ['Orders.read'],
      grantTypes: ['client_credentials' as const],
      tokenValidity: 900,
    }
    assert.deepEqual(parseInstanceParameters({ 'token-validity': 120 }, 'integration-flow', 43200, current), {
      roles: ['Orders.read'],
      grantTypes: ['client_credentials'],
      tokenValidity: 120,
    })
  })

  test('plan api holds only Flowgate.* roles and must name them', () => {
    assert.deepEqual(parseInstanceParameters({ roles: ['Flowgate.Viewer'] }, 'api', 43200).roles, [
      'Flowgate.Viewer',
    ])
  })

  const invalid: Array<[string, unknown, 'integration-flow' | 'api', string, string]> = [
    [
      'not an object',
      [1],
      'integration-flow',
      'ERR_INVALID_PARAMETERS',
      'invalid parameters: parameters must be a JSON object',
    ],
    [
      'unknown key',
      { role: ['x'] },
      'integration-flow',
      'ERR_INVALID_PARAMETERS',
      'invalid parameters: unknown key "role" (allowed: "roles", "grant-types", "token-validity")',
    ],
    [
      'roles not an array',
      { roles: 'x' },
      'integration-flow',
      'ERR_INVALID_PARAMETERS',
      'invalid parameters: "roles" must be an array of role names',
    ],
    [
      'bad role name',
      { roles: ['a b'] },
      'integration-flow',
      'ERR_INVALID_ROLE_NAME',
      'invalid role name "a b": use letters, digits, "_" and "."',
    ],
    [
      'admin role on integration-flow',
      { roles: ['Flowgate.Admin'] },
      'integration-flow',
      'ERR_ROLE_NOT_ALLOWED_FOR_PLAN',
      'role "Flowgate.Admin" is reserved for plan "api" and cannot be held by plan "integration-flow"',
    ],
    [
      'runtime role on api',
      { roles: ['ESBMessaging.send'] },
      'api',
      'ERR_ROLE_NOT_ALLOWED_FOR_PLAN',
      'plan "api" holds only Flowgate.* roles; "ESBMessaging.send" is not one',
    ],
    [
      'api without roles',
      {},
      'api',
      'ERR_INVALID_PARAMETERS',
      'invalid parameters: plan "api" needs "roles" (for example ["Flowgate.Viewer"])',
    ],
    [
      'unsupported grant type',
      { 'grant-types': ['authorization_code'] },
      'integration-flow',
      'ERR_UNSUPPORTED_GRANT_TYPE_PARAMETER',
      'unsupported grant type "authorization_code": only "client_credentials" is supported',
    ],
    [
      'fractional validity',
      { 'token-validity': 60.5 },
      'integration-flow',
      'ERR_INVALID_TOKEN_VALIDITY',
      '"token-validity" must be a whole number of seconds',
    ],
    [
      'validity as string',
      { 'token-validity': '3600' },
      'integration-flow',
      'ERR_INVALID_TOKEN_VALIDITY',
      '"token-validity" must be a whole number of seconds',
    ],
    [
      'validity too short',
      { 'token-validity': 59 },
      'integration-flow',
      'ERR_INVALID_TOKEN_VALIDITY',
      '"token-validity" must be between 60 and 43200 seconds',
    ],
    [
      'validity too long',
      { 'token-validity': 43201 },
      'integration-flow',
      'ERR_INVALID_TOKEN_VALIDITY',
      '"token-validity" must be between 60 and 43200 seconds',
    ],
  ]
  for (const [name, raw, plan, code, message] of invalid) {
    test(`refuses ${name}`, () => {
      assert.deepEqual(
        failure(() => parseInstanceParameters(raw, plan, 43200)),
        { code, message },
      )
    })
  }
})

describe('parseKeyParameters', () => {
  test('defaults and validity', () => {
    assert.deepEqual(parseKeyParameters(undefined), { keyType: 'clientsecret', validityDays: null })
    assert.deepEqual(parseKeyParameters({ 'key-type': 'clientsecret', validity: 365 }), {
      keyType: 'clientsecret',
      validityDays: 365,
    })
  })

  const invalid: Array<[string, unknown, string, string]> = [
    [
      'certificate',
      { 'key-type': 'certificate' },
      'ERR_KEY_TYPE_NOT_SUPPORTED',
      'key type "certificate" is not supported yet; use "clientsecret"',
    ],
    [
      'certificate_external',
      { 'key-type': 'certificate_external' },
      'ERR_KEY_TYPE_NOT_SUPPORTED',
      'key type "certificate_external" is not supported yet; use "clientsecret"',
    ],
    [
      'unknown key type',
      { 'key-type': 'password' },
      'ERR_INVALID_PARAMETERS',
      'invalid parameters: "key-type" must be "clientsecret", "certificate" or "certificate_external"',
    ],
    [
      'unknown key',
      { expiry: 1 },
      'ERR_INVALID_PARAMETERS',
      'invalid parameters: unknown key "expiry" (allowed: "key-type", "validity")',
    ],
    [
      'zero validity',
      { validity: 0 },
      'ERR_INVALID_PARAMETERS',
      'invalid parameters: "validity" must be a whole number of days between 1 and 3650',
    ],
  ]
  for (const [name, raw, code, message] of invalid) {
    test(`refuses ${name}`, () => {
      assert.deepEqual(
        failure(() => parseKeyParameters(raw)),
        { code, message },
      )
    })
  }
})

import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { FlowgateError } from '../../src/lib/errors.ts'
import { basicChallenge, clientCredentials } from '../../src/oauth/client-credentials.ts'
import { parseForm } from '../../src/oauth/form-body.ts'

const clientId = 'sb-6f1c0b4e-7b5d-4a51-9a36-2a4b1f0d9e11!b3|it-rt-flowgate!b1'
const secret = 'Zm9vYmFyYmF6cXV4cXV1eDEyMzQ1Njc4OTAxMjM0NTY'

function basic(id: string, password: string): string {
  return `Basic ${Buffer.from(`${id}:${password}`).toString('base64')}`
}

function failure(run: () => unknown) {
  try {
    run()
  } catch (error) {
    assert.ok(error instanceof FlowgateError)
    return { code: error.code, description: error.description, headers: error.headers }
  }
  assert.fail('expected a FlowgateError')
}

describe('parseForm', () => {
  test('form decoding: + is a space, percent escapes, empty pairs skipped', () => {
    assert.deepEqual(
      [...parseForm('grant_type=client_credentials&&scope=a+b&client_id=sb-x%21b1%7Cy')],
      [
        ['grant_type', 'client_credentials'],
        ['scope', 'a b'],
        ['client_id', 'sb-x!b1|y'],
      ],
    )
  })

  test('a duplicated parameter is an invalid request, also across query and body', () => {
    assert.deepEqual(
      failure(() => parseForm('a=1&a=1')),
      {
        code: 'ERR_OAUTH_INVALID_REQUEST',
        description: 'a parameter is given more than once',
        headers: undefined,
      },
    )
    const query = parseForm('grant_type=client_credentials')
    assert.equal(
      failure(() => parseForm('grant_type=client_credentials', query)).code,
      'ERR_OAUTH_INVALID_REQUEST',
    )
  })

  test('a malformed escape is an invalid request', () => {
    assert.equal(failure(() => parseForm('client_id=%zz')).code, 'ERR_OAUTH_INVALID_REQUEST')
  })
})

describe('clientCredentials', () => {
  test('Basic with raw client id (SAP clients do not encode)', () => {
    assert.deepEqual(clientCredentials(basic(clientId, secret), new Map()), {
      clientId,
      clientSecret: secret,
      method: 'client_secret_basic',
    })
  })

  test('Basic with RFC 6749 Appendix B encoding', () => {
    const encoded = encodeURIComponent(clientId)
    assert.notEqual(encoded, clientId)
    assert.deepEqual(clientCredentials(basic(encoded, encodeURIComponent(secret)), new Map()), {
      clientId,
      clientSecret: secret,
      method: 'client_secret_basic',
    })
  })

  test('Basic scheme name is case-insensitive; body client_id equal to Basic is fine', () => {
    const header = basic(clientId, secret).replace('Basic', 'bAsIc')
    assert.equal(clientCredentials(header, new Map([['client_id', clientId]])).method, 'client_secret_basic')
  })

  test('form body credentials', () => {
    assert.deepEqual(
      clientCredentials(
        undefined,
        new Map([
          ['client_id', clientId],
          ['client_secret', secret],
        ]),
      ),
      { clientId, clientSecret: secret, method: 'client_secret_post' },
    )
  })

  const challenge = { 'www-authenticate': basicChallenge }
  const refused: Array<[string, string | undefined, Array<[string, string]>, string, string, unknown]> = [
    [
      'two methods at once',
      basic(clientId, secret),
      [['client_secret', secret]],
      'ERR_OAUTH_INVALID_REQUEST',
      'use one client authentication method: HTTP Basic or client_secret in the body',
      undefined,
    ],
    [
      'body client_id differs from Basic',
      basic(clientId, secret),
      [['client_id', 'other']],
      'ERR_OAUTH_INVALID_REQUEST',
      'client_id in the body differs from the HTTP Basic client id',
      undefined,
    ],
    [
      'no authentication',
      undefined,
      [],
      'ERR_OAUTH_INVALID_CLIENT',
      'client authentication failed',
      challenge,
    ],
    [
      'client_id without secret',
      undefined,
      [['client_id', clientId]],
      'ERR_OAUTH_INVALID_CLIENT',
      'client authentication failed',
      undefined,
    ],
    [
      'secret without client_id',
      undefined,
      [['client_secret', secret]],
      'ERR_OAUTH_INVALID_REQUEST',
      'client_secret without client_id',
      undefined,
    ],
    [
      'Bearer instead of Basic',
      'Bearer abc',
      [],
      'ERR_OAUTH_INVALID_CLIENT',
      'client authentication failed',
      challenge,
    ],
    [
      'Basic without colon',
      `Basic ${Buffer.from('abc').toString('base64')}`,
      [],
      'ERR_OAUTH_INVALID_CLIENT',
      'client authentication failed',
      challenge,
    ],
    [
      'Basic not base64',
      'Basic ***',
      [],
      'ERR_OAUTH_INVALID_CLIENT',
      'client authentication failed',
      challenge,
    ],
    [
      'Basic with empty secret',
      basic(clientId, ''),
      [],
      'ERR_OAUTH_INVALID_CLIENT',
      'client authentication failed',
      challenge,
    ],
  ]
  for (const [name, authorization, params, code, description, headers] of refused) {
    test(`refuses ${name}`, () => {
      assert.deepEqual(
        failure(() => clientCredentials(authorization, new Map(params))),
        { code, description, headers },
      )
    })
  }
})

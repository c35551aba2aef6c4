import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { loadConfig } from '../../src/config/load.ts'
import { normalizeAddress } from '../../src/flows/address.ts'
import { validateFlowInput } from '../../src/flows/flow-input.ts'
import { isLoopbackHost, parseUpstreamUrl } from '../../src/flows/upstream-url.ts'
import { FlowgateError } from '../../src/lib/errors.ts'

const config = loadConfig({ env: {} })

function validationError(run: () => unknown): string {
  try {
    run()
  } catch (error) {
    assert.ok(error instanceof FlowgateError)
    assert.equal(error.code, 'ERR_VALIDATION')
    return error.description
  }
  assert.fail('expected a validation error')
}

describe('normalizeAddress', () => {
  test('writes addresses as CPI does: leading slash, lower case, no trailing slash', () => {
    assert.equal(normalizeAddress('orders'), '/orders')
    assert.equal(normalizeAddress('/Orders'), '/orders')
    assert.equal(normalizeAddress(' /orders/ '), '/orders')
    assert.equal(normalizeAddress('/Purchase-Orders/v1.2_x~y'), '/purchase-orders/v1.2_x~y')
    assert.equal(normalizeAddress('/orders/*'), '/orders/*')
    assert.equal(normalizeAddress('ORDERS/A/*'), '/orders/a/*')
  })

  test('refuses what cannot be an address', () => {
    const cases: [string, string][] = [
      ['/', 'invalid flow address: must name at least one path segment'],
      ['/*', 'invalid flow address: must name at least one path segment'],
      ['', 'invalid flow address: must name at least one path segment'],
      ['/a//b', 'invalid flow address: empty path segment'],
      ['/a/../b', 'invalid flow address: dot segments are not allowed'],
      ['/./a', 'invalid flow address: dot segments are not allowed'],
      ['/a%2fb', 'invalid flow address: only letters, digits and - . _ ~ are allowed in a segment'],
      ['/a b', 'invalid flow address: only letters, digits and - . _ ~ are allowed in a segment'],
      ['/a;b', 'invalid flow address: only letters, digits and - . _ ~ are allowed in a segment'],
      ['/a\\b', 'invalid flow address: only letters, digits and - . _ ~ are allowed in a segment'],
      ['/a/*/b', 'invalid flow address: only letters, digits and - . _ ~ are allowed in a segment'],
      ['/ä', 'invalid flow address: only letters, digits and - . _ ~ are allowed in a segment'],
      [`/${'a'.repeat(200)}`, 'invalid flow address: longer than 200 characters'],
    ]
    for (const [input, message] of cases)
      assert.equal(
        validationError(() => normalizeAddress(input)),
        message,
        input,
      )
    assert.equal(
      validationError(() => normalizeAddress(42 as unknown as string)),
      'invalid flow address: must be a string',
    )
  })
})

describe('parseUpstreamUrl', () => {
  test('accepts https anywhere and http on loopback only', () => {
    assert.equal(
      parseUpstreamUrl('https://cpi.example.com/http/orders', false).href,
      'https://cpi.example.com/http/orders',
    )
    assert.equal(parseUpstreamUrl('http://localhost:8080/x', false).host, 'localhost:8080')
    assert.equal(parseUpstreamUrl('http://127.0.0.5/x', false).hostname, '127.0.0.5')
    assert.equal(parseUpstreamUrl('http://[::1]:9/x', false).hostname, '[::1]')
    assert.equal(parseUpstreamUrl('http://cpi.example.com/x', true).protocol, 'http:')
    assert.equal(isLoopbackHost('127.evil.example'), false)
    assert.equal(isLoopbackHost('localhost.evil.example'), false)
  })

  test('refuses everything else with a public reason', () => {
    const cases: [unknown, string][] = [
      [
        'http://cpi.example.com/x',
        'invalid upstream URL: http is only allowed for loopback hosts (see upstream.unsafeAllowHttp)',
      ],
      [
        'http://127.0.0.1.nip.io/x',
        'invalid upstream URL: http is only allowed for loopback hosts (see upstream.unsafeAllowHttp)',
      ],
      ['ftp://cpi.example.com/x', 'invalid upstream URL: must use https'],
      [
        'https://user:pw@cpi.example.com/x',
        'invalid upstream URL: must not carry credentials; use an upstream connection',
      ],
      ['https://cpi.example.com/x#a', 'invalid upstream URL: must not have a fragment'],
      ['https://cpi.example.com/x?a=1', 'invalid upstream URL: must not have a query string'],
      ['/relative', 'invalid upstream URL: not an absolute URL'],
      ['', 'invalid upstream URL: must be a non-empty string'],
      [null, 'invalid upstream URL: must be a non-empty string'],
    ]
    for (const [input, message] of cases) {
      assert.equal(
        validationError(() => parseUpstreamUrl(input, false)),
        message,
        String(input),
      )
    }
  })
})

describe('validateFlowInput', () => {
  test('fills CPI defaults and the configured limits', () => {
    assert.deepEqual(
      validateFlowInput({ address: 'Orders', upstream: 'https://cpi.example.com/http/orders' }, config),
      {
        address: '/orders',
        upstream: 'https://cpi.example.com/http/orders',
        role: 'ESBMessaging.send',
        methods: ['POST'],
        csrf: true,
        maxBodyBytes: 10_485_760,
        timeoutMs: 60_000,
        connection: null,
        requestHeaders: { mode: 'deny-list' },
      },
    )
  })

  test('normalises methods and keeps explicit values', () => {
    assert.deepEqual(
      validateFlowInput(
        {
          address: '/files/*',
          upstream: 'https://cpi.example.com/http/files/',
          role: 'Partner.read',
          methods: ['get', 'HEAD', 'Get'],
          csrf: false,
          maxBodyBytes: 0,
          timeoutMs: 100,
          connection: 'cpi-prod',
          requestHeaders: { mode: 'allow-list', allow: ['SAP_ApplicationID', 'Content-Type'] },
        },
        config,
      ),
      {
        address: '/files/*',
        upstream: 'https://cpi.example.com/http/files/',
        role: 'Partner.read',
        methods: ['GET', 'HEAD'],
        csrf: false,
        maxBodyBytes: 0,
        timeoutMs: 100,
        connection: 'cpi-prod',
        requestHeaders: { mode: 'allow-list', allow: ['sap_applicationid', 'content-type'] },
      },
    )
  })

  test('a request-header allow-list names each header once, and never one Flowgate controls', () => {
    const base = { address: '/orders', upstream: 'https://cpi.example.com/x' }
    const allowing = (allow: unknown) => ({ ...base, requestHeaders: { mode: 'allow-list', allow } })
    const controlled = (name: string) =>
      `invalid flow: requestHeaders.allow: ${name} is always handled by Flowgate and cannot be allowed (docs/runtime.md, "Header rules")`
    const cases: [Record<string, unknown>, string][] = [
      [
        { ...base, requestHeaders: 'allow-list' },
        'invalid flow: requestHeaders must be an object with a mode',
      ],
      [
        { ...base, requestHeaders: { mode: 'open' } },
        'invalid flow: requestHeaders.mode must be deny-list or allow-list',
      ],
      [
        { ...base, requestHeaders: { mode: 'deny-list', allow: [] } },
        'invalid flow: requestHeaders in deny-list mode takes no other property',
      ],
      [
        { ...base, requestHeaders: { mode: 'allow-list', allow: [], deny: [] } },
        'invalid flow: requestHeaders in allow-list mode takes only mode and allow',
      ],
      [
        { ...base, requestHeaders: { mode: 'allow-list' } },
        'invalid flow: requestHeaders.allow must be an array of header names',
      ],
      [allowing(['x a']), 'invalid flow: requestHeaders.allow: "x a" is not a header name'],
      [allowing(['']), 'invalid flow: requestHeaders.allow: "" is not a header name'],
      [allowing([7]), 'invalid flow: requestHeaders.allow: 7 is not a header name'],
      [allowing(['x:y']), 'invalid flow: requestHeaders.allow: "x:y" is not a header name'],
      [
        allowing(['x'.repeat(129)]),
        `invalid flow: requestHeaders.allow: "${'x'.repeat(129)}" is not a header name`,
      ],
      [allowing(['X-Custom', 'x-custom']), 'invalid flow: requestHeaders.allow names x-custom twice'],
      [
        allowing(Array.from({ length: 65 }, (_, i) => `x-h${i}`)),
        'invalid flow: requestHeaders.allow names at most 64 headers',
      ],
    ]
    for (const name of [
      'Host',
      'Content-Length',
      'Authorization',
      'Connection',
      'Transfer-Encoding',
      'Cookie',
      'X-CSRF-Token',
      'X-Flowgate-Client-Id',
      'X_Flowgate_Roles',
      'X-Correlation-Id',
      'Traceparent',
      'X-Forwarded-For',
      'Forwarded',
      'X-HTTP-Method-Override',
      'X_Real_IP',
      'X-Forwarded-Client-Cert',
    ]) {
      cases.push([allowing([name]), controlled(name.toLowerCase())])
    }
    for (const [input, message] of cases) {
      assert.equal(
        validationError(() => validateFlowInput(input, config)),
        message,
        JSON.stringify(input),
      )
    }
    assert.deepEqual(validateFlowInput(allowing([]), config).requestHeaders, {
      mode: 'allow-list',
      allow: [],
    })
    assert.deepEqual(
      validateFlowInput({ ...base, requestHeaders: { mode: 'deny-list' } }, config).requestHeaders,
      {
        mode: 'deny-list',
      },
    )
  })

  test('a flow may require any role an administrator can create: up to 100 characters', () => {
    const role = 'R'.repeat(100)
    assert.equal(
      validateFlowInput({ address: '/orders', upstream: 'https://cpi.example.com/x', role }, config).role,
      role,
    )
  })

  test('refuses bad values, one reason each', () => {
    const roleRule = 'invalid flow: role must be a role name: 1 to 100 letters, digits, "_" and "."'
    const base = { address: '/orders', upstream: 'https://cpi.example.com/x' }
    const cases: [Record<string, unknown>, string][] = [
      [{ ...base, extra: 1 }, 'invalid flow: unknown property "extra"'],
      [{ ...base, role: 'no spaces' }, roleRule],
      [{ ...base, role: 'R'.repeat(101) }, roleRule],
      [{ ...base, methods: [] }, 'invalid flow: methods must be a non-empty array'],
      [{ ...base, methods: ['TRACE'] }, 'invalid flow: unknown method "TRACE"'],
      [{ ...base, methods: ['CONNECT'] }, 'invalid flow: unknown method "CONNECT"'],
      [{ ...base, csrf: 'yes' }, 'invalid flow: csrf must be a boolean'],
      [{ ...base, timeoutMs: 99 }, 'invalid flow: timeoutMs must be an integer from 100 to 600000'],
      [{ ...base, timeoutMs: 1.5 }, 'invalid flow: timeoutMs must be an integer from 100 to 600000'],
      [{ ...base, maxBodyBytes: -1 }, 'invalid flow: maxBodyBytes must be an integer from 0 to 17179869184'],
      [
        { ...base, connection: '../x' },
        'invalid flow: connection must be the name of an upstream connection',
      ],
      [
        { ...base, upstream: 'http://cpi.example.com/x' },
        'invalid upstream URL: http is only allowed for loopback hosts (see upstream.unsafeAllowHttp)',
      ],
      [{ ...base, address: '/a/../b' }, 'invalid flow address: dot segments are not allowed'],
    ]
    for (const [input, message] of cases) {
      assert.equal(
        validationError(() => validateFlowInput(input, config)),
        message,
        JSON.stringify(input),
      )
    }
    assert.equal(
      validationError(() => validateFlowInput(null, config)),
      'invalid flow: must be an object',
    )
  })

  test('the unsafe switch admits plain http to any host', () => {
    const unsafe = loadConfig({ env: {}, overrides: { 'upstream.unsafeAllowHttp': true } })
    assert.equal(
      validateFlowInput({ address: '/a', upstream: 'http://cpi.example.com/x' }, unsafe).upstream,
      'http://cpi.example.com/x',
    )
  })
})

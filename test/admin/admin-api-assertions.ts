import assert from 'node:assert/strict'
import type { AdminResponse } from '../helpers/admin-harness.ts'

export const frozenIso = '2025-07-02T00:17:31.000Z'
export const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** Headers every admin answer carries. */
export function assertCommonHeaders(response: AdminResponse): void {
  assert.equal(response.headers['strict-transport-security'], 'max-age=31536000')
  assert.equal(response.headers['cache-control'], 'no-store')
  assert.equal(response.headers['x-content-type-options'], 'nosniff')
  assert.match(String(response.headers['x-correlation-id']), uuid)
}

export function assertJson(response: AdminResponse, status: number, body: unknown): void {
  assert.equal(response.status, status, response.text)
  assertCommonHeaders(response)
  assert.equal(response.headers['content-type'], 'application/json; charset=utf-8')
  assert.deepEqual(response.body, body)
}

export function assertNoContent(response: AdminResponse): void {
  assert.equal(response.status, 204, response.text)
  assertCommonHeaders(response)
  assert.equal(response.text, '')
}

/** Flowgate's error shape, whole: the correlation id is the one of the header. */
export function assertError(
  response: AdminResponse,
  status: number,
  code: string,
  description: string,
  error = code.slice(4).toLowerCase(),
): void {
  assert.equal(response.status, status, response.text)
  assertCommonHeaders(response)
  assert.equal(response.headers['content-type'], 'application/json; charset=utf-8')
  assert.deepEqual(response.body, {
    error,
    error_description: description,
    code,
    correlation_id: response.headers['x-correlation-id'],
  })
}

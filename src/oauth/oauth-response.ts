import type { IncomingMessage, ServerResponse } from 'node:http'
import { FlowgateError } from '../lib/errors.ts'

/** Token-bearing answers must never be cached (RFC 6749 §5.1). */
export const noStore = { 'cache-control': 'no-store', pragma: 'no-cache' } as const

export function sendJson(
  res: ServerResponse,
  status: number,
  body: string,
  headers: Readonly<Record<string, string>>,
  correlationId: string,
  head = false,
): void {
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-correlation-id': correlationId,
    ...headers,
  })
  res.end(head ? undefined : body)
}

/** 405 with the methods this path answers to. */
export function checkMethod(req: IncomingMessage, allowed: readonly string[]): void {
  if (allowed.includes(req.method ?? '')) return
  req.resume()
  throw new FlowgateError('ERR_METHOD_NOT_ALLOWED', {
    detail: `method ${String(req.method).slice(0, 16)}`,
    headers: { allow: allowed.join(', ') },
  })
}

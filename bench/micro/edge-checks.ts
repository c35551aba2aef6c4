/**
 * Micro-benchmark of the per-request checks the edge hardening added to the runtime's hot path:
 * the listener's request-head checks (version, target length, one well-formed Host), the
 * query-token check on an empty and on an ordinary query, and the upstream header list with the
 * deny-list and its underscore spellings in one Set (run the same case on the previous commit to
 * compare). Header strings are made fresh per iteration, as Node's HTTP parser makes them per
 * request.
 *   node bench/micro/edge-checks.ts
 */
import type { IncomingMessage } from 'node:http'
import type { RequestContext } from '../../src/lib/request-context.ts'
import { requestHeadRefusal } from '../../src/lib/request-head.ts'
import { allowedRequestHeaders, upstreamRequestHeaders } from '../../src/runtime/headers.ts'
import { queryTokenRefusal } from '../../src/runtime/query-token.ts'
import { runMicroCases } from '../lib/micro-cases.ts'

const iterations = 500_000
/** A flow's compiled allow-list, as the route table holds it. */
const allowList = allowedRequestHeaders({ mode: 'allow-list', allow: ['content-type', 'sap_applicationid'] })
const rounds = 5
const names = [
  'Host',
  'User-Agent',
  'Accept',
  'Content-Type',
  'Content-Length',
  'Authorization',
  'SAP_ApplicationID',
  'X-Custom',
]
const values = [
  'flowgate.example.com:8443',
  'sap-cloud-sdk/3',
  '*/*',
  'application/xml',
  '512',
  'Bearer eyJ…',
  'order-4711',
  'x',
]
let sink = 0

function freshRequest(): IncomingMessage {
  const rawHeaders: string[] = []
  for (let i = 0; i < names.length; i++) rawHeaders.push(`${names[i]}`, `${values[i]}`)
  return {
    httpVersionMajor: 1,
    httpVersionMinor: 1,
    url: '/http/orders?SAP_ApplicationID=order-4711&b=2',
    rawHeaders,
    headers: { host: rawHeaders[1], 'content-length': '512' },
  } as unknown as IncomingMessage
}

const ctx = {
  correlationId: '0f8fad5b-d9cb-469f-a165-70867728950e',
  trustedProxy: false,
  clientAddress: '192.0.2.7',
} as RequestContext
const caller = { clientId: 'sb-partner', instance: 'partner', roles: 'ESBMessaging.send' }

const cases: Record<string, () => void> = {
  'fresh request (subtracted from the others)': () => {
    sink += freshRequest().rawHeaders.length
  },
  requestHeadRefusal: () => {
    if (requestHeadRefusal(freshRequest(), 8192) !== null) throw new Error('refused')
  },
  'queryTokenRefusal, no query': () => {
    sink += freshRequest().rawHeaders.length
    if (queryTokenRefusal('', undefined) !== null) throw new Error('refused')
  },
  'queryTokenRefusal, two parameters': () => {
    const req = freshRequest()
    if (queryTokenRefusal((req.url as string).slice(12), undefined) !== null) throw new Error('refused')
  },
  upstreamRequestHeaders: () => {
    sink += upstreamRequestHeaders(freshRequest(), ctx, caller, null, 'flowgate.example.com', null).length
  },
  'upstreamRequestHeaders, allow-list': () => {
    sink += upstreamRequestHeaders(
      freshRequest(),
      ctx,
      caller,
      null,
      'flowgate.example.com',
      allowList,
    ).length
  },
}

runMicroCases(cases, { iterations, rounds, baseline: 'fresh request (subtracted from the others)' })
if (sink < 0) console.log(sink)

/**
 * Micro-benchmark behind writing the flow proxy's answer with one header list:
 * a header set with `res.setHeader` before `res.writeHead(status, [...])` sends writeHead down
 * Node's slow path, which calls removeHeader and then appendHeader (validating again) for every
 * header in the list. Each case builds a fresh ServerResponse (subtracted) and serialises the head
 * of a typical forwarded answer, the way `res.writeHead` + the first `res.write` do.
 *   scripts/node.sh node bench/micro/response-headers.ts
 */
import { IncomingMessage, ServerResponse } from 'node:http'
import { Socket } from 'node:net'
import { runMicroCases } from '../lib/micro-cases.ts'

const iterations = 100_000
const rounds = 7
const hsts = 'max-age=31536000'
const upstream = [
  'content-type',
  'application/json',
  'content-length',
  '212',
  'date',
  'Wed, 02 Dec 2026 05:00:00 GMT',
]
const correlationId = '6c1f0e9a-3b5d-4c2e-9f7a-1d8b2e4c6a0f'
const request = new IncomingMessage(new Socket())
request.httpVersionMajor = 1
request.httpVersionMinor = 1
let sink = 0

function fresh(): ServerResponse {
  return new ServerResponse(request)
}

/** Serialises the head without a socket: what `_send` does on the first write. */
function head(res: ServerResponse): number {
  return ((res as unknown as { _header: string })._header ?? '').length
}

const cases: Record<string, () => void> = {
  'fresh ServerResponse (subtracted from the others)': () => {
    sink += fresh().statusCode
  },
  'setHeader(HSTS) + writeHead(list) (before)': () => {
    const res = fresh()
    res.setHeader('strict-transport-security', hsts)
    res.writeHead(200, [...upstream, 'x-correlation-id', correlationId])
    sink += head(res)
  },
  'writeHead(list with HSTS) (after)': () => {
    const res = fresh()
    res.writeHead(200, [...upstream, 'x-correlation-id', correlationId, 'strict-transport-security', hsts])
    sink += head(res)
  },
}

runMicroCases(cases, { iterations, rounds, baseline: 'fresh ServerResponse (subtracted from the others)' })
if (sink < 0) console.log(sink)

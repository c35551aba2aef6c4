/**
 * Micro-benchmarks behind two choices on the flow proxy's hot path:
 *   - the verified-token cache keyed by the token's last 32 characters, with a whole-token equality check,
 *     instead of by the whole token (a fresh 1,200-character string per request, hashed by the Map);
 *   - the trace id sliced out of the correlation UUID instead of replaceAll + toLowerCase.
 * Each header string is made fresh per iteration, as Node's HTTP parser makes it per request.
 *   scripts/node.sh node bench/micro/runtime-hot-path.ts
 */
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { readBearer } from '../../src/lib/bearer.ts'
import { runMicroCases } from '../lib/micro-cases.ts'

const iterations = 200_000
const rounds = 5
// The shape of a Flowgate ES256 access token (1,178 characters from the demo's gateway): a
// 124-character header, XSUAA-shaped claims, an 86-character signature.
const token = `eyJ${'a'.repeat(121)}.${'b'.repeat(966)}.${'cDeF9_-x'.repeat(10)}Q1YZ_-`
const header = Buffer.from(`Bearer ${token}`, 'latin1')
const host = Buffer.from('flowgate.example.com', 'latin1')
let sink = 0

function freshRequest(): IncomingMessage {
  return {
    rawHeaders: ['Host', host.toString('latin1'), 'Authorization', header.toString('latin1')],
  } as unknown as IncomingMessage
}

const wholeKeyed = new Map([[token, token]])
const tailKeyed = new Map([[token.slice(-32), token]])

const cases: Record<string, () => void> = {
  'fresh request (subtracted from the others)': () => {
    sink += freshRequest().rawHeaders.length
  },
  'readBearer + whole-token Map (before)': () => {
    const read = readBearer(freshRequest())
    if (wholeKeyed.get(read.token as string) === undefined) throw new Error('miss')
  },
  'readBearer + tail-keyed Map + equality (after)': () => {
    const read = readBearer(freshRequest())
    const tok = read.token as string
    if (tailKeyed.get(tok.slice(tok.length - 32)) !== tok) throw new Error('miss')
  },
  'trace id: randomUUID + replaceAll + toLowerCase (before)': () => {
    sink += randomUUID().replaceAll('-', '').toLowerCase().length
  },
  'trace id: randomUUID + slices (after)': () => {
    const u = randomUUID()
    sink += (u.slice(0, 8) + u.slice(9, 13) + u.slice(14, 18) + u.slice(19, 23) + u.slice(24)).length
  },
}

runMicroCases(cases, {
  iterations,
  rounds,
  baseline: 'fresh request (subtracted from the others)',
  absolute: (name) => name.startsWith('trace'),
})
if (sink < 0) console.log(sink)

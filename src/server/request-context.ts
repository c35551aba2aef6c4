import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { plainAddress } from '../lib/address.ts'
import type { RequestContext } from '../lib/request-context.ts'

/**
 * Builds the RequestContext of each request. Options are read once here: the trusted-proxy set is
 * a Set lookup per request.
 */
export function createContextFactory(
  trustedProxies: readonly string[],
): (req: IncomingMessage) => RequestContext {
  const trusted = new Set(trustedProxies.map(plainAddress))
  return (req) => {
    const peerAddress = plainAddress(req.socket.remoteAddress)
    const trustedProxy = trusted.size > 0 && trusted.has(peerAddress)
    let clientAddress = peerAddress
    if (trustedProxy) {
      // The right-most address that is not itself a trusted proxy is the real client.
      const forwarded = req.headers['x-forwarded-for']
      if (typeof forwarded === 'string' && forwarded !== '') {
        const hops = forwarded.split(',')
        for (let i = hops.length - 1; i >= 0; i--) {
          const hop = plainAddress((hops[i] as string).trim())
          if (hop !== '' && !trusted.has(hop)) {
            clientAddress = hop
            break
          }
        }
      }
    }
    return {
      correlationId: randomUUID(),
      peerAddress,
      clientAddress,
      trustedProxy,
      receivedAt: Date.now(),
      startedNs: process.hrtime.bigint(),
    }
  }
}

import type { IncomingMessage } from 'node:http'
import { tooLarge } from './refusals.ts'

/** Bodies up to this size are buffered when an OAuth connection may need to resend them after a 401. */
export const replayableBodyBytes = 65_536
/**
 * Bodies of a declared length up to this size are buffered before forwarding on every flow: the
 * readable stream's own high-water mark, so no more memory than streaming holds, and undici then
 * writes head and body in one go instead of piping a stream.
 */
export const bufferedBodyBytes = 16_384

/** Counts a body of unknown length while it streams upstream, failing once it passes the limit. */
export async function* limitedBody(
  exchange: { readonly req: IncomingMessage; bytesIn: number },
  limit: number,
): AsyncGenerator<Buffer> {
  for await (const chunk of exchange.req as AsyncIterable<Buffer>) {
    exchange.bytesIn += chunk.length
    if (exchange.bytesIn > limit) throw tooLarge
    yield chunk
  }
}

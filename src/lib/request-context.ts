/**
 * What the listener knows about a request before any capability sees it. Built once per request
 * by the server (src/server) and passed down; capabilities never re-derive it.
 */
export interface RequestContext {
  /** Generated per request, sent upstream and returned as X-Correlation-ID. */
  readonly correlationId: string
  /** The TCP peer's address. */
  readonly peerAddress: string
  /** The caller's address: the peer, or the X-Forwarded-For client when the peer is a trusted proxy. */
  readonly clientAddress: string
  /** True when the peer is a configured trusted proxy (its X-Forwarded-* headers are kept). */
  readonly trustedProxy: boolean
  /** Epoch ms when the request arrived. */
  readonly receivedAt: number
  /** process.hrtime.bigint() when the request arrived, for durations. */
  readonly startedNs: bigint
}

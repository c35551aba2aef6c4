/** TLS material a connection adds to the pool that reaches its upstream (mutual TLS). */
export interface UpstreamTls {
  readonly cert: string
  readonly key: string
  /** Trusted CAs for the upstream's server certificate; undefined means the gateway default. */
  readonly ca: readonly string[] | undefined
}

/**
 * How Flowgate authenticates one request to an iFlow, for one version of one upstream connection.
 * Built when the route table is built, never per request.
 */
export interface UpstreamAuth {
  /** Identifies this connection version; pools and caches are keyed by it. */
  readonly key: string
  /** True when a 401 from the upstream may be cured by a fresh credential (OAuth tokens). */
  readonly refreshable: boolean
  /** The Authorization value to send, or null when the connection sends none. */
  authorization(): Promise<string | null>
  /** The upstream refused `used` with 401: forget it so that the next call fetches a new one. */
  rejected(used: string): void
  /** Client certificate for the connection pool, or null. */
  readonly tls: UpstreamTls | null
  close(): void
}

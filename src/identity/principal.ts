import type { Plan } from '../store/types.ts'

/** Who is calling, as established from a valid, unrevoked access token. */
export interface Principal {
  readonly clientId: string
  readonly instanceId: string
  readonly instanceName: string
  readonly plan: Plan
  /** Role names without the xsappname prefix, e.g. `ESBMessaging.send`. */
  readonly roles: ReadonlySet<string>
  /** The token's `jti` and `exp` (seconds), for access records and revocation. */
  readonly jti: string
  readonly exp: number
}

/**
 * Validates a bearer token on every runtime or admin call, following the checklist in
 * docs/security.md: algorithm allow-list, `typ`, `iss`, `aud`, signature against Flowgate's own
 * keys, `exp`/`nbf`/`iat` with bounded leeway, required claims, then revocation (key and instance
 * still exist and are unexpired, jti not revoked) — the revocation part on every call, even when the
 * signature check is answered from the verified-token cache.
 *
 * Rejects with a FlowgateError: ERR_TOKEN_INVALID, ERR_TOKEN_EXPIRED or ERR_TOKEN_REVOKED.
 */
export interface TokenAuthenticator {
  authenticate(token: string): Promise<Principal>
}

import { createSecretVerifier } from '../identity/client-secret.ts'
import type { ClientEntry, IdentityIndex } from '../identity/identity-index.ts'
import { FlowgateError } from '../lib/errors.ts'
import { createSecretHasher, type MasterKey } from '../secrets/master-key.ts'
import type { BruteForceGuard } from './brute-force.ts'
import { basicChallenge, type ClientCredentials } from './client-credentials.ts'

export interface ClientAuthenticatorOptions {
  readonly index: IdentityIndex
  readonly masterKey: MasterKey
  readonly guard: BruteForceGuard
  readonly now?: () => number
}

export interface ClientAuthenticator {
  /**
   * The key and instance the credentials belong to. Throws ERR_OAUTH_SLOW_DOWN (429, Retry-After)
   * while the client id or address is blocked — before the secret is looked at — and
   * ERR_OAUTH_INVALID_CLIENT, with one answer for every reason, otherwise.
   */
  authenticate(credentials: ClientCredentials, address: string): Promise<ClientEntry>
}

export function createClientAuthenticator(options: ClientAuthenticatorOptions): ClientAuthenticator {
  const { index, guard } = options
  const now = options.now ?? Date.now
  const verifySecret = createSecretVerifier(createSecretHasher(options.masterKey))

  return {
    async authenticate(credentials, address) {
      const retryAfter = await guard.retryAfter(credentials.clientId, address)
      if (retryAfter > 0) {
        throw new FlowgateError('ERR_OAUTH_SLOW_DOWN', {
          detail: 'client id or source address is blocked after repeated failures',
          headers: { 'retry-after': String(retryAfter) },
        })
      }
      const time = now()
      const entry = index.client(credentials.clientId)
      // Unknown client or not: the same hash and comparisons run (see createSecretVerifier).
      const secretMatches = verifySecret(credentials.clientSecret, entry?.key, time)
      let reason: string | undefined
      if (entry === undefined) reason = 'unknown client id'
      else if (!secretMatches) reason = 'wrong client secret'
      else if (entry.key.expiresAt !== null && entry.key.expiresAt <= time) reason = 'service key expired'
      if (reason === undefined) return entry as ClientEntry
      await guard.recordFailure(credentials.clientId, address)
      throw new FlowgateError('ERR_OAUTH_INVALID_CLIENT', {
        detail: reason,
        ...(credentials.method === 'client_secret_basic'
          ? { headers: { 'www-authenticate': basicChallenge } }
          : {}),
      })
    },
  }
}

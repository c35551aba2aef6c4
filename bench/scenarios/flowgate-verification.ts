import { loadConfig } from '../../src/config/load.ts'
import { createIdentityIndex } from '../../src/identity/identity-index.ts'
import { createTokenAuthenticator } from '../../src/identity/token-authenticator.ts'
import { createTokenIssuer } from '../../src/identity/token-issuer.ts'
import type { SigningAlgorithm, Store } from '../../src/store/types.ts'
import { benchPartner, singleKeyRing } from '../lib/bench-identity.ts'
import { operationRate } from '../lib/operation-rate.ts'
import type { VerificationResult } from '../lib/results.ts'

/** The index is filled directly; a store read would mean the benchmark measures something else. */
const unreadStore = new Proxy({} as Store, {
  get(_target, property) {
    throw new Error(`the verification micro-benchmark must not use the store (${String(property)})`)
  },
})

/**
 * Flowgate's own authenticator (src/identity/token-authenticator.ts) on a token from Flowgate's own
 * issuer: cold with the verified-token cache disabled (every call verifies the signature and
 * claims), cached with it on (every call still checks expiry, key ring, key, instance and
 * revocation).
 */
export async function measureFlowgateVerification(
  algorithm: SigningAlgorithm,
  durationMs: number,
): Promise<VerificationResult> {
  const base = { env: {}, overrides: { 'tokens.algorithm': algorithm, publicUrl: 'https://localhost:8443' } }
  const config = loadConfig(base)
  const uncached = loadConfig({ ...base, overrides: { ...base.overrides, 'tokens.verifiedCacheSize': 0 } })
  const keyRing = singleKeyRing(algorithm)
  const { instance, key } = benchPartner(config)
  const index = createIdentityIndex({ store: unreadStore })
  index.putInstance(instance)
  index.putKey(key)
  const { accessToken } = await createTokenIssuer({ keyRing, config }).issue({
    key,
    instance,
    roles: ['ESBMessaging.send'],
  })

  const cold = createTokenAuthenticator({ keyRing, index, config: uncached })
  const cached = createTokenAuthenticator({ keyRing, index, config })
  const coldPerSecond = await operationRate(durationMs, () => cold.authenticate(accessToken))
  const cachedPerSecond = await operationRate(durationMs, () => cached.authenticate(accessToken))
  return {
    implementation: 'flowgate',
    algorithm,
    coldPerSecond,
    cachedPerSecond,
    note:
      "Flowgate's createTokenAuthenticator on a token from createTokenIssuer; cold: tokens.verifiedCacheSize 0, " +
      'cached: the default cache (expiry, key ring, client and revocation still checked on every call).',
  }
}

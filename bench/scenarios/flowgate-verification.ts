import { generateKeyPairSync, randomUUID } from 'node:crypto'
import { loadConfig } from '../../src/config/load.ts'
import { createIdentityIndex } from '../../src/identity/identity-index.ts'
import type { KeyRing, SigningMaterial, VerificationKey } from '../../src/identity/key-ring.ts'
import { clientIdFor, xsappnameOf } from '../../src/identity/names.ts'
import { createTokenAuthenticator } from '../../src/identity/token-authenticator.ts'
import { createTokenIssuer } from '../../src/identity/token-issuer.ts'
import type { Instance, ServiceKey, SigningAlgorithm, Store } from '../../src/store/types.ts'
import { operationRate } from '../lib/operation-rate.ts'
import type { VerificationResult } from '../lib/results.ts'

const keyPairs = {
  RS256: () => generateKeyPairSync('rsa', { modulusLength: 2048 }),
  ES256: () => generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  EdDSA: () => generateKeyPairSync('ed25519'),
} as const

/**
 * The key ring's hot-path surface (one Map lookup) over a single key; the store-backed ring needs a
 * database, which would add nothing to what is measured here. Everything else refuses loudly.
 */
function singleKeyRing(alg: SigningAlgorithm): KeyRing {
  const { publicKey, privateKey } = keyPairs[alg]()
  const kid = 'bench'
  const signer: SigningMaterial = { kid, alg, privateKey }
  const verification: VerificationKey = { kid, alg, publicKey }
  const unsupported = (): never => {
    throw new Error('not part of the verification micro-benchmark')
  }
  return {
    start: async () => {},
    signer: () => signer,
    verificationKey: (id) => (id === kid ? verification : undefined),
    jwksJson: unsupported,
    publishedKeys: unsupported,
    rotate: unsupported,
    reload: unsupported,
    reloadForUnknownKid: async () => false,
    maintain: unsupported,
    close: () => {},
  }
}

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
  const now = Date.now()
  const instance: Instance = {
    id: randomUUID(),
    name: 'bench-partner',
    plan: 'integration-flow',
    parameters: { roles: ['ESBMessaging.send'], grantTypes: ['client_credentials'], tokenValidity: 3600 },
    createdAt: now,
    updatedAt: now,
  }
  const key: ServiceKey = {
    id: randomUUID(),
    instanceId: instance.id,
    name: 'bench-key',
    clientId: clientIdFor(instance.id, 1, xsappnameOf(config)),
    keyType: 'clientsecret',
    secretHash: null,
    secretPrefix: null,
    previousSecretHash: null,
    previousSecretPrefix: null,
    previousSecretValidUntil: null,
    certificatePem: null,
    certificateFingerprint: null,
    expiresAt: null,
    createdAt: now,
    updatedAt: now,
  }
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

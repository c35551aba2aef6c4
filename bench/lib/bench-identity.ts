import { generateKeyPairSync, randomUUID } from 'node:crypto'
import type { FlowgateConfig } from '../../src/config/schema.ts'
import type { KeyRing, SigningMaterial, VerificationKey } from '../../src/identity/key-ring.ts'
import { clientIdFor, xsappnameOf } from '../../src/identity/names.ts'
import type { Instance, ServiceKey, SigningAlgorithm } from '../../src/store/types.ts'

const keyPairs = {
  RS256: () => generateKeyPairSync('rsa', { modulusLength: 2048 }),
  ES256: () => generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  EdDSA: () => generateKeyPairSync('ed25519'),
} as const

/**
 * The key ring's hot-path surface (one Map lookup) over a single new key, for micro-benchmarks of
 * signing and verification; the store-backed ring needs a database, which would add nothing to what
 * they measure. Everything else refuses loudly.
 */
export function singleKeyRing(alg: SigningAlgorithm): KeyRing {
  const { publicKey, privateKey } = keyPairs[alg]()
  const kid = 'bench'
  const signer: SigningMaterial = { kid, alg, privateKey }
  const verification: VerificationKey = { kid, alg, publicKey }
  const unsupported = (): never => {
    throw new Error('not part of the micro-benchmark')
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

/** One `integration-flow` instance holding ESBMessaging.send and one client-secret service key of it. */
export function benchPartner(config: Pick<FlowgateConfig, 'gatewayName'>): {
  instance: Instance
  key: ServiceKey
} {
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
  return { instance, key }
}

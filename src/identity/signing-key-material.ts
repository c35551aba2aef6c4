import {
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto'
import { promisify } from 'node:util'
import { calculateJwkThumbprint, type JWK } from 'jose'
import { type SecretBox, signingKeyPlace } from '../secrets/master-key.ts'
import type { SigningAlgorithm, SigningKey } from '../store/types.ts'

const generate = promisify(generateKeyPair)

/** The public half as published in the key set: what a verifier needs, nothing more. */
export interface PublicJwk extends JWK {
  readonly kid: string
  readonly alg: SigningAlgorithm
  readonly use: 'sig'
}

async function generatePair(alg: SigningAlgorithm): Promise<{ publicKey: KeyObject; privateKey: KeyObject }> {
  switch (alg) {
    case 'RS256':
      return generate('rsa', { modulusLength: 2048, publicExponent: 0x10001 })
    case 'ES256':
      return generate('ec', { namedCurve: 'P-256' })
    case 'EdDSA':
      return generate('ed25519')
  }
}

/**
 * A new signing key in state `next`: the private key sealed with the master key, the kid the
 * RFC 7638 thumbprint of the public key (so the same key always has the same kid).
 */
export async function generateSigningKey(
  alg: SigningAlgorithm,
  box: SecretBox,
  now: number,
): Promise<SigningKey> {
  const { publicKey, privateKey } = await generatePair(alg)
  const exported = publicKey.export({ format: 'jwk' }) as JWK
  const kid = await calculateJwkThumbprint(exported, 'sha256')
  const publicJwk: PublicJwk = { ...exported, kid, alg, use: 'sig' }
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string
  return {
    kid,
    alg,
    state: 'next',
    publicJwk: publicJwk as unknown as Readonly<Record<string, unknown>>,
    privateKeyEncrypted: box.seal(pem, signingKeyPlace(kid)),
    createdAt: now,
    activatedAt: null,
    retiredAt: null,
    publishUntil: null,
  }
}

export function publicKeyOf(key: SigningKey): KeyObject {
  return createPublicKey({ key: key.publicJwk as JsonWebKey, format: 'jwk' })
}

export function privateKeyOf(key: SigningKey, box: SecretBox): KeyObject {
  return createPrivateKey(box.open(key.privateKeyEncrypted, signingKeyPlace(key.kid)))
}

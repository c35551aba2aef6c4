import { createCipheriv, randomBytes } from 'node:crypto'
import type { MasterKey } from '../../src/secrets/master-key.ts'

/**
 * Seals as Flowgate did before secrets were bound to their rows: `v1.<iv>.<tag>.<ciphertext>`,
 * AES-256-GCM without additional authenticated data. A frozen copy of the old code, so that tests
 * can build a store as an earlier release left it.
 */
export function sealV1(masterKey: MasterKey, plaintext: string): string {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', masterKey.derive('secret-box'), iv)
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
  return `v1.${iv.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}.${body.toString('base64url')}`
}

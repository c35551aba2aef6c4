import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createSecretKey,
  hkdfSync,
  randomBytes,
} from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { FlowgateConfig } from '../config/schema.ts'
import { FlowgateError } from '../lib/errors.ts'

/**
 * The master key never enters the database. From it Flowgate derives, with HKDF-SHA-256 and a
 * purpose label, one independent key per use: sealing secrets at rest, the pepper of service-key
 * secret hashes, and the CSRF token MAC. Every node of a cluster must load the same master key.
 */
export type KeyPurpose = 'secret-box' | 'secret-pepper' | 'csrf'

export interface MasterKey {
  derive(purpose: KeyPurpose): Buffer
  /** Where it came from, for the start-up log (never the key). */
  readonly source: 'config' | 'file' | 'generated'
}

function parse(text: string, origin: string): Buffer {
  const key = Buffer.from(text.trim(), 'base64')
  if (key.length !== 32) {
    throw new FlowgateError('ERR_CONFIG_INVALID', {
      description: `invalid configuration: ${origin} must be base64 of exactly 32 bytes`,
    })
  }
  return key
}

function fromBytes(key: Buffer, source: MasterKey['source']): MasterKey {
  const derived = new Map<KeyPurpose, Buffer>()
  return {
    source,
    derive(purpose) {
      let value = derived.get(purpose)
      if (value === undefined) {
        value = Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), `flowgate ${purpose}`, 32))
        derived.set(purpose, value)
      }
      return value
    },
  }
}

/**
 * secrets.masterKey, else secrets.masterKeyFile, else `<dataDir>/master.key`, generated (mode 0600)
 * on first start; `onGenerated` lets the caller warn loudly.
 */
export function loadMasterKey(config: FlowgateConfig, onGenerated?: (path: string) => void): MasterKey {
  if (config.secrets.masterKey !== '')
    return fromBytes(parse(config.secrets.masterKey, 'secrets.masterKey'), 'config')
  if (config.secrets.masterKeyFile !== '') {
    let text: string
    try {
      text = readFileSync(config.secrets.masterKeyFile, 'utf8')
    } catch (cause) {
      throw new FlowgateError('ERR_CONFIG_INVALID', {
        description: `invalid configuration: cannot read secrets.masterKeyFile (${(cause as NodeJS.ErrnoException).code})`,
      })
    }
    return fromBytes(parse(text, 'secrets.masterKeyFile'), 'file')
  }
  const path = join(config.dataDir, 'master.key')
  if (existsSync(path)) return fromBytes(parse(readFileSync(path, 'utf8'), path), 'file')
  mkdirSync(dirname(path), { recursive: true })
  const key = randomBytes(32)
  writeFileSync(path, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' })
  chmodSync(path, 0o600)
  onGenerated?.(path)
  return fromBytes(key, 'generated')
}

/** A master key from raw bytes (tests, tools). */
export function masterKeyFromBytes(key: Buffer): MasterKey {
  if (key.length !== 32) throw new RangeError('master key must be 32 bytes')
  return fromBytes(key, 'config')
}

/** AES-256-GCM sealing of secrets at rest. Format: `v1.<iv>.<tag>.<ciphertext>` (base64url). */
export interface SecretBox {
  seal(plaintext: string): string
  /** Throws ERR_DECRYPT when the value was not sealed with this master key or was altered. */
  open(sealed: string): string
}

export function createSecretBox(masterKey: MasterKey): SecretBox {
  const key = masterKey.derive('secret-box')
  return {
    seal(plaintext) {
      const iv = randomBytes(12)
      const cipher = createCipheriv('aes-256-gcm', key, iv)
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
      return `v1.${iv.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}.${body.toString('base64url')}`
    },
    open(sealed) {
      const parts = sealed.split('.')
      if (parts.length !== 4 || parts[0] !== 'v1') {
        throw new FlowgateError('ERR_DECRYPT', { detail: 'sealed value has an unknown format' })
      }
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(parts[1] as string, 'base64url'))
        decipher.setAuthTag(Buffer.from(parts[2] as string, 'base64url'))
        return Buffer.concat([
          decipher.update(Buffer.from(parts[3] as string, 'base64url')),
          decipher.final(),
        ]).toString('utf8')
      } catch (cause) {
        throw new FlowgateError('ERR_DECRYPT', {
          detail: 'authentication of a sealed value failed (wrong master key or altered data)',
          cause,
        })
      }
    },
  }
}

/**
 * Keyed hash of a random client secret: HMAC-SHA-256 with the pepper. Right for high-entropy
 * secrets, where a slow password hash would only turn the token endpoint into a DoS target.
 */
export function createSecretHasher(masterKey: MasterKey): (secret: string) => string {
  // A KeyObject made once: createHmac with raw bytes imports the key anew on every call.
  const pepper = createSecretKey(masterKey.derive('secret-pepper'))
  return (secret) => createHmac('sha256', pepper).update(secret, 'utf8').digest('hex')
}

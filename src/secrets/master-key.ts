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
import { readConfiguredFile } from '../lib/configured-file.ts'
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
    const text = readConfiguredFile(config.secrets.masterKeyFile, 'secrets.masterKeyFile')
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

/**
 * Where a sealed value lives: its table, its row and what it is. It is the additional
 * authenticated data of the seal, so a value copied to another row, or to another column, does
 * not open. Build it with the functions below, never by hand.
 */
export type SealedPlace = `connection:${string}:secret` | `signing-key:${string}:private`

/** The secret settings of an upstream connection (its name is the row). */
export function connectionSecretPlace(name: string): SealedPlace {
  return `connection:${name}:secret`
}

/** The private half of a token signing key (its kid is the row). */
export function signingKeyPlace(kid: string): SealedPlace {
  return `signing-key:${kid}:private`
}

/**
 * AES-256-GCM sealing of secrets at rest, bound to their place. Format:
 * `v2.<iv>.<tag>.<ciphertext>` (base64url; 12-byte IV, full 16-byte tag, the place as additional
 * authenticated data). Values of the earlier `v1` format (no place) are not opened: the start-up
 * step in reseal-secrets.ts turns them into `v2` before anything reads them.
 */
export interface SecretBox {
  seal(plaintext: string, place: SealedPlace): string
  /** Throws ERR_DECRYPT unless the value was sealed with this master key for this place, unaltered. */
  open(sealed: string, place: SealedPlace): string
  /** True for a value in the current format (it may still fail to open). */
  isCurrent(sealed: string): boolean
  /** A `v1` value sealed again in the current format for `place`; ERR_DECRYPT when it does not open. */
  reseal(legacy: string, place: SealedPlace): string
}

const ivBytes = 12
const tagBytes = 16

/** Strict base64url: a value that does not re-encode to itself was altered. */
function decodePart(text: string | undefined, bytes: number | undefined): Buffer | undefined {
  if (text === undefined) return undefined
  const decoded = Buffer.from(text, 'base64url')
  if (decoded.toString('base64url') !== text) return undefined
  return bytes === undefined || decoded.length === bytes ? decoded : undefined
}

function unsealable(detail: string, cause?: unknown): FlowgateError {
  return new FlowgateError('ERR_DECRYPT', cause === undefined ? { detail } : { detail, cause })
}

/**
 * Opens `<version>.<iv>.<tag>.<ciphertext>`. The tag must be the full 16 bytes: GCM verifies a
 * shorter tag as readily (4 bytes leave a forger one chance in 2^32), so the length is checked
 * here and fixed for the decipher (`authTagLength`).
 */
function openGcm(key: Buffer, sealed: string, version: 'v1' | 'v2', aad: Buffer | undefined): string {
  const parts = sealed.split('.')
  if (parts.length !== 4 || parts[0] !== version) {
    throw unsealable(`sealed value is not in the ${version} format`)
  }
  const iv = decodePart(parts[1], ivBytes)
  const tag = decodePart(parts[2], tagBytes)
  const body = decodePart(parts[3], undefined)
  if (iv === undefined || tag === undefined || body === undefined) {
    throw unsealable('sealed value is malformed (IV, tag length or encoding)')
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: tagBytes })
    if (aad !== undefined) decipher.setAAD(aad)
    decipher.setAuthTag(tag)
    return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8')
  } catch (cause) {
    throw unsealable(
      'authentication of a sealed value failed (wrong master key, another row, or altered data)',
      cause,
    )
  }
}

export function createSecretBox(masterKey: MasterKey): SecretBox {
  const key = masterKey.derive('secret-box')
  const seal = (plaintext: string, place: SealedPlace): string => {
    const iv = randomBytes(ivBytes)
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: tagBytes })
    cipher.setAAD(Buffer.from(place, 'utf8'))
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
    return `v2.${iv.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}.${body.toString('base64url')}`
  }
  return {
    seal,
    open(sealed, place) {
      if (sealed.startsWith('v1.')) {
        throw unsealable('sealed value is in the unbound v1 format; start-up re-seals those')
      }
      return openGcm(key, sealed, 'v2', Buffer.from(place, 'utf8'))
    },
    isCurrent: (sealed) => sealed.startsWith('v2.'),
    reseal: (legacy, place) => seal(openGcm(key, legacy, 'v1', undefined), place),
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

import { decodeJwt, decodeProtectedHeader, errors, type JWTPayload, jwtVerify } from 'jose'
import type { FlowgateConfig } from '../config/schema.ts'
import { type ErrorCode, FlowgateError } from '../lib/errors.ts'
import type { Instance } from '../store/types.ts'
import type { IdentityIndex } from './identity-index.ts'
import type { KeyRing } from './key-ring.ts'
import { roleOfScope, xsappnameOf } from './names.ts'
import type { Principal, TokenAuthenticator } from './principal.ts'

export interface TokenAuthenticatorOptions {
  readonly keyRing: KeyRing
  readonly index: IdentityIndex
  readonly config: Pick<FlowgateConfig, 'publicUrl' | 'gatewayName' | 'tokens'>
  readonly now?: () => number
}

/** What a verified token says, as needed by introspection and revocation. */
export interface VerifiedClaims {
  readonly iss: string
  readonly sub: string
  readonly clientId: string
  readonly aud: readonly string[]
  readonly iat: number
  readonly exp: number
  readonly jti: string
  readonly scope: readonly string[]
  readonly instanceId: string
}

export interface VerifiedToken {
  readonly claims: VerifiedClaims
  readonly principal: Principal
}

export interface FlowgateTokenAuthenticator extends TokenAuthenticator {
  /** The same checks as authenticate(), returning the claims too (introspection, revocation). */
  verify(token: string): Promise<VerifiedToken>
  /** Verified tokens currently cached. */
  cacheSize(): number
}

interface CacheEntry {
  /** The whole token: the cache's key is only its tail. */
  readonly token: string
  readonly kid: string
  readonly claims: VerifiedClaims
  /**
   * The principal last admitted for this token and the instance row it was derived from. Every
   * check in admit() still runs on every call; only building the principal (its role set) is
   * skipped while the index holds the very same instance row — rows are replaced, never mutated,
   * so a changed role list, name or plan is a different object and rebuilds it.
   */
  admittedInstance: Instance | null
  principal: Principal | null
}

/** Never `none`, never an HMAC algorithm: our keys are asymmetric and a public key is no secret. */
const allowedAlgorithms: ReadonlySet<string> = new Set(['RS256', 'ES256', 'EdDSA'])
const maxTokenLength = 16_384
/**
 * The cache is keyed by a token's last 32 characters — the end of its signature, some 190 bits that
 * nobody without the signing key can choose for a valid token — and an entry counts only when its
 * whole token is equal: the Map then hashes 32 characters of a fresh header string instead of some
 * 1,200 (bench/micro/runtime-hot-path.ts). A forged token that shares a tail is a miss and goes
 * through full verification.
 */
const cacheKeyLength = 32

function cacheKeyOf(token: string): string {
  return token.length > cacheKeyLength ? token.slice(token.length - cacheKeyLength) : token
}

function fail(code: ErrorCode, detail: string, cause?: unknown): FlowgateError {
  return new FlowgateError(code, cause === undefined ? { detail } : { detail, cause })
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string')
}

/**
 * Validates Flowgate's own access tokens, in the order of the checklist in docs/security.md, so that
 * cheap checks reject before the signature is verified and a forged token never costs a store read.
 */
export function createTokenAuthenticator(options: TokenAuthenticatorOptions): FlowgateTokenAuthenticator {
  const { keyRing, index, config } = options
  const now = options.now ?? Date.now
  const issuer = config.publicUrl
  const xsappname = xsappnameOf(config)
  const leewaySeconds = config.tokens.leewaySeconds
  const leewayMs = leewaySeconds * 1000
  const cacheLimit = config.tokens.verifiedCacheSize
  const cache = new Map<string, CacheEntry>()

  function lookup(token: string): CacheEntry | undefined {
    const entry = cache.get(cacheKeyOf(token))
    return entry !== undefined && entry.token === token ? entry : undefined
  }

  function remember(entry: CacheEntry): void {
    if (cacheLimit === 0) return
    const key = cacheKeyOf(entry.token)
    if (cache.size >= cacheLimit && !cache.has(key)) {
      // Maps iterate in insertion order: the first key is the oldest entry.
      const oldest = cache.keys().next()
      if (oldest.done !== true) cache.delete(oldest.value)
    }
    cache.set(key, entry)
  }

  function forget(entry: CacheEntry): void {
    const key = cacheKeyOf(entry.token)
    if (cache.get(key) === entry) cache.delete(key)
  }

  async function verifySignatureAndClaims(token: string): Promise<CacheEntry> {
    if (typeof token !== 'string' || token.length === 0 || token.length > maxTokenLength) {
      throw fail('ERR_TOKEN_INVALID', 'token is empty or too long')
    }
    if (token.split('.').length !== 3) throw fail('ERR_TOKEN_INVALID', 'not a compact JWS')
    let header: ReturnType<typeof decodeProtectedHeader>
    let payload: JWTPayload
    try {
      header = decodeProtectedHeader(token)
      payload = decodeJwt(token)
    } catch (cause) {
      throw fail('ERR_TOKEN_INVALID', 'malformed header or payload', cause)
    }
    // 1. algorithm allow-list
    if (typeof header.alg !== 'string' || !allowedAlgorithms.has(header.alg)) {
      throw fail('ERR_TOKEN_INVALID', `algorithm ${String(header.alg).slice(0, 16)} is not allowed`)
    }
    // 2. typ (RFC 9068 §2.1)
    const typ = typeof header.typ === 'string' ? header.typ.toLowerCase() : ''
    if (typ !== 'at+jwt' && typ !== 'application/at+jwt') {
      throw fail('ERR_TOKEN_INVALID', `typ ${typ.slice(0, 32) || '(none)'} is not at+jwt`)
    }
    // 3. issuer
    if (payload.iss !== issuer) throw fail('ERR_TOKEN_INVALID', 'issuer is not this gateway')
    // 4. audience
    const aud = typeof payload.aud === 'string' ? [payload.aud] : payload.aud
    if (!isStringArray(aud) || !aud.includes(xsappname)) {
      throw fail('ERR_TOKEN_INVALID', `audience does not contain ${xsappname}`)
    }
    // 5. known kid: at most one store reload per cooldown, never a fetch of a URL named in the token
    if (typeof header.kid !== 'string' || header.kid === '') throw fail('ERR_TOKEN_INVALID', 'no kid')
    let key = keyRing.verificationKey(header.kid)
    if (key === undefined && (await keyRing.reloadForUnknownKid())) key = keyRing.verificationKey(header.kid)
    if (key === undefined) throw fail('ERR_TOKEN_INVALID', 'unknown kid')
    if (key.alg !== header.alg) throw fail('ERR_TOKEN_INVALID', `alg ${header.alg} does not match the key's`)
    // 6. signature with that key only; 7. exp/nbf with bounded leeway
    let verified: JWTPayload
    try {
      verified = (
        await jwtVerify(token, key.publicKey, {
          algorithms: [key.alg],
          issuer,
          audience: xsappname,
          typ: 'at+jwt',
          clockTolerance: leewaySeconds,
          currentDate: new Date(now()),
          requiredClaims: ['exp', 'iat', 'jti', 'sub'],
        })
      ).payload
    } catch (cause) {
      if (cause instanceof errors.JWTExpired) throw fail('ERR_TOKEN_EXPIRED', 'exp is in the past', cause)
      const code = (cause as { code?: string }).code ?? 'unknown'
      throw fail('ERR_TOKEN_INVALID', `verification failed (${code})`, cause)
    }
    const iat = verified.iat as number
    if (iat * 1000 > now() + leewayMs) throw fail('ERR_TOKEN_INVALID', 'iat is in the future')
    // 8. required claims and their shapes
    const clientId = verified.client_id
    const extAttr = verified.ext_attr as { serviceinstanceid?: unknown } | undefined
    if (typeof clientId !== 'string' || clientId !== verified.sub) {
      throw fail('ERR_TOKEN_INVALID', 'client_id is missing or differs from sub')
    }
    if (typeof verified.jti !== 'string' || verified.jti === '')
      throw fail('ERR_TOKEN_INVALID', 'jti is missing')
    if (!isStringArray(verified.scope)) throw fail('ERR_TOKEN_INVALID', 'scope is not an array of strings')
    if (typeof extAttr?.serviceinstanceid !== 'string') {
      throw fail('ERR_TOKEN_INVALID', 'ext_attr.serviceinstanceid is missing')
    }
    return {
      token,
      kid: key.kid,
      admittedInstance: null,
      principal: null,
      claims: {
        iss: issuer,
        sub: clientId,
        clientId,
        aud,
        iat,
        exp: verified.exp as number,
        jti: verified.jti,
        scope: verified.scope,
        instanceId: extAttr.serviceinstanceid,
      },
    }
  }

  /** Runs on every call, cached or not: expiry, key ring membership, then revocation. */
  function admit(entry: CacheEntry): Principal {
    const { claims } = entry
    const time = now()
    if (claims.exp * 1000 + leewayMs <= time) {
      forget(entry)
      throw fail('ERR_TOKEN_EXPIRED', 'exp is in the past')
    }
    if (keyRing.verificationKey(entry.kid) === undefined) {
      forget(entry)
      throw fail('ERR_TOKEN_INVALID', 'the signing key has left the key ring')
    }
    const client = index.client(claims.clientId)
    if (client === undefined) throw fail('ERR_TOKEN_REVOKED', 'service key or instance no longer exists')
    if (client.instance.id !== claims.instanceId) {
      throw fail('ERR_TOKEN_REVOKED', 'the client id now belongs to another instance')
    }
    if (client.key.expiresAt !== null && client.key.expiresAt <= time) {
      throw fail('ERR_TOKEN_REVOKED', 'service key expired')
    }
    if (index.isRevoked(claims.jti)) throw fail('ERR_TOKEN_REVOKED', 'jti revoked')
    const instance = client.instance
    if (entry.principal !== null && entry.admittedInstance === instance) return entry.principal
    // A role removed from the instance stops counting on the next call, whatever the token says.
    const held = instance.parameters.roles
    const roles = new Set<string>()
    for (const scope of claims.scope) {
      const role = roleOfScope(xsappname, scope)
      if (role !== undefined && held.includes(role)) roles.add(role)
    }
    const principal: Principal = {
      clientId: claims.clientId,
      instanceId: instance.id,
      instanceName: instance.name,
      plan: instance.plan,
      roles,
      jti: claims.jti,
      exp: claims.exp,
    }
    entry.admittedInstance = instance
    entry.principal = principal
    return principal
  }

  async function verifyAndAdmit(token: string): Promise<VerifiedToken> {
    const entry = await verifySignatureAndClaims(token)
    const principal = admit(entry)
    remember(entry)
    return { claims: entry.claims, principal }
  }

  async function verify(token: string): Promise<VerifiedToken> {
    const cached = lookup(token)
    if (cached !== undefined) return { claims: cached.claims, principal: admit(cached) }
    return verifyAndAdmit(token)
  }

  return {
    authenticate: async (token) => (await verify(token)).principal,
    verify,
    cacheSize: () => cache.size,
  }
}

import { randomUUID, type webcrypto } from 'node:crypto'
import { SignJWT } from 'jose'
import type { FlowgateConfig } from '../config/schema.ts'
import type { Instance, ServiceKey, SigningAlgorithm } from '../store/types.ts'
import type { KeyRing, SigningMaterial } from './key-ring.ts'
import { scopeOf, xsappnameOf } from './names.ts'

export interface TokenIssuerOptions {
  readonly keyRing: KeyRing
  readonly config: Pick<FlowgateConfig, 'publicUrl' | 'gatewayName' | 'zoneId'>
  readonly now?: () => number
}

export interface IssueRequest {
  readonly key: ServiceKey
  readonly instance: Instance
  /** Role names (without the xsappname prefix) the token carries. */
  readonly roles: readonly string[]
}

export interface IssuedToken {
  readonly accessToken: string
  readonly jti: string
  /** `<xsappname>.<Role>` values. */
  readonly scope: readonly string[]
  /** Seconds since the epoch. */
  readonly iat: number
  readonly exp: number
}

export interface TokenIssuer {
  issue(request: IssueRequest): Promise<IssuedToken>
}

/** The WebCrypto parameters jose expects for each JWS algorithm (RFC 7518 §3, RFC 8037). */
const webCryptoAlgorithm: Readonly<
  Record<
    SigningAlgorithm,
    webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams | webcrypto.Algorithm
  >
> = {
  RS256: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
  ES256: { name: 'ECDSA', namedCurve: 'P-256' },
  EdDSA: { name: 'Ed25519' },
}

/**
 * Signs access tokens shaped like XSUAA's (so SAP tooling reads them) and RFC 9068's: `typ`
 * `at+jwt`, `jku` at Flowgate's own key set, issuer and zone from configuration only.
 */
export function createTokenIssuer(options: TokenIssuerOptions): TokenIssuer {
  const { keyRing, config } = options
  const now = options.now ?? Date.now
  const xsappname = xsappnameOf(config)
  const jku = `${config.publicUrl}/token_keys`
  // jose signs with WebCrypto and converts a KeyObject to a CryptoKey on every signature (~8 % of
  // the token endpoint's time); the ring hands out the same signer object until the key rotates.
  let cachedSigner: SigningMaterial | null = null
  let cachedKey: webcrypto.CryptoKey | null = null

  function signingKeyOf(signer: SigningMaterial): webcrypto.CryptoKey {
    if (signer !== cachedSigner || cachedKey === null) {
      cachedKey = signer.privateKey.toCryptoKey(webCryptoAlgorithm[signer.alg], false, ['sign'])
      cachedSigner = signer
    }
    return cachedKey
  }

  return {
    async issue({ key, instance, roles }) {
      const signer = keyRing.signer()
      const signingKey = signingKeyOf(signer)
      const iat = Math.floor(now() / 1000)
      const exp = iat + instance.parameters.tokenValidity
      const jti = randomUUID()
      const scope = roles.map((role) => scopeOf(xsappname, role))
      const accessToken = await new SignJWT({
        client_id: key.clientId,
        cid: key.clientId,
        azp: key.clientId,
        scope,
        grant_type: 'client_credentials',
        zid: config.zoneId,
        ext_attr: { serviceinstanceid: instance.id, serviceinstancename: instance.name },
      })
        .setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: 'at+jwt', jku })
        .setIssuer(config.publicUrl)
        .setSubject(key.clientId)
        .setAudience([xsappname, key.clientId])
        .setIssuedAt(iat)
        .setExpirationTime(exp)
        .setJti(jti)
        .sign(signingKey)
      return { accessToken, jti, scope, iat, exp }
    },
  }
}

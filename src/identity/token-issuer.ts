import { type KeyObject, randomUUID, type SignKeyObjectInput, sign } from 'node:crypto'
import type { FlowgateConfig } from '../config/schema.ts'
import type { Instance, ServiceKey } from '../store/types.ts'
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

/** What one signing key needs per token: its encoded header and how node:crypto signs with it. */
interface CompactSigner {
  readonly material: SigningMaterial
  /** `BASE64URL(UTF8(JWS Protected Header)) || '.'`, encoded once per key. */
  readonly headerPrefix: string
  /** The digest `crypto.sign` applies: SHA-256, or none for Ed25519, which hashes internally. */
  readonly digest: 'sha256' | null
  readonly key: KeyObject | SignKeyObjectInput
}

/** The `crypto.sign` parameters of each JWS algorithm (RFC 7518 §3.3, §3.4; RFC 8037 §3.1). */
function signingParameters(material: SigningMaterial): Pick<CompactSigner, 'digest' | 'key'> {
  const { privateKey } = material
  switch (material.alg) {
    case 'ES256':
      // JWS wants r || s (IEEE P1363), not the DER sequence OpenSSL produces by default.
      return { digest: 'sha256', key: { key: privateKey, dsaEncoding: 'ieee-p1363' } }
    case 'EdDSA':
      return { digest: null, key: privateKey }
    case 'RS256':
      // An RSA KeyObject signs with PKCS#1 v1.5 padding unless told otherwise.
      return { digest: 'sha256', key: privateKey }
  }
}

/**
 * The JWS Signature (RFC 7515 §5.1), base64url-encoded. The callback form of `crypto.sign` runs on
 * libuv's thread pool, for every algorithm: the token endpoint's event loop is busy with TLS, so
 * a signature made there is time taken from serving requests, while on the pool another core
 * makes it (the token scenario of `npm run bench` compares the variants).
 */
function signature(signer: CompactSigner, signingInput: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    sign(signer.digest, signingInput, signer.key, (error, result) => {
      if (error) reject(error)
      else resolve(result.toString('base64url'))
    })
  })
}

/**
 * Signs access tokens shaped like XSUAA's (so SAP tooling reads them) and RFC 9068's: `typ`
 * `at+jwt`, `jku` at Flowgate's own key set, issuer and zone from configuration only.
 *
 * The compact JWS is built here rather than with jose's `SignJWT`, which per token clones the
 * claims, encodes the same header again and signs on the event loop through WebCrypto (the token
 * endpoint's throughput with SignJWT is measured against this one by `npm run bench -- --only
 * token --before DIR`; bench/micro/token-issuer.ts compares the two per token). jose still verifies.
 */
export function createTokenIssuer(options: TokenIssuerOptions): TokenIssuer {
  const { keyRing, config } = options
  const now = options.now ?? Date.now
  const xsappname = xsappnameOf(config)
  const issuer = config.publicUrl
  const jku = `${config.publicUrl}/token_keys`
  // The ring hands out the same signer object until the key rotates.
  let cached: CompactSigner | null = null

  function compactSignerOf(material: SigningMaterial): CompactSigner {
    if (cached === null || cached.material !== material) {
      const header = JSON.stringify({ alg: material.alg, kid: material.kid, typ: 'at+jwt', jku })
      cached = {
        material,
        headerPrefix: `${Buffer.from(header).toString('base64url')}.`,
        ...signingParameters(material),
      }
    }
    return cached
  }

  return {
    async issue({ key, instance, roles }) {
      const signer = compactSignerOf(keyRing.signer())
      const iat = Math.floor(now() / 1000)
      const exp = iat + instance.parameters.tokenValidity
      const jti = randomUUID()
      const scope = roles.map((role) => scopeOf(xsappname, role))
      const clientId = key.clientId
      // The claims and their order are those jose's SignJWT produced: the payload object first,
      // then iss, sub, aud, iat, exp, jti as its setters added them.
      const payload = JSON.stringify({
        client_id: clientId,
        cid: clientId,
        azp: clientId,
        scope,
        grant_type: 'client_credentials',
        zid: config.zoneId,
        ext_attr: { serviceinstanceid: instance.id, serviceinstancename: instance.name },
        iss: issuer,
        sub: clientId,
        aud: [xsappname, clientId],
        iat,
        exp,
        jti,
      })
      const signingInput = signer.headerPrefix + Buffer.from(payload).toString('base64url')
      // base64url is ASCII: latin1 is the cheapest exact encoding of it.
      const signed = await signature(signer, Buffer.from(signingInput, 'latin1'))
      return { accessToken: `${signingInput}.${signed}`, jti, scope, iat, exp }
    },
  }
}

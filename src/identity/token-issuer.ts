import { randomUUID } from 'node:crypto'
import { SignJWT } from 'jose'
import type { FlowgateConfig } from '../config/schema.ts'
import type { Instance, ServiceKey } from '../store/types.ts'
import type { KeyRing } from './key-ring.ts'
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

/**
 * Signs access tokens shaped like XSUAA's (so SAP tooling reads them) and RFC 9068's: `typ`
 * `at+jwt`, `jku` at Flowgate's own key set, issuer and zone from configuration only.
 */
export function createTokenIssuer(options: TokenIssuerOptions): TokenIssuer {
  const { keyRing, config } = options
  const now = options.now ?? Date.now
  const xsappname = xsappnameOf(config)
  const issuer = config.publicUrl
  const jku = `${config.publicUrl}/token_keys`

  return {
    async issue({ key, instance, roles }) {
      const signer = keyRing.signer()
      const iat = Math.floor(now() / 1000)
      const exp = iat + instance.parameters.tokenValidity
      const jti = randomUUID()
      const scope = roles.map((role) => scopeOf(xsappname, role))
      const clientId = key.clientId
      const accessToken = await new SignJWT({
        client_id: clientId,
        cid: clientId,
        azp: clientId,
        scope,
        grant_type: 'client_credentials',
        zid: config.zoneId,
        ext_attr: { serviceinstanceid: instance.id, serviceinstancename: instance.name },
      })
        .setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: 'at+jwt', jku })
        .setIssuer(issuer)
        .setSubject(clientId)
        .setAudience([xsappname, clientId])
        .setIssuedAt(iat)
        .setExpirationTime(exp)
        .setJti(jti)
        .sign(signer.privateKey)
      return { accessToken, jti, scope, iat, exp }
    },
  }
}

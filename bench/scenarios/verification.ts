import { randomUUID } from 'node:crypto'
import { generateKeyPair, type JWTPayload, jwtVerify, SignJWT } from 'jose'
import { operationRate } from '../lib/operation-rate.ts'
import type { VerificationResult } from '../lib/results.ts'
import { flowgateShapedClaims } from './token-claims.ts'

const issuer = 'https://localhost:8443'
const audience = 'it-rt-flowgate!b1'

/**
 * Cold: jwtVerify on every call (signature, algorithm allow-list, iss, aud, exp). Cached: what
 * remains when the signature check is answered from a map keyed by the token string — the lookup,
 * the expiry check and the revocation check, which must still run on every call.
 */
export async function measureVerificationWithJose(
  algorithm: string,
  durationMs: number,
): Promise<VerificationResult> {
  const { privateKey, publicKey } = await generateKeyPair(algorithm)
  const now = Math.floor(Date.now() / 1000)
  const token = await new SignJWT(flowgateShapedClaims(issuer, 'sb-bench!b1|it-rt-flowgate!b1', randomUUID()))
    .setProtectedHeader({ alg: algorithm, kid: 'bench', typ: 'at+jwt' })
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(privateKey)
  const options = { issuer, audience, algorithms: [algorithm], typ: 'at+jwt', clockTolerance: 30 }

  const cold = await operationRate(durationMs, () => jwtVerify(token, publicKey, options))

  const verified = new Map<string, JWTPayload>()
  const revoked = new Set<string>()
  verified.set(token, (await jwtVerify(token, publicKey, options)).payload)
  const cached = await operationRate(durationMs, () => {
    const payload = verified.get(token)
    if (payload === undefined) throw new Error('cache miss')
    if ((payload.exp as number) + 30 < Date.now() / 1000) throw new Error('expired')
    if (revoked.has(payload.jti as string)) throw new Error('revoked')
    return payload
  })
  return {
    implementation: 'jose',
    algorithm,
    coldPerSecond: cold,
    cachedPerSecond: cached,
    note:
      "Measured with jose and a Map standing in for Flowgate's authenticator " +
      '(src/identity/token-authenticator.ts was not available to this run).',
  }
}

import { randomUUID } from 'node:crypto'
import { generateKeyPair, SignJWT } from 'jose'
import { flowgateShapedClaims } from './token-claims.ts'

/**
 * Tokens per second that jose signs one after another on one core: the limit for any Node.js token
 * endpoint using this algorithm, since every issued token costs one signature. Kept as jose's
 * SignJWT (the limit the targets name) although Flowgate's issuer now builds the JWS itself and
 * signs with node:crypto, which is cheaper per token; bench/micro/token-issuer.ts measures both.
 */
export async function measureSigningRate(algorithm: string, durationMs: number): Promise<number> {
  const { privateKey } = await generateKeyPair(algorithm)
  const claims = flowgateShapedClaims('https://localhost:8443', 'sb-bench!b1|it-rt-flowgate!b1', randomUUID())
  const header = { alg: algorithm, kid: 'bench', typ: 'at+jwt', jku: 'https://localhost:8443/token_keys' }
  const sign = (now: number) =>
    new SignJWT({ ...claims, jti: randomUUID() })
      .setProtectedHeader(header)
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
      .sign(privateKey)
  for (let i = 0; i < 50; i++) await sign(Math.floor(Date.now() / 1000))
  let count = 0
  const started = performance.now()
  const deadline = started + durationMs
  while (performance.now() < deadline) {
    await sign(Math.floor(Date.now() / 1000))
    count++
  }
  return count / ((performance.now() - started) / 1000)
}

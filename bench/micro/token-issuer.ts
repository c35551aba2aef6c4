/**
 * Micro-benchmark of the token issuer's signing path: src/identity/token-issuer.ts (the compact JWS
 * built by hand, signed with node:crypto) against the jose `SignJWT` issuer it replaced (kept below,
 * verbatim but for its name), per algorithm, in one process, with no server and no store.
 *
 *   scripts/node.sh node bench/micro/token-issuer.ts [--duration SECONDS] [--rounds N]
 *
 * Reported per variant, the median over rounds of: wall µs per token with one issue() at a time; CPU
 * µs per token of the whole process (user + system, thread-pool work included) and of the main
 * thread alone (what the event loop pays, the scarce resource of a busy token endpoint); tokens/s
 * with 16 issue() calls in flight (where thread-pool signing uses the second core). Two reference
 * rows time the bare `crypto.sign` of the token's signing input, synchronous and on the thread pool.
 */
import { randomUUID, type SignKeyObjectInput, sign, type webcrypto } from 'node:crypto'
import { parseArgs } from 'node:util'
import { decodeJwt, decodeProtectedHeader, SignJWT } from 'jose'
import { loadConfig } from '../../src/config/load.ts'
import type { FlowgateConfig } from '../../src/config/schema.ts'
import type { KeyRing, SigningMaterial } from '../../src/identity/key-ring.ts'
import { scopeOf, xsappnameOf } from '../../src/identity/names.ts'
import { createTokenIssuer, type IssueRequest, type TokenIssuer } from '../../src/identity/token-issuer.ts'
import { benchPartner, singleKeyRing } from '../lib/bench-identity.ts'

/** The issuer as it was before node:crypto signing: jose SignJWT over a CryptoKey made once per key. */
function createJoseTokenIssuer(options: {
  keyRing: KeyRing
  config: Pick<FlowgateConfig, 'publicUrl' | 'gatewayName' | 'zoneId'>
}): TokenIssuer {
  const webCryptoAlgorithm = {
    RS256: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
    ES256: { name: 'ECDSA', namedCurve: 'P-256' },
    EdDSA: { name: 'Ed25519' },
  } as const
  const { keyRing, config } = options
  const xsappname = xsappnameOf(config)
  const jku = `${config.publicUrl}/token_keys`
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
      const iat = Math.floor(Date.now() / 1000)
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

function issueRequest(config: FlowgateConfig): IssueRequest {
  return { ...benchPartner(config), roles: ['ESBMessaging.send'] }
}

interface Round {
  readonly wallMicros: number
  readonly cpuMicros: number
  readonly mainThreadMicros: number
  readonly concurrentPerSecond: number
}

async function round(operation: () => unknown, durationMs: number): Promise<Round> {
  let count = 0
  const cpu = process.cpuUsage()
  const mainThread = process.threadCpuUsage()
  const started = performance.now()
  const deadline = started + durationMs
  while (performance.now() < deadline) {
    for (let i = 0; i < 20; i++) await operation()
    count += 20
  }
  const elapsed = performance.now() - started
  const used = process.cpuUsage(cpu)
  const usedOnMain = process.threadCpuUsage(mainThread)
  let concurrent = 0
  const concurrentStarted = performance.now()
  const concurrentDeadline = concurrentStarted + durationMs
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (performance.now() < concurrentDeadline) {
        await operation()
        concurrent++
      }
    }),
  )
  return {
    wallMicros: (elapsed * 1000) / count,
    cpuMicros: (used.user + used.system) / count,
    mainThreadMicros: (usedOnMain.user + usedOnMain.system) / count,
    concurrentPerSecond: concurrent / ((performance.now() - concurrentStarted) / 1000),
  }
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] as number
}

/** The two issuers must produce the same header and claims, or the comparison means nothing. */
async function assertSameShape(a: TokenIssuer, b: TokenIssuer, request: IssueRequest): Promise<void> {
  const [x, y] = [(await a.issue(request)).accessToken, (await b.issue(request)).accessToken]
  const shape = (token: string) => {
    const { jti: _jti, iat: _iat, exp, ...claims } = decodeJwt(token)
    return JSON.stringify([decodeProtectedHeader(token), Object.keys(decodeJwt(token)), claims, exp])
  }
  if (shape(x) !== shape(y)) throw new Error(`the issuers disagree:\n${shape(x)}\n${shape(y)}`)
}

const { values } = parseArgs({
  options: { duration: { type: 'string', default: '1' }, rounds: { type: 'string', default: '5' } },
})
const durationMs = Number(values.duration) * 1000
const rounds = Number(values.rounds)

console.log(`node ${process.version}, ${rounds} rounds of ${values.duration} s per variant, interleaved`)
console.log('algorithm  variant            wall µs  CPU µs  main-thread µs  per s, 16 in flight')
for (const algorithm of ['ES256', 'EdDSA', 'RS256'] as const) {
  const config = loadConfig({
    env: {},
    overrides: { 'tokens.algorithm': algorithm, publicUrl: 'https://localhost:8443' },
  })
  const keyRing = singleKeyRing(algorithm)
  const request = issueRequest(config)
  const jose = createJoseTokenIssuer({ keyRing, config })
  const flowgate = createTokenIssuer({ keyRing, config })
  await assertSameShape(jose, flowgate, request)
  const input = Buffer.from((await flowgate.issue(request)).accessToken.split('.', 2).join('.'))
  const digest = algorithm === 'EdDSA' ? null : 'sha256'
  const signingKey: SignKeyObjectInput = {
    key: keyRing.signer().privateKey,
    ...(algorithm === 'ES256' ? { dsaEncoding: 'ieee-p1363' as const } : {}),
  }
  const signOnPool = () =>
    new Promise((resolve, reject) => {
      sign(digest, input, signingKey, (error, signature) => (error ? reject(error) : resolve(signature)))
    })
  const variants: Array<[string, () => unknown]> = [
    ['issuer, jose', () => jose.issue(request)],
    ['issuer, node:crypto', () => flowgate.issue(request)],
    ['crypto.sign sync', () => sign(digest, input, signingKey)],
    ['crypto.sign pool', signOnPool],
  ]
  const results = new Map<string, Round[]>(variants.map(([name]) => [name, []]))
  for (const [, operation] of variants) for (let i = 0; i < 200; i++) await operation()
  for (let r = 0; r < rounds; r++) {
    for (const [name, operation] of variants) results.get(name)!.push(await round(operation, durationMs))
  }
  for (const [name, list] of results) {
    const figure = (pick: (x: Round) => number, digits: number, width: number) =>
      median(list.map(pick)).toFixed(digits).padStart(width)
    const columns = [
      figure((x) => x.wallMicros, 1, 8),
      figure((x) => x.cpuMicros, 1, 8),
      figure((x) => x.mainThreadMicros, 1, 16),
      figure((x) => x.concurrentPerSecond, 0, 21),
    ]
    console.log(`${algorithm.padEnd(10)} ${name.padEnd(19)}${columns.join('')}`)
  }
}

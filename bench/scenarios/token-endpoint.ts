import { randomBytes } from 'node:crypto'
import { oauthBasicAuthorization } from '../lib/basic-auth.ts'
import { httpsRequest } from '../lib/https-client.ts'
import type { LoadRequest } from '../lib/load-generator.ts'
import { type Comparison, compare } from '../lib/results.ts'
import { type Contender, runInterleaved } from '../lib/rounds.ts'
import type { ServerProcess } from '../lib/server-process.ts'
import type { ScenarioContext } from './context.ts'
import { measureSigningRate } from './signing-rate.ts'

/** The request SAP documents: `?grant_type=client_credentials`, HTTP Basic, empty body. */
function tokenRequest(flowgate: ServerProcess): LoadRequest {
  return {
    url: `${flowgate.info.tokenUrl as string}?grant_type=client_credentials`,
    method: 'POST',
    headers: {
      authorization: oauthBasicAuthorization(
        flowgate.info.clientId as string,
        flowgate.info.clientSecret as string,
      ),
    },
    body: '',
  }
}

/**
 * Tokens issued per second by Flowgate and by oidc-provider with the same algorithm, interleaved,
 * and the raw signing rate as the limit. Each request is the one SAP users send: client
 * credentials with HTTP Basic (Flowgate: `?grant_type=client_credentials` and an empty body, as
 * SAP documents; oidc-provider: the RFC 6749 form body it requires).
 */
export async function runTokenEndpointScenario(
  context: ScenarioContext,
  algorithm: 'RS256' | 'ES256' | 'EdDSA',
  flowgate: ServerProcess | undefined,
  before: readonly { readonly name: string; readonly server: ServerProcess }[] = [],
): Promise<{ algorithm: string; comparison: Comparison; rawSigningPerSecond: number }> {
  context.log(`  token endpoint (${algorithm})`)
  const clientId = 'sb-bench!b1|it-rt-bench!b1'
  const clientSecret = randomBytes(32).toString('base64url')
  const oidc = await context.start('oidc-provider', 'oidc.ts', { algorithm, clientId, clientSecret })
  const oidcRequest = {
    url: `${oidc.url}${oidc.info.tokenPath as string}`,
    method: 'POST' as const,
    headers: {
      authorization: oauthBasicAuthorization(clientId, clientSecret),
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials&scope=ESBMessaging.send',
  }
  // A set-up that answers 400 would be counted as fast: check that a real token comes back first.
  const probe = await httpsRequest(oidcRequest.url, { ...oidcRequest, ca: oidc.info.ca as string })
  if (probe.status !== 200 || !JSON.parse(probe.body).access_token) {
    throw new Error(`oidc-provider did not issue a token: ${probe.status} ${probe.body.slice(0, 200)}`)
  }
  const contenders: Contender[] = []
  if (flowgate !== undefined)
    contenders.push({ name: 'flowgate', server: flowgate, request: tokenRequest(flowgate) })
  contenders.push({ name: 'oidc-provider', server: oidc, request: oidcRequest })
  for (const { name, server } of before) contenders.push({ name, server, request: tokenRequest(server) })
  const rounds = await runInterleaved(context.generator, contenders, context.settings, context.log)
  await oidc.close()
  context.log(`  raw signing rate (${algorithm}, jose, one core)`)
  const rawSigningPerSecond = await measureSigningRate(algorithm, context.settings.durationSeconds * 1000)
  return {
    algorithm,
    comparison: compare(rounds, [
      ['flowgate', 'oidc-provider'],
      ...before.flatMap(({ name }) => [['flowgate', name] as const, [name, 'oidc-provider'] as const]),
    ]),
    rawSigningPerSecond,
  }
}

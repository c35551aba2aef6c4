import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, platform, release } from 'node:os'
import { basename, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { oauthBasicAuthorization } from './lib/basic-auth.ts'
import { httpsRequest } from './lib/https-client.ts'
import { type LoadGenerator, selectLoadGenerator } from './lib/load-generator.ts'
import { renderMarkdown } from './lib/markdown.ts'
import { nodeOptionsOf, parseNodeOptions } from './lib/node-options.ts'
import type { BenchReport, Comparison, StreamResult } from './lib/results.ts'
import type { RoundSettings } from './lib/rounds.ts'
import { type ServerProcess, startServerProcess } from './lib/server-process.ts'
import { describeResolution, evaluateTargets, secondFloor as secondFloorName } from './lib/targets.ts'
import type { FlowgateUnderTest, NamedFlowgate, ScenarioContext } from './scenarios/context.ts'
import { compareFlowgateVariants, type ScaleSize } from './scenarios/flowgate-variants.ts'
import { flowPath, runRuntimeScenario } from './scenarios/runtime.ts'
import { measureStreamUpload } from './scenarios/stream-upload.ts'
import { runTokenEndpointScenario } from './scenarios/token-endpoint.ts'
import { measureVerificationWithJose } from './scenarios/verification.ts'

const usage = `Usage: npm run bench -- [--quick] [--rounds N] [--duration SECONDS] [--only LIST] [--strict]

  --quick         short rounds and smaller scale figures: a smoke run, not a measurement
  --rounds N      measured rounds per scenario (default 9; --quick 2)
  --duration S    seconds per round (default 3; --quick 2)
  --processes N   processes of each server in the runtime scenario, measured in turn, one per round
                  (default 3; --quick 1): what one process happens to be is then averaged out
  --only LIST     comma-separated subset of: runtime,paced,token,scale,cache,stream,verify (paced:
                  the runtime requests at about half the floor's rate, for the latency a proxy adds)
  --strict        exit with status 1 when a target is missed
  --algorithm A   token signing algorithm for Flowgate, oidc-provider and the limits: ES256 (default,
                  as Flowgate's tokens.algorithm), RS256 or EdDSA
  --profile NAME  write a CPU profile of server NAME (floor, 'floor 2', peer, flowgate, upstream,
                  oidc-provider) to bench/results/profiles/ (open it in Chrome DevTools; slows that
                  server down)
  --node-options NAME=OPTIONS
                  start the processes of server NAME (as --profile names them; its further
                  processes too) with these Node.js or V8 options, space-separated, e.g.
                  --node-options 'flowgate=--trace-gc --max-semi-space-size=16'. Repeatable.
  --before DIR    also run Flowgate from another checkout of this repository (e.g. \`git worktree add
                  /tmp/fg-before HEAD\` with node_modules linked), as \`flowgate@<basename of DIR>\`,
                  interleaved with this tree's in the runtime and token scenarios: an optimisation's
                  before and after in one run. Repeatable, for one checkout per step.
Results go to bench/results/ (JSON and Markdown) and the Markdown is printed.`

const scenarios = ['runtime', 'paced', 'token', 'scale', 'cache', 'stream', 'verify'] as const
type Scenario = (typeof scenarios)[number]

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    only: { type: 'string' },
    strict: { type: 'boolean', default: false },
    profile: { type: 'string' },
    algorithm: { type: 'string' },
    before: { type: 'string', multiple: true },
    'node-options': { type: 'string', multiple: true },
    processes: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
})
if (values.help) {
  console.log(usage)
  process.exit(0)
}

function positiveInteger(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback
  const parsed = Number(value)
  if (!Number.isSafeInteger(parsed) || parsed < 1) {
    console.error(`--${name} must be a positive integer\n\n${usage}`)
    process.exit(2)
  }
  return parsed
}

const quick = values.quick
const settings: RoundSettings = {
  rounds: positiveInteger(values.rounds, quick ? 2 : 9, 'rounds'),
  durationSeconds: positiveInteger(values.duration, quick ? 2 : 3, 'duration'),
  warmupSeconds: quick ? 1 : 3,
  connections: 50,
}
/** Processes of each server in the runtime scenario. */
const processes = positiveInteger(values.processes, quick ? 1 : 3, 'processes')
const selected = new Set<Scenario>(
  values.only === undefined ? scenarios : (values.only.split(',').map((s) => s.trim()) as Scenario[]),
)
for (const name of selected) {
  if (!scenarios.includes(name)) {
    console.error(`unknown scenario ${name}\n\n${usage}`)
    process.exit(2)
  }
}
const smallSize: ScaleSize = { flows: 10, serviceKeys: 10 }
const largeSize: ScaleSize = quick
  ? { flows: 1_000, serviceKeys: 10_000 }
  : { flows: 10_000, serviceKeys: 100_000 }
const streamBytes = quick ? 2 ** 28 : 2 ** 30
const algorithms = ['RS256', 'ES256', 'EdDSA'] as const
const algorithm = (values.algorithm ?? 'ES256') as (typeof algorithms)[number]
if (!algorithms.includes(algorithm)) {
  console.error(`--algorithm must be one of ${algorithms.join(', ')}\n\n${usage}`)
  process.exit(2)
}

let nodeOptions: ReadonlyMap<string, readonly string[]>
try {
  nodeOptions = parseNodeOptions(values['node-options'] ?? [])
} catch (error) {
  console.error(`${(error as Error).message}\n\n${usage}`)
  process.exit(2)
}

const beforeTrees = (values.before ?? []).map((directory) => ({
  name: `flowgate@${basename(resolve(directory))}`,
  entry: resolve(directory, 'bench/servers/flowgate.ts'),
}))
for (const { entry } of beforeTrees) {
  if (!existsSync(entry)) {
    console.error(`--before: ${entry} does not exist\n\n${usage}`)
    process.exit(2)
  }
}

const log = (line: string) => console.log(line)
const started: ServerProcess[] = []
const errors: string[] = []

async function attempt<T>(what: string, run: () => Promise<T>): Promise<T | undefined> {
  try {
    return await run()
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    errors.push(`${what}: ${message}`)
    log(`  ${what} failed: ${message}`)
    return undefined
  }
}

async function startFlowgate(
  context: ScenarioContext,
  upstream: ServerProcess,
  size: ScaleSize,
  overrides: Readonly<Record<string, unknown>> = {},
  name = 'flowgate',
  entry = 'flowgate.ts',
): Promise<FlowgateUnderTest> {
  const server = await context.start(
    name,
    entry,
    { upstream: upstream.url, ...size, overrides: { 'tokens.algorithm': algorithm, ...overrides } },
    300_000,
  )
  const response = await httpsRequest(`${server.info.tokenUrl as string}?grant_type=client_credentials`, {
    method: 'POST',
    ca: server.info.ca as string,
    headers: {
      authorization: oauthBasicAuthorization(
        server.info.clientId as string,
        server.info.clientSecret as string,
      ),
    },
  })
  const token = response.status === 200 ? (JSON.parse(response.body).access_token as unknown) : undefined
  if (typeof token !== 'string') throw new Error(`Flowgate's token endpoint answered ${response.status}`)
  return { server, authorization: `Bearer ${token}` }
}

async function main(generator: LoadGenerator): Promise<BenchReport> {
  const startedAt = new Date().toISOString()
  const startLoad = loadavg()[0] as number
  const context: ScenarioContext = {
    generator,
    settings,
    log,
    async start(name, entry, options, readyTimeoutMs) {
      const cpuProfileDir =
        values.profile === name ? fileURLToPath(new URL('./results/profiles/', import.meta.url)) : undefined
      const extra = nodeOptionsOf(nodeOptions, name)
      const server = await startServerProcess(name, entry, options, {
        readyTimeoutMs,
        cpuProfileDir,
        ...(extra === undefined ? {} : { nodeOptions: extra }),
      })
      started.push(server)
      return server
    },
  }
  const gatewayPresent = existsSync(new URL('../src/server/gateway.ts', import.meta.url))
  let flowgateNote = gatewayPresent
    ? `the real gateway (src/server/gateway.ts) in its own process, ${algorithm} tokens from its own token endpoint`
    : 'src/server/gateway.ts does not exist yet in this tree; every Flowgate figure is "not measured"'

  log('starting servers')
  const upstream = await context.start('upstream', 'upstream.ts', {})
  const floor = await context.start('floor', 'floor.ts', { upstream: upstream.url })
  const peer = await context.start('peer', 'peer.ts', { upstream: upstream.url })
  const runtimeRuns = { unpaced: selected.has('runtime'), paced: selected.has('paced') }
  const secondFloor =
    runtimeRuns.unpaced || runtimeRuns.paced
      ? await context.start(secondFloorName, 'floor.ts', { upstream: upstream.url })
      : undefined
  let flowgate: FlowgateUnderTest | undefined
  if (gatewayPresent) {
    flowgate = await attempt('starting Flowgate', () => startFlowgate(context, upstream, smallSize))
    if (flowgate === undefined)
      flowgateNote = `Flowgate could not be started or did not issue a token (see Errors)`
  }
  const before: NamedFlowgate[] = []
  for (const { name, entry } of beforeTrees) {
    const variant = await attempt(`starting ${name}`, () =>
      startFlowgate(context, upstream, smallSize, {}, name, entry),
    )
    if (variant !== undefined) {
      before.push({ name, flowgate: variant })
      flowgateNote += `; ${name}: the same gateway from ${entry.slice(0, -'/bench/servers/flowgate.ts'.length)}`
    }
  }

  const runtime =
    runtimeRuns.unpaced || runtimeRuns.paced
      ? await attempt('runtime scenario', async () => {
          // The further processes of each server: `floor #2`, `floor #3`, …
          const more = async <T>(
            name: string,
            first: T,
            start: (name: string) => Promise<T>,
          ): Promise<T[]> => {
            const all = [first]
            for (let n = 2; n <= processes; n++) all.push(await start(`${name} #${n}`))
            return all
          }
          const floors = (name: string, first: ServerProcess) =>
            more(name, first, (copy) => context.start(copy, 'floor.ts', { upstream: upstream.url }))
          return runRuntimeScenario(
            context,
            {
              upstream,
              floor: await floors('floor', floor),
              // Paced rounds leave the peer out.
              peer: runtimeRuns.unpaced
                ? await more('peer', peer, (copy) =>
                    context.start(copy, 'peer.ts', { upstream: upstream.url }),
                  )
                : [peer],
              ...(secondFloor === undefined
                ? {}
                : { secondFloor: await floors(secondFloorName, secondFloor) }),
              flowgate:
                flowgate === undefined
                  ? undefined
                  : await more('flowgate', flowgate, (copy) =>
                      startFlowgate(context, upstream, smallSize, {}, copy),
                    ),
              before: await Promise.all(
                before.map(async ({ name, flowgate: first }) => {
                  const entry = beforeTrees.find((tree) => tree.name === name)?.entry as string
                  const flowgates = await more(name, first, (copy) =>
                    startFlowgate(context, upstream, smallSize, {}, copy, entry),
                  )
                  return { name, flowgates }
                }),
              ),
            },
            runtimeRuns,
          )
        })
      : undefined
  const { paced: pacedRuntime, ...unpacedRuntime } = runtime ?? {}
  const tokenEndpoint = selected.has('token')
    ? await attempt('token endpoint scenario', () =>
        runTokenEndpointScenario(
          context,
          algorithm,
          flowgate?.server,
          before.map(({ name, flowgate }) => ({ name, server: flowgate.server })),
        ),
      )
    : undefined
  const scale =
    selected.has('scale') && flowgate !== undefined
      ? await attempt('scale scenario', () => scaleScenario(context, upstream, flowgate))
      : undefined
  const verifiedTokenCache =
    selected.has('cache') && flowgate !== undefined
      ? await attempt('verified-token cache scenario', () => cacheScenario(context, upstream, flowgate))
      : undefined
  const stream = selected.has('stream')
    ? await attempt('streamed POST', () => streamScenario([floor, peer], flowgate))
    : undefined
  // In-process micro-benchmarks last, when no server is under load.
  let verification: BenchReport['verification']
  if (selected.has('verify')) {
    log(`  token verification, cold vs cached (${algorithm})`)
    verification = await attempt('verification micro-benchmark', () => verificationScenario())
  }
  return {
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
      node: process.version,
      platform: `${platform()} ${release()}`,
      loadGenerator: generator.name,
      loadAverage: { start: startLoad, end: loadavg()[0] as number },
    },
    settings: { ...settings, quick, processes },
    flowgate: { measured: flowgate !== undefined, note: flowgateNote },
    runtime: unpacedRuntime,
    ...(pacedRuntime === undefined ? {} : { pacedRuntime }),
    tokenEndpoint,
    scale,
    verifiedTokenCache,
    stream,
    verification,
    errors,
  }
}

/** Flowgate's own authenticator when this tree has it; jose alone, marked as such, before that. */
async function verificationScenario(): Promise<NonNullable<BenchReport['verification']>> {
  const durationMs = settings.durationSeconds * 1000
  if (existsSync(new URL('../src/identity/token-authenticator.ts', import.meta.url))) {
    const { measureFlowgateVerification } = await import('./scenarios/flowgate-verification.ts')
    return measureFlowgateVerification(algorithm, durationMs)
  }
  return measureVerificationWithJose(algorithm, durationMs)
}

async function scaleScenario(
  context: ScenarioContext,
  upstream: ServerProcess,
  small: FlowgateUnderTest,
): Promise<NonNullable<BenchReport['scale']>> {
  log(`  scale: seeding Flowgate with ${largeSize.flows} flows and ${largeSize.serviceKeys} service keys`)
  const large = await startFlowgate(context, upstream, largeSize)
  try {
    log(`  scale: ${smallSize.flows}/${smallSize.serviceKeys} vs ${largeSize.flows}/${largeSize.serviceKeys}`)
    const comparison = await compareFlowgateVariants(
      context,
      { name: 'large', flowgate: large },
      { name: 'small', flowgate: small },
    )
    return { small: smallSize, large: largeSize, comparison }
  } finally {
    await large.server.close()
  }
}

/** The verified-token cache end to end: the default gateway against one with the cache off. */
async function cacheScenario(
  context: ScenarioContext,
  upstream: ServerProcess,
  cached: FlowgateUnderTest,
): Promise<Comparison> {
  log('  verified-token cache on vs off (runtime GET)')
  const uncached = await startFlowgate(context, upstream, smallSize, { 'tokens.verifiedCacheSize': 0 })
  try {
    return await compareFlowgateVariants(
      context,
      { name: 'cache on', flowgate: cached },
      { name: 'cache off', flowgate: uncached },
    )
  } finally {
    await uncached.server.close()
  }
}

async function streamScenario(
  proxies: readonly ServerProcess[],
  flowgate: FlowgateUnderTest | undefined,
): Promise<NonNullable<BenchReport['stream']>> {
  log(`  streamed POST of ${streamBytes / 2 ** 20} MiB`)
  const results: Record<string, StreamResult> = {}
  for (const server of proxies) {
    results[server.name] = await measureStreamUpload(server, `${server.url}${flowPath}`, {}, streamBytes)
  }
  if (flowgate !== undefined) {
    results.flowgate = await measureStreamUpload(
      flowgate.server,
      `${flowgate.server.url}${flowPath}`,
      { authorization: flowgate.authorization },
      streamBytes,
    )
  }
  return { bytes: streamBytes, results }
}

function write(report: BenchReport): void {
  const targets = evaluateTargets(report)
  const markdown = renderMarkdown(report, targets)
  const directory = new URL('./results/', import.meta.url)
  mkdirSync(directory, { recursive: true })
  const stamp = report.startedAt.replace(/[:.]/g, '-')
  const json = `${JSON.stringify({ ...report, targets }, null, 2)}\n`
  for (const name of [stamp, 'latest']) {
    writeFileSync(new URL(`${name}.json`, directory), json)
    writeFileSync(new URL(`${name}.md`, directory), markdown)
  }
  log('')
  log(markdown)
  log(`written to bench/results/${stamp}.json and .md (and latest.*)`)
  for (const t of targets) log(`${t.status.padEnd(12)} ${t.what}: ${t.measured} (target ${t.target})`)
  const resolution = describeResolution(report)
  if (resolution !== undefined) log(resolution)
  if (errors.length > 0) process.exitCode = 1
  else if (values.strict && targets.some((t) => t.status === 'FAIL')) process.exitCode = 1
}

const generator = selectLoadGenerator(log)
log(
  `flowgate bench: ${generator.name}, ${settings.connections} connections, ${settings.rounds} rounds × ${settings.durationSeconds} s` +
    `, ${processes} process(es) of each runtime server${quick ? ' (--quick)' : ''}`,
)
try {
  write(await main(generator))
} finally {
  await Promise.all(started.map((server) => server.close().catch(() => undefined)))
}

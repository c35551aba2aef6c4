import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { fromAutocannonSummary } from '../../bench/lib/autocannon.ts'
import { oauthBasicAuthorization } from '../../bench/lib/basic-auth.ts'
import type { LoadRequest } from '../../bench/lib/load-generator.ts'
import { renderMarkdown } from '../../bench/lib/markdown.ts'
import { nodeOptionsOf, parseNodeOptions } from '../../bench/lib/node-options.ts'
import { parseProcStatus } from '../../bench/lib/process-memory.ts'
import type { BenchReport, Comparison } from '../../bench/lib/results.ts'
import { compare } from '../../bench/lib/results.ts'
import {
  type Contender,
  type RoundMeasurement,
  roundOrder,
  runInterleaved,
  settle,
} from '../../bench/lib/rounds.ts'
import type { ServerProcess } from '../../bench/lib/server-process.ts'
import { median, medianDifference, medianRatio, round3 } from '../../bench/lib/stats.ts'
import { describeResolution, evaluateTargets } from '../../bench/lib/targets.ts'
import { parseWrkDuration, parseWrkOutput, wrkLuaScript } from '../../bench/lib/wrk.ts'
import { pacedThinkMs, postBody } from '../../bench/scenarios/runtime.ts'

const wrkOutput = `Running 5s test @ https://127.0.0.1:33215/http/bench
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    10.83ms   10.13ms  79.72ms   89.75%
    Req/Sec     5.18k     3.07k   10.79k    55.00%
  Latency Distribution
     50%  812.00us
     75%   12.01ms
     90%   21.28ms
     99%    1.02s
  10328 requests in 2.01s, 3.86MB read
  Non-2xx or 3xx responses: 12
  Socket errors: connect 1, read 2, write 3, timeout 4
Requests/sec:   5140.04
Transfer/sec:      1.92MB
`

describe('wrk output', () => {
  test('parses requests, rate, p50, p99 and errors with their units', () => {
    assert.deepEqual(parseWrkOutput(wrkOutput), {
      requests: 10328,
      durationSeconds: 2.01,
      requestsPerSecond: 5140.04,
      p50Ms: 0.812,
      p99Ms: 1020,
      non2xx: 12,
      socketErrors: 10,
    })
  })

  test('a clean run has no error lines: zero errors', () => {
    const clean = wrkOutput
      .split('\n')
      .filter((line) => !line.includes('Non-2xx') && !line.includes('Socket errors'))
      .join('\n')
    assert.deepEqual(parseWrkOutput(clean), {
      requests: 10328,
      durationSeconds: 2.01,
      requestsPerSecond: 5140.04,
      p50Ms: 0.812,
      p99Ms: 1020,
      non2xx: 0,
      socketErrors: 0,
    })
  })

  test('output without the latency distribution is rejected, not read as zero', () => {
    const withoutLatency = wrkOutput.replace(/ {5}(50|99)%.*\n/g, '')
    assert.throws(() => parseWrkOutput(withoutLatency), /unexpected wrk output \(was --latency given\?\)/)
  })

  test('durations in every unit wrk prints', () => {
    assert.deepEqual(
      ['812.00us', '1.93ms', '2.01s', '1.50m', '1h'].map(parseWrkDuration),
      [0.812, 1.93, 2010, 90_000, 3_600_000],
    )
    assert.throws(() => parseWrkDuration('12'), /not a wrk duration: "12"/)
  })

  test('the Lua script sets method, headers and an escaped body once', () => {
    assert.equal(
      wrkLuaScript({
        method: 'POST',
        headers: { authorization: 'Bearer abc', 'content-type': 'application/json' },
        body: '{"a":"b\\\\c"}\n',
      }),
      [
        'wrk.method = "POST"',
        'wrk.headers["authorization"] = "Bearer abc"',
        'wrk.headers["content-type"] = "application/json"',
        'wrk.body = "{\\"a\\":\\"b\\\\\\\\c\\"}\\n"',
        '',
      ].join('\n'),
    )
    assert.equal(wrkLuaScript({ method: 'GET', headers: {} }), 'wrk.method = "GET"\n')
  })

  test('a paced request pauses each connection a random 0 to twice the mean after each answer', () => {
    assert.equal(
      wrkLuaScript({ method: 'GET', headers: {}, thinkMs: 8 }),
      'wrk.method = "GET"\nfunction delay() return math.random(0, 16) end\n',
    )
    for (const thinkMs of [0, 2.5]) {
      assert.throws(
        () => wrkLuaScript({ method: 'GET', headers: {}, thinkMs }),
        new RangeError(`thinkMs must be a positive whole number of milliseconds, not ${thinkMs}`),
      )
    }
  })
})

test("the paced rounds' pause offers the floor about half its unpaced rate", () => {
  // 50 connections × 1000 / 8 ms = 6,250/s, half of 12,500.
  assert.deepEqual([pacedThinkMs(50, 12_500), pacedThinkMs(50, 22_000), pacedThinkMs(50, 1e9)], [8, 5, 1])
})

test('autocannon summaries map onto the same result shape', () => {
  assert.deepEqual(
    fromAutocannonSummary({
      duration: 2,
      non2xx: 1,
      errors: 2,
      timeouts: 3,
      latency: { p50: 4, p99: 9.5 },
      requests: { total: 5000 },
    }),
    {
      requests: 5000,
      durationSeconds: 2,
      requestsPerSecond: 2500,
      p50Ms: 4,
      p99Ms: 9.5,
      non2xx: 1,
      socketErrors: 5,
    },
  )
})

describe('statistics', () => {
  test('median of odd and even counts, without reordering the input', () => {
    const values = [5, 1, 3]
    assert.equal(median(values), 3)
    assert.deepEqual(values, [5, 1, 3])
    assert.equal(median([4, 1, 3, 2]), 2.5)
    assert.throws(() => median([]), /median of an empty list/)
  })

  test('ratios and differences pair values of the same round', () => {
    // Round 2 is slow for both: its ratio is 1, although the ratio of medians would say 0.5.
    assert.equal(medianRatio([100, 10, 100], [100, 10, 200]), 1)
    assert.equal(medianDifference([3, 9, 4], [2, 5, 4]), 1)
    assert.throws(() => medianRatio([1, 2], [1]), /rounds do not pair up: 2 vs 1/)
  })

  test('round3 keeps three significant digits', () => {
    assert.deepEqual(
      [round3(12345.6), round3(1.23456), round3(0.0123456), round3(0)],
      [12346, 1.23, 0.0123, 0],
    )
  })
})

function rounds(...rates: number[]): RoundMeasurement[] {
  return rates.map((rate, i) => ({
    requests: rate * 5,
    durationSeconds: 5,
    requestsPerSecond: rate,
    p50Ms: 1,
    p99Ms: 2 + i,
    non2xx: 0,
    socketErrors: 0,
    cpuMicrosPerRequest: 50,
    eventLoopMicrosPerRequest: 40,
    longestStallMs: 10 + i,
    upstreamMicrosPerRequest: 30,
  }))
}

const flowgateRuntime: Comparison = compare(
  { floor: rounds(1000, 1000, 1000), peer: rounds(700, 700, 700), flowgate: rounds(950, 900, 980) },
  [
    ['flowgate', 'floor'],
    ['flowgate', 'peer'],
  ],
)

test('compare reports medians per contender and per-round ratios per pair', () => {
  assert.deepEqual(flowgateRuntime.pairs, {
    'flowgate/floor': { throughputRatio: 0.95, p50DifferenceMs: 0, p99DifferenceMs: 0 },
    'flowgate/peer': { throughputRatio: 950 / 700, p50DifferenceMs: 0, p99DifferenceMs: 0 },
  })
  assert.deepEqual(flowgateRuntime.contenders.flowgate?.median, {
    requestsPerSecond: 950,
    p50Ms: 1,
    p99Ms: 3,
    cpuMicrosPerRequest: 50,
    eventLoopMicrosPerRequest: 40,
    longestStallMs: 11,
    upstreamMicrosPerRequest: 30,
    socketErrors: 0,
  })
})

const baseReport: BenchReport = {
  startedAt: '2026-01-01T00:00:00.000Z',
  finishedAt: '2026-01-01T00:05:00.000Z',
  machine: {
    cpus: 2,
    cpuModel: 'Test CPU',
    node: 'v24.0.0',
    platform: 'linux',
    loadGenerator: 'wrk',
    loadAverage: { start: 0.5, end: 1.25 },
  },
  settings: { rounds: 3, durationSeconds: 5, warmupSeconds: 3, connections: 50, quick: false },
  flowgate: { measured: true, note: 'test' },
  runtime: {},
  errors: [],
}

describe('targets', () => {
  test('nothing measured: every target says so, none passes or fails', () => {
    const outcomes = evaluateTargets(baseReport)
    assert.equal(outcomes.length, 12)
    assert.deepEqual(new Set(outcomes.map((o) => o.status)), new Set(['NOT MEASURED']))
    assert.deepEqual(new Set(outcomes.map((o) => o.measured)), new Set(['not measured']))
  })

  test('each target is judged on its own threshold', () => {
    const report: BenchReport = {
      ...baseReport,
      runtime: { GET: flowgateRuntime },
      pacedRuntime: {
        GET: {
          floorRequestsPerSecond: 12_000,
          thinkMs: 8,
          comparison: compare(
            {
              floor: rounds(5000, 5000),
              flowgate: rounds(4950, 4950).map((r) => ({ ...r, p99Ms: r.p99Ms + 0.4 })),
            },
            [['flowgate', 'floor']],
          ),
        },
      },
      tokenEndpoint: {
        algorithm: 'RS256',
        rawSigningPerSecond: 2000,
        comparison: compare({ flowgate: rounds(1500, 1500), 'oidc-provider': rounds(1000, 1000) }, [
          ['flowgate', 'oidc-provider'],
        ]),
      },
      scale: {
        small: { flows: 10, serviceKeys: 10 },
        large: { flows: 10000, serviceKeys: 100000 },
        comparison: compare({ large: rounds(940), small: rounds(1000) }, [['large', 'small']]),
      },
      stream: {
        bytes: 2 ** 30,
        results: {
          flowgate: { seconds: 4, peakRssGrowthBytes: 64 * 2 ** 20, method: 'VmHWM', status: 200 },
        },
      },
    }
    assert.deepEqual(evaluateTargets(report), [
      { what: 'runtime GET throughput vs the floor', target: '≥ 0.90×', measured: '0.950×', status: 'PASS' },
      {
        what: 'runtime GET throughput vs @fastify/http-proxy',
        target: '≥ 1.15×',
        measured: '1.357×',
        status: 'PASS',
      },
      {
        what: 'runtime GET p99 at 50 connections',
        target: "≤ the floor's p99 + 1 ms",
        measured: '+0.00 ms',
        status: 'PASS',
      },
      {
        what: "runtime GET p99 at 50 connections, paced to half the floor's rate",
        target: "≤ the floor's p99 + 1 ms",
        measured: '+0.40 ms',
        status: 'PASS',
      },
      {
        what: 'runtime POST throughput vs the floor',
        target: '≥ 0.90×',
        measured: 'not measured',
        status: 'NOT MEASURED',
      },
      {
        what: 'runtime POST throughput vs @fastify/http-proxy',
        target: '≥ 1.15×',
        measured: 'not measured',
        status: 'NOT MEASURED',
      },
      {
        what: 'runtime POST p99 at 50 connections',
        target: "≤ the floor's p99 + 1 ms",
        measured: 'not measured',
        status: 'NOT MEASURED',
      },
      {
        what: "runtime POST p99 at 50 connections, paced to half the floor's rate",
        target: "≤ the floor's p99 + 1 ms",
        measured: 'not measured',
        status: 'NOT MEASURED',
      },
      {
        what: '10000 flows and 100000 service keys vs 10 of each',
        target: '≤ 5 % slower',
        measured: '0.940×',
        status: 'FAIL',
      },
      {
        what: '1 GiB streamed POST, peak RSS growth',
        target: '≤ 64 MiB',
        measured: '64.0 MiB',
        status: 'PASS',
      },
      {
        what: 'token endpoint vs oidc-provider (RS256)',
        target: '≥ 1.5×',
        measured: '1.500×',
        status: 'PASS',
      },
      {
        what: 'token endpoint vs the raw signing rate',
        target: '≥ 0.8×',
        measured: '0.750×',
        status: 'FAIL',
      },
    ])
  })

  test('a p99 more than 1 ms above the floor fails', () => {
    const slowTail = compare(
      { floor: rounds(1000, 1000), flowgate: rounds(990, 990).map((r) => ({ ...r, p99Ms: r.p99Ms + 1.5 })) },
      [['flowgate', 'floor']],
    )
    const outcome = evaluateTargets({ ...baseReport, runtime: { POST: slowTail } }).find(
      (o) => o.what === 'runtime POST p99 at 50 connections',
    )
    assert.deepEqual(outcome, {
      what: 'runtime POST p99 at 50 connections',
      target: "≤ the floor's p99 + 1 ms",
      measured: '+1.50 ms',
      status: 'FAIL',
    })
  })
})

test('the Markdown report lists every target with its result', () => {
  const markdown = renderMarkdown(baseReport, evaluateTargets(baseReport))
  assert.match(markdown, /^# Flowgate benchmark, 2026-01-01T00:00:00.000Z\n/)
  assert.match(markdown, /1-minute load average 0\.5 at the start, 1\.3 at the end\./)
  assert.match(markdown, /\| what \| target \| measured \| result \|\n\|---\|---\|---\|---\|\n/)
  assert.equal(markdown.match(/\| NOT MEASURED \|/g)?.length, 12)
  assert.doesNotMatch(markdown, /## Runtime|## Errors/)
  const method = (report: BenchReport) =>
    (renderMarkdown(report, []).split('\n')[2] as string).split('. ').slice(1, 4)
  assert.deepEqual(method(baseReport), [
    'Rounds follow a Williams design (every server in every place and after every other as often)',
    'Figures are medians over rounds; ratios are medians of per-round ratios',
    '1-minute load average 0.5 at the start, 1.3 at the end.',
  ])
  assert.deepEqual(
    method({ ...baseReport, settings: { ...baseReport.settings, processes: 3 } }).slice(0, 2),
    [
      'The runtime scenario runs 3 processes of each server, one per round in turn',
      'Rounds follow a Williams design (every server in every place and after every other as often)',
    ],
  )
})

test('a runtime table gives each contender its process and event-loop CPU and longest stall; an older checkout has neither event-loop figure', () => {
  const older = rounds(900, 900, 900).map((round) => ({
    ...round,
    eventLoopMicrosPerRequest: Number.NaN,
    longestStallMs: Number.NaN,
  }))
  const GET = compare(
    { floor: rounds(1000, 1000, 1000), flowgate: rounds(950, 900, 980), 'flowgate@before': older },
    [['flowgate', 'floor']],
  )
  const markdown = renderMarkdown({ ...baseReport, runtime: { GET } }, [])
  const table = markdown.slice(markdown.indexOf('## Runtime GET'), markdown.indexOf('- flowgate/floor'))
  assert.equal(
    table,
    [
      '## Runtime GET',
      '',
      '|   | req/s (median) | p50 ms | p99 ms | CPU µs/req | event loop µs/req | longest stall ms | upstream µs/req | socket errors |',
      '|---|---|---|---|---|---|---|---|---|',
      '| floor | 1000 | 1 | 3 | 50 | 40 | 11 | 30 | 0 |',
      '| flowgate | 950 | 1 | 3 | 50 | 40 | 11 | 30 | 0 |',
      '| flowgate@before | 900 | 1 | 3 | 50 | — | — | 30 | 0 |',
      '',
      '',
    ].join('\n'),
  )
  assert.match(markdown, /\n- flowgate\/floor: 0\.950× req\/s, p50 \+0\.00 ms, p99 \+0\.00 ms\n/)
  // Without an upstream (the token endpoint) the column is left out.
  const tokens = compare(
    { flowgate: rounds(950, 900, 980).map((round) => ({ ...round, upstreamMicrosPerRequest: Number.NaN })) },
    [],
  )
  const tokenTable = renderMarkdown({ ...baseReport, runtime: { GET: tokens } }, [])
  assert.match(
    tokenTable,
    /\n\| {3}\| req\/s \(median\) \| p50 ms \| p99 ms \| CPU µs\/req \| event loop µs\/req \| longest stall ms \| socket errors \|\n/,
  )
})

test('paced rounds get a section of their own after the unpaced ones, saying how they were paced', () => {
  const paced = compare({ floor: rounds(5000), flowgate: rounds(4990).map((r) => ({ ...r, p50Ms: 1.08 })) }, [
    ['flowgate', 'floor'],
  ])
  const markdown = renderMarkdown(
    {
      ...baseReport,
      runtime: { GET: compare({ floor: rounds(1000) }, []) },
      pacedRuntime: { POST: { floorRequestsPerSecond: 10_500, thinkMs: 10, comparison: paced } },
    },
    [],
  )
  assert.equal(
    markdown.slice(markdown.indexOf('## Runtime POST, paced')),
    [
      "## Runtime POST, paced to half the floor's rate",
      '',
      "Each connection pauses 0–20 ms (uniformly, whole milliseconds) after each answer, chosen from the floor's " +
        'unpaced 10500 req/s: every server is offered about the same rate, below its limit, so the p99 difference ' +
        'is the latency the proxy adds.',
      '',
      '|   | req/s (median) | p50 ms | p99 ms | CPU µs/req | event loop µs/req | longest stall ms | upstream µs/req | socket errors |',
      '|---|---|---|---|---|---|---|---|---|',
      '| floor | 5000 | 1 | 2 | 50 | 40 | 10 | 30 | 0 |',
      '| flowgate | 4990 | 1.08 | 2 | 50 | 40 | 10 | 30 | 0 |',
      '',
      '- flowgate/floor: 0.998× req/s, p50 +0.08 ms, p99 +0.00 ms',
      '',
    ].join('\n'),
  )
  assert.ok(markdown.indexOf('## Runtime GET') < markdown.indexOf('## Runtime POST, paced'))
})

test('/proc/<pid>/status memory lines are read in bytes', () => {
  const status = 'Name:\tnode\nVmPeak:\t 1000 kB\nVmHWM:\t   81920 kB\nVmRSS:\t   40960 kB\nThreads:\t7\n'
  assert.deepEqual(parseProcStatus(status), { rssBytes: 40960 * 1024, peakRssBytes: 81920 * 1024 })
  assert.throws(() => parseProcStatus('Name:\tnode\n'), /\/proc status has no VmRSS line/)
})

test('OAuth Basic credentials form-encode SAP client ids before base64', () => {
  const header = oauthBasicAuthorization('sb-1!b2|it-rt-x!b1', 'a b+c')
  assert.equal(header, `Basic ${Buffer.from('sb-1%21b2%7Cit-rt-x%21b1:a+b%2Bc').toString('base64')}`)
})

test('the POST body is exactly 1 KiB of JSON', () => {
  assert.equal(Buffer.byteLength(postBody), 1024)
  assert.equal(typeof JSON.parse(postBody), 'object')
})

test('rounds follow a Williams design: every contender in every place, and after every other, as often', () => {
  assert.deepEqual(
    [1, 2, 3, 4, 5].map((round) => roundOrder(['A', 'B', 'C', 'D'], round).join(' ')),
    ['A B D C', 'B C A D', 'C D B A', 'D A C B', 'A B D C'],
  )
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7].map((round) => roundOrder(['A', 'B', 'C'], round).join(' ')),
    ['A B C', 'B C A', 'C A B', 'C B A', 'A C B', 'B A C', 'A B C'],
  )
  for (const n of [2, 3, 4, 5, 6, 7]) {
    const contenders = Array.from({ length: n }, (_, i) => i)
    const period = n % 2 === 0 ? n : 2 * n
    const places = new Map<string, number>()
    const follows = new Map<string, number>()
    for (let round = 1; round <= period; round++) {
      const order = roundOrder(contenders, round)
      assert.deepEqual([...order].sort(), contenders)
      order.forEach((contender, place) => {
        places.set(`${contender}@${place}`, (places.get(`${contender}@${place}`) ?? 0) + 1)
        if (place > 0)
          follows.set(
            `${order[place - 1]}>${contender}`,
            (follows.get(`${order[place - 1]}>${contender}`) ?? 0) + 1,
          )
      })
    }
    assert.deepEqual(new Set(places.values()), new Set([period / n]), `places, ${n} contenders`)
    assert.equal(follows.size, n * (n - 1), `pairs, ${n} contenders`)
    assert.deepEqual(new Set(follows.values()), new Set([period / n]), `follows, ${n} contenders`)
  }
})

test('the processes of a server take the rounds in turn, each warmed up first, and each settles after its round', async () => {
  const ran: string[] = []
  const readings: string[] = []
  const server = (name: string): ServerProcess => ({
    name,
    url: `https://${name}.test`,
    pid: 0,
    info: {},
    // CPU time that never moves: a server is quiet at once.
    cpu: async () => {
      readings.push(name)
      return { processMicros: 1000, eventLoopMicros: 500, longestStallMs: 2 }
    },
    close: async () => {},
  })
  const contender = (name: string, copies: number): Contender => {
    const [first, ...others] = [
      name,
      ...Array.from({ length: copies - 1 }, (_, i) => `${name}#${i + 2}`),
    ].map((copy) => ({
      server: server(copy),
      request: { url: copy, method: 'GET' as const, headers: {} },
    }))
    return {
      name,
      ...(first as { server: ServerProcess; request: LoadRequest }),
      others,
    }
  }
  const generator = {
    name: 'fake',
    run: async (request: { url: string }) => {
      ran.push(request.url)
      return {
        requests: 100,
        durationSeconds: 1,
        requestsPerSecond: 100,
        p50Ms: 1,
        p99Ms: 2,
        non2xx: 0,
        socketErrors: 0,
      }
    },
  }
  const lines: string[] = []
  let upstreamMicros = 0
  const upstream = {
    cpu: async () => {
      upstreamMicros += 1000
      return { processMicros: upstreamMicros, eventLoopMicros: 0, longestStallMs: 0 }
    },
  }
  const rounds = await runInterleaved(
    generator,
    [contender('A', 3), contender('B', 1)],
    { rounds: 4, durationSeconds: 1, warmupSeconds: 1, connections: 1 },
    (line) => lines.push(line),
    upstream,
  )
  assert.deepEqual(ran, ['A', 'A#2', 'A#3', 'B', 'A', 'B', 'B', 'A#2', 'A#3', 'B', 'B', 'A'])
  assert.deepEqual(lines, [
    '    round 1/4: A 100/s, B 100/s',
    '    round 2/4: B 100/s, A#2 100/s',
    '    round 3/4: A#3 100/s, B 100/s',
    '    round 4/4: B 100/s, A 100/s',
  ])
  assert.equal(rounds.A?.length, 4)
  // Read before and after each measured round: 1000 µs over its 100 requests.
  assert.deepEqual(
    rounds.A?.map((round) => round.upstreamMicrosPerRequest),
    [10, 10, 10, 10],
  )
  // Each measurement reads the CPU before and after; settling reads it twice more.
  assert.deepEqual(readings.slice(0, 4), ['A', 'A', 'A', 'A'])
})

test('settle waits until the server is quiet, and no longer than its limit', async () => {
  let micros = 0
  const busy = {
    cpu: async () => {
      micros += 50_000
      return { processMicros: micros, eventLoopMicros: 0, longestStallMs: 0 }
    },
  }
  let started = Date.now()
  await settle(busy, { intervalMs: 10, maxMs: 100 })
  const waited = Date.now() - started
  assert.ok(waited >= 100 && waited < 1000, `waited ${waited} ms for a busy server`)
  const readings = [0, 40_000, 80_000, 81_000, 200_000]
  let calls = 0
  const calming = {
    cpu: async () => ({ processMicros: readings[calls++] as number, eventLoopMicros: 0, longestStallMs: 0 }),
  }
  started = Date.now()
  await settle(calming, { intervalMs: 10, maxMs: 5_000 })
  assert.equal(calls, 4)
  assert.ok(Date.now() - started < 1000)
})

test("a run's resolution is what the second floor measured against the first, under the targets", () => {
  const GET = compare({ floor: rounds(1000, 1000, 1000), 'floor 2': rounds(1040, 990, 1080) }, [
    ['floor 2', 'floor'],
  ])
  const POST = compare(
    {
      floor: rounds(1000, 1000, 1000),
      'floor 2': rounds(970, 960, 990).map((r) => ({ ...r, p99Ms: r.p99Ms - 0.25 })),
    },
    [['floor 2', 'floor']],
  )
  const report: BenchReport = { ...baseReport, runtime: { GET, POST } }
  const resolution =
    'Resolution of this run: a second floor, the same server as the first, measured GET 1.040× its ' +
    'throughput and p99 +0.00 ms; POST 0.970× its throughput and p99 -0.25 ms against it. That is ' +
    "the method's own noise on this machine: a figure nearer a target than this is not decided by this run."
  assert.equal(describeResolution(report), resolution)
  const paced = compare(
    {
      floor: rounds(5000, 5000, 5000),
      'floor 2': rounds(5000, 4990, 5010).map((r) => ({ ...r, p99Ms: r.p99Ms + 0.5 })),
    },
    [['floor 2', 'floor']],
  )
  assert.equal(
    describeResolution({
      ...baseReport,
      runtime: { GET },
      pacedRuntime: { GET: { floorRequestsPerSecond: 12_000, thinkMs: 8, comparison: paced } },
    }),
    'Resolution of this run: a second floor, the same server as the first, measured GET 1.040× its ' +
      'throughput and p99 +0.00 ms, and p99 +0.50 ms in the paced rounds against it. That is ' +
      "the method's own noise on this machine: a figure nearer a target than this is not decided by this run.",
  )
  const markdown = renderMarkdown(report, evaluateTargets(report))
  const targetsEnd = markdown.indexOf('\n\n## Runtime GET')
  assert.equal(markdown.slice(markdown.lastIndexOf('|\n', targetsEnd) + 1, targetsEnd), `\n\n${resolution}`)
  assert.equal(describeResolution(baseReport), undefined)
})

test('--node-options: options per server, taken by its further processes; anything else refused', () => {
  const parsed = parseNodeOptions(['flowgate=--trace-gc  --max-semi-space-size=16', 'floor 2=--cpu-prof'])
  assert.deepEqual(
    [...parsed],
    [
      ['flowgate', ['--trace-gc', '--max-semi-space-size=16']],
      ['floor 2', ['--cpu-prof']],
    ],
  )
  assert.deepEqual(nodeOptionsOf(parsed, 'flowgate #3'), ['--trace-gc', '--max-semi-space-size=16'])
  assert.deepEqual(nodeOptionsOf(parsed, 'floor 2 #2'), ['--cpu-prof'])
  assert.equal(nodeOptionsOf(parsed, 'floor'), undefined)
  for (const entry of ['flowgate', '=--trace-gc', 'flowgate=', 'flowgate=trace-gc']) {
    assert.throws(() => parseNodeOptions([entry]), {
      name: 'RangeError',
      message: `--node-options takes NAME=OPTIONS, e.g. 'flowgate=--trace-gc', not '${entry}'`,
    })
  }
})

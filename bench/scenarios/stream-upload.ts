import { streamUpload } from '../lib/https-client.ts'
import { readProcessMemory, resetPeakRss, sampleRss } from '../lib/process-memory.ts'
import type { StreamResult } from '../lib/results.ts'
import type { ServerProcess } from '../lib/server-process.ts'

/** Not measured: sizes the young generation and the TLS and socket buffers once. */
const warmUpBytes = 64 * 2 ** 20

/**
 * Sends one streamed POST of `bytes` through `server` and reports how far the server's resident
 * set grew above where it stood just before: a proxy that streams grows by its buffers only.
 * A fresh Node.js process grows by some 60 MiB on its first large upload whatever its size (the
 * young generation and allocator arenas reach their working size once), so a 64 MiB upload goes
 * first, unmeasured: the figure is then what the body's size costs, not what the first use does.
 */
export async function measureStreamUpload(
  server: ServerProcess,
  url: string,
  headers: Record<string, string>,
  bytes: number,
): Promise<StreamResult> {
  const ca = server.info.ca as string
  await streamUpload(url, { ca, headers, bytes: warmUpBytes })
  const hwmReset = resetPeakRss(server.pid)
  const baseline = readProcessMemory(server.pid).rssBytes
  const sampler = sampleRss(server.pid, 20)
  const { status, seconds } = await streamUpload(url, { ca, headers, bytes })
  const sampledPeak = sampler.stop()
  const peak = hwmReset ? Math.max(readProcessMemory(server.pid).peakRssBytes, sampledPeak) : sampledPeak
  return {
    seconds,
    peakRssGrowthBytes: Math.max(0, peak - baseline),
    method: hwmReset ? 'VmHWM' : 'VmRSS samples',
    status,
  }
}

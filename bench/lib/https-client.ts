import { request } from 'node:https'

export interface HttpsResponse {
  readonly status: number
  readonly body: string
}

/** One small request to a bench server, trusting only the certificate that server made (`ca`). */
export function httpsRequest(
  url: string,
  options: { method: string; ca: string; headers?: Record<string, string>; body?: string },
): Promise<HttpsResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method, ca: options.ca, headers: options.headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      )
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(options.body)
  })
}

/**
 * Streams `bytes` of zeros as one POST (chunked, 64 KiB writes honouring back-pressure), so neither
 * side can hold the body in memory without it showing in RSS. Resolves with the status and seconds.
 */
export function streamUpload(
  url: string,
  options: { ca: string; headers: Record<string, string>; bytes: number },
): Promise<{ status: number; seconds: number }> {
  const chunk = Buffer.alloc(64 * 1024)
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        ca: options.ca,
        headers: { ...options.headers, 'content-type': 'application/octet-stream' },
      },
      (res) => {
        res.resume()
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, seconds: (performance.now() - started) / 1000 }),
        )
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    let remaining = options.bytes
    const write = () => {
      while (remaining > 0) {
        const piece = remaining >= chunk.length ? chunk : chunk.subarray(0, remaining)
        remaining -= piece.length
        if (!req.write(piece)) {
          req.once('drain', write)
          return
        }
      }
      req.end()
    }
    write()
  })
}

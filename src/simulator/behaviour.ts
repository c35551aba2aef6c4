import { FlowgateError } from '../lib/errors.ts'

/** How the simulated iFlows under one address prefix misbehave (or, with `csrf`, protect themselves). */
export interface Behaviour {
  /** CSRF-protected like CPI's HTTPS sender adapter (`X-CSRF-Token: Fetch`, then `Required` on 403). */
  readonly csrf?: boolean
  /** Waits this long after the request body arrived and before sending the response headers. */
  readonly delayMs?: number
  /** Response status (default 200, or 302 with `redirect`). */
  readonly status?: number
  /** Response body instead of the JSON echo, sent as text/plain unless `headers` says otherwise. */
  readonly body?: string
  /** Destroys the connection before the response or after half of the response body. */
  readonly reset?: 'before-response' | 'mid-response'
  /** Answers with this `Location` (status 302 unless `status` is another 3xx). */
  readonly redirect?: string
  /** Streams this many bytes of application/octet-stream instead of the JSON echo. */
  readonly responseBytes?: number
  /** Extra response headers; they override the simulator's own (except Content-Length). */
  readonly headers?: Readonly<Record<string, string>>
}

export interface BehaviourTable {
  set(addressPrefix: string, behaviour: Behaviour): void
  clear(): void
  /** The behaviour of the longest registered prefix that covers `address`, segment by segment. */
  match(address: string): Behaviour | undefined
}

const headerName = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
const headerValue = /^[\t\x20-\x7e\x80-\xff]*$/
const maxDelayMs = 600_000

function invalid(reason: string): FlowgateError {
  return new FlowgateError('ERR_INVALID_PARAMETERS', {
    description: `invalid simulator behaviour: ${reason}`,
  })
}

function isInteger(value: unknown, min: number, max: number): value is number {
  return Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max
}

function checkHeaders(headers: unknown): Readonly<Record<string, string>> {
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) {
    throw invalid('headers must be an object of strings')
  }
  const checked: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (!headerName.test(name)) throw invalid(`header name ${JSON.stringify(name)} is not a token`)
    if (typeof value !== 'string' || !headerValue.test(value)) {
      throw invalid(`header ${name} must be a string without control characters`)
    }
    // The simulator frames every body itself; a wrong length would break the connection, not test it.
    if (/^(content-length|transfer-encoding)$/i.test(name)) throw invalid(`header ${name} cannot be set`)
    checked[name] = value
  }
  return Object.freeze(checked)
}

const known = new Set(['csrf', 'delayMs', 'status', 'body', 'reset', 'redirect', 'responseBytes', 'headers'])

/** Checks a behaviour once, when it is set, and returns a frozen copy the request path can trust. */
function checkBehaviour(behaviour: Behaviour): Behaviour {
  if (typeof behaviour !== 'object' || behaviour === null) throw invalid('must be an object')
  for (const key of Object.keys(behaviour)) {
    if (!known.has(key)) throw invalid(`unknown key ${JSON.stringify(key)}`)
  }
  const { csrf, delayMs, status, body, reset, redirect, responseBytes, headers } = behaviour
  if (csrf !== undefined && typeof csrf !== 'boolean') throw invalid('csrf must be a boolean')
  if (delayMs !== undefined && !isInteger(delayMs, 0, maxDelayMs)) {
    throw invalid(`delayMs must be an integer from 0 to ${maxDelayMs}`)
  }
  if (status !== undefined && !isInteger(status, 200, 599)) {
    throw invalid('status must be an integer from 200 to 599')
  }
  if (body !== undefined && typeof body !== 'string') throw invalid('body must be a string')
  if (reset !== undefined && reset !== 'before-response' && reset !== 'mid-response') {
    throw invalid("reset must be 'before-response' or 'mid-response'")
  }
  if (redirect !== undefined) {
    if (typeof redirect !== 'string' || redirect === '' || !headerValue.test(redirect)) {
      throw invalid('redirect must be a non-empty URL')
    }
    if (status !== undefined && (status < 300 || status > 399)) {
      throw invalid('status must be a 3xx status with redirect')
    }
    if (responseBytes !== undefined) throw invalid('redirect and responseBytes exclude each other')
  }
  if (responseBytes !== undefined) {
    if (!isInteger(responseBytes, 0, Number.MAX_SAFE_INTEGER)) {
      throw invalid('responseBytes must be a non-negative integer')
    }
    if (body !== undefined) throw invalid('body and responseBytes exclude each other')
  }
  const checked: { -readonly [K in keyof Behaviour]: Behaviour[K] } = {}
  if (csrf !== undefined) checked.csrf = csrf
  if (delayMs !== undefined) checked.delayMs = delayMs
  if (status !== undefined) checked.status = status
  if (body !== undefined) checked.body = body
  if (reset !== undefined) checked.reset = reset
  if (redirect !== undefined) checked.redirect = redirect
  if (responseBytes !== undefined) checked.responseBytes = responseBytes
  if (headers !== undefined) checked.headers = checkHeaders(headers)
  return Object.freeze(checked)
}

/** CPI addresses are case-insensitive; `/orders/` and `/orders` name the same prefix. */
function normalizePrefix(prefix: string): string {
  if (typeof prefix !== 'string' || !prefix.startsWith('/')) {
    throw invalid('the address prefix must start with /')
  }
  const lower = prefix.toLowerCase()
  return lower.length > 1 && lower.endsWith('/') ? lower.replace(/\/+$/, '') || '/' : lower
}

export function createBehaviourTable(): BehaviourTable {
  const table = new Map<string, Behaviour>()
  return {
    set(addressPrefix, behaviour) {
      table.set(normalizePrefix(addressPrefix), checkBehaviour(behaviour))
    },
    clear() {
      table.clear()
    },
    match(address) {
      if (table.size === 0) return undefined
      // Walks up the segments of the address, so a lookup costs its depth, not the table's size.
      let candidate = address.toLowerCase()
      while (candidate.length > 1 && candidate.endsWith('/')) candidate = candidate.slice(0, -1)
      for (;;) {
        const found = table.get(candidate === '' ? '/' : candidate)
        if (found !== undefined) return found
        if (candidate === '' || candidate === '/') return undefined
        candidate = candidate.slice(0, candidate.lastIndexOf('/'))
      }
    },
  }
}

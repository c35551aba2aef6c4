import { isIP } from 'node:net'
import { FlowgateError } from '../lib/errors.ts'

function invalid(what: string, reason: string): FlowgateError {
  return new FlowgateError('ERR_VALIDATION', { description: `invalid ${what}: ${reason}` })
}

/** `localhost`, 127.0.0.0/8 and ::1: the only hosts plain http may reach without the unsafe switch. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname
  if (host === 'localhost' || host === '::1') return true
  return isIP(host) === 4 && host.startsWith('127.')
}

/**
 * Parses and checks an upstream URL (a flow's upstream or an OAuth token URL): https, or http
 * only towards a loopback host unless `unsafeAllowHttp`; no user info (credentials belong in an
 * upstream connection, where they are sealed), no fragment, no query (the caller's query string is
 * what reaches the iFlow). Called when flows and connections are written and again whenever the
 * route table is built, so a configuration change can retire an upstream that is no longer allowed.
 */
export function parseUpstreamUrl(raw: unknown, unsafeAllowHttp: boolean, what = 'upstream URL'): URL {
  if (typeof raw !== 'string' || raw === '') throw invalid(what, 'must be a non-empty string')
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw invalid(what, 'not an absolute URL')
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalid(what, 'must use https')
  if (url.protocol === 'http:' && !unsafeAllowHttp && !isLoopbackHost(url.hostname)) {
    throw invalid(what, 'http is only allowed for loopback hosts (see upstream.unsafeAllowHttp)')
  }
  if (url.username !== '' || url.password !== '') {
    throw invalid(what, 'must not carry credentials; use an upstream connection')
  }
  if (url.hash !== '' || raw.includes('#')) throw invalid(what, 'must not have a fragment')
  if (url.search !== '' || raw.includes('?')) throw invalid(what, 'must not have a query string')
  return url
}

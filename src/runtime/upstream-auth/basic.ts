import type { UpstreamAuth } from './upstream-auth.ts'

/** HTTP Basic towards the iFlow; the header value is built once per connection version. */
export function createBasicAuth(key: string, username: string, password: string): UpstreamAuth {
  const value = `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`
  return {
    key,
    refreshable: false,
    authorization: async () => value,
    rejected() {},
    tls: null,
    close() {},
  }
}

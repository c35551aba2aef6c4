import { rootCertificates } from 'node:tls'
import type { UpstreamAuth } from './upstream-auth.ts'

/**
 * Mutual TLS towards the iFlow: the certificate and key go into the connection pool's TLS options,
 * so nothing is added per request. A connection-specific CA is trusted in addition to the defaults.
 */
export function createClientCertificateAuth(
  key: string,
  certificate: string,
  privateKey: string,
  ca: string | null,
  defaultCa: readonly string[] | undefined,
): UpstreamAuth {
  let trusted = defaultCa
  if (ca !== null) trusted = [...(defaultCa ?? rootCertificates), ca]
  return {
    key,
    refreshable: false,
    authorization: async () => null,
    rejected() {},
    tls: { cert: certificate, key: privateKey, ca: trusted },
    close() {},
  }
}

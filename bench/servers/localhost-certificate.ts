import { type CertificateAndKey, generateSelfSigned } from '../../src/lib/certificates.ts'

/** The same kind of certificate Flowgate generates for itself (ECDSA P-256), so TLS costs match. */
export function localhostCertificate(): Promise<CertificateAndKey> {
  return generateSelfSigned({
    commonName: 'localhost',
    altNames: ['localhost', '127.0.0.1'],
    usage: 'server',
  })
}

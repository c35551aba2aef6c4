import { type CertificateAndKey, generateSelfSigned, issueCertificate } from '../../src/lib/certificates.ts'

export interface TestPki {
  /** The test CA that signs every certificate below; trust it in clients. */
  readonly ca: CertificateAndKey
  /** Server certificate for localhost, 127.0.0.1 and ::1. */
  readonly server: CertificateAndKey
  /** Issues a client certificate signed by the test CA. */
  client(commonName: string): Promise<CertificateAndKey>
}

let shared: Promise<TestPki> | undefined

/** One test CA and localhost server certificate per test process (generation costs ~10 ms). */
export function testPki(): Promise<TestPki> {
  shared ??= (async () => {
    const ca = await generateSelfSigned({ commonName: 'Flowgate Test CA', usage: 'ca' })
    const server = await issueCertificate(ca, {
      commonName: 'localhost',
      altNames: ['localhost', '127.0.0.1', '::1'],
      usage: 'server',
    })
    return {
      ca,
      server,
      client: (commonName: string) => issueCertificate(ca, { commonName, usage: 'client' }),
    }
  })()
  return shared
}

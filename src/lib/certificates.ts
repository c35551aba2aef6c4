import { webcrypto } from 'node:crypto'
import { isIP } from 'node:net'
import type * as X509 from '@peculiar/x509'

type X509Module = typeof X509

let x509Module: Promise<X509Module> | undefined

/**
 * @peculiar/x509 resolves its parts through tsyringe, which throws on load unless a Reflect
 * metadata polyfill is installed globally first. It is loaded on the first certificate made, so a
 * process that never makes one (a gateway with configured or already generated TLS material) keeps
 * the global `Reflect` as Node.js defines it.
 */
function loadX509(): Promise<X509Module> {
  x509Module ??= (async () => {
    await import('reflect-metadata')
    const x509 = await import('@peculiar/x509')
    x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0])
    return x509
  })()
  return x509Module
}

const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const

export interface CertificateAndKey {
  /** PEM certificate. */
  readonly cert: string
  /** PKCS#8 PEM private key. */
  readonly key: string
}

export interface IssueOptions {
  readonly commonName: string
  /** DNS names and IP addresses for subjectAltName (server certificates). */
  readonly altNames?: readonly string[]
  readonly days?: number
  readonly usage: 'server' | 'client' | 'ca'
}

function serial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16))
  bytes[0] = (bytes[0] as number) & 0x7f
  return Buffer.from(bytes).toString('hex')
}

async function exportKey(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key))
  const lines = der.toString('base64').match(/.{1,64}/g) ?? []
  return `-----BEGIN PRIVATE KEY-----\n${lines.join('\n')}\n-----END PRIVATE KEY-----\n`
}

function extensionsFor(x509: X509Module, options: IssueOptions): X509.Extension[] {
  const extensions: X509.Extension[] = []
  if (options.usage === 'ca') {
    extensions.push(new x509.BasicConstraintsExtension(true, 0, true))
    extensions.push(
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    )
    return extensions
  }
  extensions.push(new x509.BasicConstraintsExtension(false, undefined, true))
  extensions.push(new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true))
  extensions.push(
    new x509.ExtendedKeyUsageExtension(
      [options.usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth],
      false,
    ),
  )
  if (options.altNames && options.altNames.length > 0) {
    extensions.push(
      new x509.SubjectAlternativeNameExtension(
        options.altNames.map((name) =>
          isIP(name) ? { type: 'ip', value: name } : { type: 'dns', value: name },
        ),
      ),
    )
  }
  return extensions
}

function validity(days: number): { notBefore: Date; notAfter: Date } {
  const notBefore = new Date(Date.now() - 60_000)
  return { notBefore, notAfter: new Date(notBefore.getTime() + days * 86_400_000) }
}

function newKeyPair(): Promise<webcrypto.CryptoKeyPair> {
  return webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']) as Promise<webcrypto.CryptoKeyPair>
}

/** A self-signed certificate (a server certificate for `localhost` by default, or a CA). */
export async function generateSelfSigned(options: IssueOptions): Promise<CertificateAndKey> {
  const x509 = await loadX509()
  const keys = await newKeyPair()
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${options.commonName}`,
    keys,
    signingAlgorithm: algorithm,
    ...validity(options.days ?? 365),
    extensions: extensionsFor(x509, options),
  })
  return { cert: cert.toString('pem'), key: await exportKey(keys.privateKey) }
}

/** A certificate signed by `issuer` (a CA made by generateSelfSigned with usage `ca`). */
export async function issueCertificate(
  issuer: CertificateAndKey,
  options: IssueOptions,
): Promise<CertificateAndKey> {
  const x509 = await loadX509()
  const issuerCert = new x509.X509Certificate(issuer.cert)
  const issuerKey = await webcrypto.subtle.importKey(
    'pkcs8',
    Buffer.from(issuer.key.replace(/-----[^-]+-----|\s/g, ''), 'base64'),
    algorithm,
    false,
    ['sign'],
  )
  const keys = await newKeyPair()
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${options.commonName}`,
    issuer: issuerCert.subject,
    publicKey: keys.publicKey,
    signingKey: issuerKey,
    signingAlgorithm: algorithm,
    ...validity(options.days ?? 365),
    extensions: extensionsFor(x509, options),
  })
  return { cert: cert.toString('pem'), key: await exportKey(keys.privateKey) }
}

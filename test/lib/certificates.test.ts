import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { test } from 'node:test'
import { generateSelfSigned, issueCertificate } from '../../src/lib/certificates.ts'

const hasReflectMetadata = () => typeof (Reflect as { getMetadata?: unknown }).getMetadata === 'function'

test('loading the module leaves the global Reflect alone; the polyfill comes with the first certificate', async () => {
  assert.equal(hasReflectMetadata(), false)
  const server = await generateSelfSigned({
    commonName: 'localhost',
    altNames: ['localhost', '127.0.0.1'],
    usage: 'server',
  })
  assert.equal(hasReflectMetadata(), true)
  const parsed = new X509Certificate(server.cert)
  assert.equal(parsed.subject, 'CN=localhost')
  assert.equal(parsed.subjectAltName, 'DNS:localhost, IP Address:127.0.0.1')
  assert.equal(parsed.ca, false)
  assert.ok(parsed.verify(parsed.publicKey), 'self-signed')
})

test('a certificate issued by a generated CA verifies against it', async () => {
  const ca = await generateSelfSigned({ commonName: 'Test CA', usage: 'ca' })
  const client = await issueCertificate(ca, { commonName: 'partner-a', usage: 'client', days: 30 })
  const issuer = new X509Certificate(ca.cert)
  const issued = new X509Certificate(client.cert)
  assert.equal(issuer.ca, true)
  assert.equal(issued.subject, 'CN=partner-a')
  assert.equal(issued.issuer, 'CN=Test CA')
  assert.ok(issued.checkIssued(issuer))
  assert.ok(issued.verify(issuer.publicKey))
  // Node names the extended key usages here: clientAuth only.
  assert.deepEqual(issued.keyUsage, ['1.3.6.1.5.5.7.3.2'])
})

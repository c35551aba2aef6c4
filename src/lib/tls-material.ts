import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { generateSelfSigned } from './certificates.ts'
import { readConfiguredFile } from './configured-file.ts'
import { FlowgateError } from './errors.ts'

export interface TlsMaterial {
  readonly cert: string
  readonly key: string
  /** True when Flowgate generated (now or on an earlier start) a self-signed certificate. */
  readonly selfSigned: boolean
  /** Where the certificate lives, for the start-up log. */
  readonly certPath: string
}

/**
 * The certificate and key of both listeners: from tls.certFile/tls.keyFile, or — only when neither
 * is configured — a self-signed pair for localhost generated into <dataDir>/tls on first start and
 * reused afterwards. Setting only one of the two files is a configuration error.
 */
export async function resolveTlsMaterial(options: {
  readonly certFile: string
  readonly keyFile: string
  readonly dataDir: string
}): Promise<TlsMaterial> {
  const { certFile, keyFile } = options
  if (certFile !== '' || keyFile !== '') {
    if (certFile === '' || keyFile === '') {
      throw new FlowgateError('ERR_CONFIG_INVALID', {
        description: 'invalid configuration: tls.certFile and tls.keyFile must be set together',
      })
    }
    return {
      cert: readConfiguredFile(certFile, 'tls.certFile'),
      key: readConfiguredFile(keyFile, 'tls.keyFile'),
      selfSigned: false,
      certPath: certFile,
    }
  }
  const dir = join(options.dataDir, 'tls')
  const certPath = join(dir, 'localhost.crt')
  const keyPath = join(dir, 'localhost.key')
  if (existsSync(certPath) && existsSync(keyPath)) {
    return {
      cert: readFileSync(certPath, 'utf8'),
      key: readFileSync(keyPath, 'utf8'),
      selfSigned: true,
      certPath,
    }
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const pair = await generateSelfSigned({
    commonName: 'localhost',
    altNames: ['localhost', '127.0.0.1', '::1'],
    usage: 'server',
    days: 825,
  })
  writeFileSync(keyPath, pair.key, { mode: 0o600 })
  writeFileSync(certPath, pair.cert, { mode: 0o644 })
  return { cert: pair.cert, key: pair.key, selfSigned: true, certPath }
}

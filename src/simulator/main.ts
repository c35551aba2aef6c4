import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { generateSelfSigned } from '../lib/certificates.ts'
import { FlowgateError } from '../lib/errors.ts'
import { type AuthMode, startCpiSimulator } from './cpi-simulator.ts'

// node src/simulator/main.ts [--port 9443] [--host 127.0.0.1] [--cert file --key file]
//   [--auth either|oauth|basic|none] [--client-ca file] [--token-validity seconds]
// Prints one JSON object: the URL, the service key, the Basic user and the server certificate.

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
      cert: { type: 'string' },
      key: { type: 'string' },
      auth: { type: 'string', default: 'either' },
      'client-ca': { type: 'string' },
      'token-validity': { type: 'string', default: '3600' },
    },
    strict: true,
  })
  if ((values.cert === undefined) !== (values.key === undefined)) {
    throw new FlowgateError('ERR_CONFIG_INVALID', { description: '--cert and --key must be given together' })
  }
  const tls =
    values.cert !== undefined && values.key !== undefined
      ? { cert: readFileSync(values.cert, 'utf8'), key: readFileSync(values.key, 'utf8') }
      : await generateSelfSigned({
          commonName: 'localhost',
          altNames: ['localhost', '127.0.0.1', '::1'],
          usage: 'server',
        })
  const simulator = await startCpiSimulator({
    tls,
    host: values.host,
    port: Number(values.port),
    auth: values.auth as AuthMode,
    tokenValiditySeconds: Number(values['token-validity']),
    ...(values['client-ca'] !== undefined && { clientCa: readFileSync(values['client-ca'], 'utf8') }),
  })
  process.stdout.write(
    `${JSON.stringify(
      { url: simulator.url, serviceKey: simulator.serviceKey, basic: simulator.basic, certificate: tls.cert },
      null,
      2,
    )}\n`,
  )
  const stop = () => {
    void simulator.close()
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

main().catch((error: unknown) => {
  process.stderr.write(`cpi-simulator: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exitCode = 1
})

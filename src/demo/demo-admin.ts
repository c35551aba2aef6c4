import { writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { stringify } from 'yaml'
import type { FlowgateConfig } from '../config/schema.ts'
import { builtInRoles } from '../identity/names.ts'
import type { Gateway } from '../server/gateway.ts'

const actor = { actor: 'demo', sourceAddress: null }

/**
 * Gives the demo what `flowgate init` gives a gateway: an admin instance and its key in
 * `<dataDir>/admin-key.json`, plus `<dataDir>/flowgate.yaml`, the gateway configuration the demo
 * runs with (admin port as bound), so `flowgate <command> --config <it>` reaches the demo's admin
 * listener and finds the key and the certificate. Returns the configuration file's path as printed.
 */
export async function writeAdminAccess(
  gateway: Gateway,
  dataDir: string,
  config: FlowgateConfig,
): Promise<string> {
  await gateway.identity.createInstance('admin', 'api', { roles: [builtInRoles.admin] }, actor)
  const adminKey = await gateway.identity.createServiceKey('admin', 'admin-key', undefined, actor)
  writeFileSync(join(dataDir, 'admin-key.json'), `${JSON.stringify(adminKey, null, 2)}\n`, { mode: 0o600 })
  const adminPort = Number(new URL(gateway.adminUrl).port)
  const file = join(dataDir, 'flowgate.yaml')
  const document = {
    dataDir,
    publicUrl: config.publicUrl,
    runtime: { host: config.runtime.host, port: config.runtime.port },
    admin: { host: config.admin.host, port: adminPort },
    upstream: { caFile: config.upstream.caFile },
  }
  writeFileSync(
    file,
    `# The gateway configuration of this demo (written by flowgate demo; the data directory is\n# recreated on the next run).\n${stringify(document)}`,
  )
  return relative(process.cwd(), file) || file
}

import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { FlowgateConfig } from '../config/schema.ts'

const loopbackNames = new Set(['localhost', '127.0.0.1', '[::1]'])

function portOf(url: URL): string {
  return url.port === '' ? '443' : url.port
}

function tokenUrlOf(path: string): string | undefined {
  try {
    const key = JSON.parse(readFileSync(path, 'utf8')) as { oauth?: { tokenurl?: unknown } }
    return typeof key.oauth?.tokenurl === 'string' ? key.oauth.tokenurl : undefined
  } catch {
    return undefined
  }
}

/**
 * Why the URLs in service keys may point nowhere, one sentence each: a loopback publicUrl on
 * another port than the runtime listener (a remote name may sit behind a load balancer, so only
 * loopback is judged), and an admin key in the data directory issued for another publicUrl.
 */
export function keyUrlWarnings(
  config: FlowgateConfig,
  runtimeUrl: string,
  configFile: string | undefined,
): string[] {
  const warnings: string[] = []
  const publicUrl = new URL(config.publicUrl)
  const listening = new URL(runtimeUrl)
  if (loopbackNames.has(publicUrl.hostname) && portOf(publicUrl) !== portOf(listening)) {
    warnings.push(
      `publicUrl ${config.publicUrl} is not where the runtime listener listens (${runtimeUrl}): service keys and tokens carry publicUrl; set it to the runtime listener's address or leave it unset`,
    )
  }
  const keyFile = join(config.dataDir, 'admin-key.json')
  const tokenUrl = tokenUrlOf(keyFile)
  if (tokenUrl !== undefined && !tokenUrl.startsWith(`${config.publicUrl}/`)) {
    warnings.push(
      `the admin key ${keyFile} was issued for ${new URL(tokenUrl).origin}, not for publicUrl ${config.publicUrl}; re-issue it with bin/flowgate init --reissue-admin-key${configFile === undefined ? '' : ` --config ${configFile}`}`,
    )
  }
  return warnings
}

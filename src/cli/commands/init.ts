import { chmodSync, existsSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { builtInRoles } from '../../identity/names.ts'
import { startIdentity } from '../../identity/start-identity.ts'
import { createLogger } from '../../lib/logger.ts'
import { resolveTlsMaterial } from '../../lib/tls-material.ts'
import { loadMasterKey } from '../../secrets/master-key.ts'
import { resealSecrets } from '../../secrets/reseal-secrets.ts'
import { ensureDataDirectory } from '../../store/data-directory.ts'
import { openStore } from '../../store/open-store.ts'
import { CliError } from '../cli-error.ts'
import type { CommandSpec } from '../command.ts'
import { localConfig } from '../local-store.ts'

const cliActor = { actor: 'cli', sourceAddress: null }

function shellWord(value: string): string {
  return /^[\w./:=@-]+$/.test(value) ? value : `'${value.replaceAll("'", "'\\''")}'`
}

/** The start command for the same configuration init was given. */
function startCommand(configFile: string | undefined): string {
  return configFile === undefined
    ? 'bin/flowgate start'
    : `bin/flowgate start --config ${shellWord(configFile)}`
}

export const initCommand: CommandSpec = {
  name: 'init',
  summary: 'Create the data directory, store, signing keys and the first admin instance and key',
  kind: 'local',
  options: {
    config: { type: 'string', value: 'FILE', help: 'Configuration file (default $FLOWGATE_CONFIG)' },
    'key-file': {
      type: 'string',
      value: 'FILE',
      help: 'Where to write the admin service key (default <dataDir>/admin-key.json, mode 0600)',
    },
    instance: { type: 'string', value: 'NAME', help: 'Name of the admin instance (default admin)' },
    'reissue-admin-key': {
      type: 'boolean',
      help: "Replace the admin instance's key admin-key (audited; the old key and its tokens stop working)",
    },
  },
  description:
    'Works on the store directly (run it before the first flowgate start). The admin service key is printed once and written to --key-file; the CLI finds it there, or through FLOWGATE_ADMIN_KEY. With --reissue-admin-key on an initialised store, the key admin-key of the admin instance is deleted and created anew with the current publicUrl (after publicUrl or runtime.port changed, or when the key is lost); --key-file is overwritten.',
  async run(context) {
    const { io } = context
    const config = localConfig(io, context.string('config'))
    const keyPath = resolve(io.cwd, context.string('key-file') ?? join(config.dataDir, 'admin-key.json'))
    const reissue = context.flag('reissue-admin-key')
    if (!reissue && existsSync(keyPath))
      throw new CliError(`${keyPath} exists already; init writes a new admin key only once`)
    const instanceName = context.string('instance') ?? 'admin'
    ensureDataDirectory(config.dataDir)
    const tls = await resolveTlsMaterial({ ...config.tls, dataDir: config.dataDir })
    const masterKey = loadMasterKey(config, (path) =>
      io.stderr.write(
        `Generated a master key at ${path}: back it up, stored secrets cannot be read without it.\n`,
      ),
    )
    const logger = createLogger('warn', {
      write: (text: string) => io.stderr.write(text),
    } as NodeJS.WritableStream)
    const store = await openStore({ url: config.store.url, dataDir: config.dataDir, poolSize: 2, logger })
    try {
      if (reissue && !(await store.isMigrated())) {
        throw new CliError(`the store of ${config.dataDir} is not initialised; run flowgate init first`)
      }
      await store.migrate()
      await resealSecrets({ store, masterKey, logger })
      const identity = await startIdentity({
        config,
        store,
        masterKey,
        logger,
        keyRing: { maintenanceIntervalMs: 0 },
      })
      try {
        const admins = (await store.listInstances()).filter((instance) => instance.plan === 'api')
        if (reissue) {
          const name = context.string('instance') ?? admins.find((a) => a.name === 'admin')?.name
          const admin = admins.find((a) => a.name === name)
          if (admin === undefined) {
            throw new CliError(
              `no admin instance ${name ?? 'admin'} to re-issue a key for${admins.length === 0 ? '; run flowgate init first' : ` (--instance: one of ${admins.map((a) => a.name).join(', ')})`}`,
            )
          }
          const keys = await identity.service.listServiceKeys(admin.name)
          if (keys.some((key) => key.name === 'admin-key')) {
            await identity.service.deleteServiceKey(admin.name, 'admin-key', cliActor)
          }
          const key = await identity.service.createServiceKey(admin.name, 'admin-key', undefined, cliActor)
          const text = `${JSON.stringify(key, null, 2)}\n`
          writeFileSync(keyPath, text, { mode: 0o600 })
          chmodSync(keyPath, 0o600)
          io.stdout.write(text)
          io.stderr.write(
            `Re-issued admin-key of ${admin.name} for ${config.publicUrl}; the old key no longer works. Written to ${keyPath} (mode 0600).\n`,
          )
          return 0
        }
        if (admins.length > 0) {
          throw new CliError(
            `already initialised: admin instance ${admins[0]?.name} exists (create more keys with flowgate key create)`,
          )
        }
        await identity.service.createInstance(instanceName, 'api', { roles: [builtInRoles.admin] }, cliActor)
        const key = await identity.service.createServiceKey(instanceName, 'admin-key', undefined, cliActor)
        const text = `${JSON.stringify(key, null, 2)}\n`
        writeFileSync(keyPath, text, { mode: 0o600, flag: 'wx' })
        io.stdout.write(text)
        io.stderr.write(
          [
            `Initialised ${config.dataDir} (${store.dialect} store, signing keys, admin instance ${instanceName}).`,
            `The admin service key above was written to ${keyPath} (mode 0600) and is not shown again.`,
            tls.selfSigned
              ? `The gateway's self-signed certificate is ${tls.certPath}; the CLI trusts it from there.`
              : '',
            `Next: ${startCommand(context.string('config'))}`,
          ]
            .filter((line) => line !== '')
            .join('\n')
            .concat('\n'),
        )
      } finally {
        identity.close()
      }
    } finally {
      await store.close()
    }
    return 0
  },
}

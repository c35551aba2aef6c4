import { randomUUID } from 'node:crypto'
import type { FlowgateConfig } from '../config/schema.ts'
import { FlowgateError } from '../lib/errors.ts'
import { withinUnit } from '../lib/unit-of-work.ts'
import { objectNamePattern } from '../model/names.ts'
import type { SapServiceKey } from '../model/service-key.ts'
import { createSecretHasher, type MasterKey } from '../secrets/master-key.ts'
import type { Instance, Plan, Role, ServiceKey, Store, StoreOperations } from '../store/types.ts'
import type { Actor, StoreUnit } from './actor.ts'
import { generateClientSecret, secretPrefixOf } from './client-secret.ts'
import type { IdentityIndex } from './identity-index.ts'
import { parseInstanceParameters, toSapInstanceParameters } from './instance-parameters.ts'
import { parseKeyParameters } from './key-parameters.ts'
import type { KeyRing, RotationResult } from './key-ring.ts'
import { checkNewRoleName, clientIdFor, xsappnameOf } from './names.ts'

export interface IdentityServiceOptions {
  readonly store: Store
  readonly index: IdentityIndex
  readonly keyRing: KeyRing
  readonly masterKey: MasterKey
  readonly config: Pick<FlowgateConfig, 'publicUrl' | 'gatewayName' | 'tokens'>
  readonly now?: () => number
}

/** The service key as SAP prints it; its schema is src/model/service-key.ts. */
export type { SapServiceKey }

/** A service key as listed: never the secret or its hash. */
export interface ServiceKeySummary {
  readonly name: string
  readonly instanceName: string
  readonly clientId: string
  readonly keyType: ServiceKey['keyType']
  readonly secretPrefix: string | null
  readonly createdAt: number
  readonly expiresAt: number | null
  readonly expired: boolean
  /** During rotation: the previous secret's prefix and until when it stays valid. */
  readonly rotation: { readonly previousSecretPrefix: string | null; readonly validUntil: number } | null
}

export interface RevokeTokenInput {
  readonly jti: string
  readonly clientId: string
  /** The token's `exp`, seconds since the epoch. */
  readonly exp: number
}

export interface RotateServiceKeyOptions {
  /** How long the previous secret keeps working (default 24 h; 0: invalid at once). */
  readonly previousValidForSeconds?: number
}

export interface IdentityService {
  listRoles(): Promise<Role[]>
  createRole(name: string, description: string | null, actor: Actor, unit?: StoreUnit): Promise<Role>
  deleteRole(name: string, actor: Actor, unit?: StoreUnit): Promise<void>
  listInstances(): Promise<Instance[]>
  getInstance(name: string): Promise<Instance>
  createInstance(
    name: string,
    plan: Plan,
    parameters: unknown,
    actor: Actor,
    unit?: StoreUnit,
  ): Promise<Instance>
  /** Keys absent from `parameters` keep their current value. */
  updateInstance(name: string, parameters: unknown, actor: Actor, unit?: StoreUnit): Promise<Instance>
  /** Deletes the instance and all its keys: their tokens fail on the next request. */
  deleteInstance(name: string, actor: Actor, unit?: StoreUnit): Promise<void>
  createServiceKey(
    instanceName: string,
    keyName: string,
    parameters: unknown,
    actor: Actor,
  ): Promise<SapServiceKey>
  listServiceKeys(instanceName: string): Promise<ServiceKeySummary[]>
  rotateServiceKey(
    instanceName: string,
    keyName: string,
    options: RotateServiceKeyOptions,
    actor: Actor,
  ): Promise<SapServiceKey>
  /**
   * Sets the key's expiry (now or later; `at` in epoch ms); a future expiry may be moved. Throws
   * ERR_KEY_EXPIRED once the expiry has passed: that is final.
   */
  expireServiceKey(
    instanceName: string,
    keyName: string,
    at: number,
    actor: Actor,
  ): Promise<ServiceKeySummary>
  deleteServiceKey(instanceName: string, keyName: string, actor: Actor): Promise<void>
  revokeToken(token: RevokeTokenInput, actor: Actor): Promise<void>
  rotateSigningKey(actor: Actor): Promise<RotationResult>
}

const defaultPreviousValidForSeconds = 86_400
const maxPreviousValidForSeconds = 30 * 86_400

function checkName(kind: 'instance' | 'service key', name: string): void {
  if (typeof name !== 'string' || !objectNamePattern.test(name)) {
    throw new FlowgateError('ERR_VALIDATION', {
      description: `invalid ${kind} name: 1 to 100 letters, digits, "_", "." or "-", starting with a letter or digit`,
    })
  }
}

/** The public answer names only the kind: which names exist is not told to a caller; the log has it. */
function notFound(kind: string, which: string): FlowgateError {
  return new FlowgateError('ERR_NOT_FOUND', {
    description: `${kind} not found`,
    detail: `${which} not found`,
  })
}

function instanceView(instance: Instance): Record<string, unknown> {
  return {
    id: instance.id,
    name: instance.name,
    plan: instance.plan,
    parameters: toSapInstanceParameters(instance.parameters),
  }
}

function summarize(key: ServiceKey, instanceName: string, now: number): ServiceKeySummary {
  const rotating = key.previousSecretValidUntil !== null && key.previousSecretValidUntil > now
  return {
    name: key.name,
    instanceName,
    clientId: key.clientId,
    keyType: key.keyType,
    secretPrefix: key.secretPrefix,
    createdAt: key.createdAt,
    expiresAt: key.expiresAt,
    expired: key.expiresAt !== null && key.expiresAt <= now,
    rotation: rotating
      ? { previousSecretPrefix: key.previousSecretPrefix, validUntil: key.previousSecretValidUntil as number }
      : null,
  }
}

/**
 * The administrative operations on identities (admin API, CLI, demo). Each change and its audit
 * event commit in one store transaction; after the commit this node's index is updated before the
 * call returns, so the next request here already sees the change (other nodes: change feed).
 */
export function createIdentityService(options: IdentityServiceOptions): IdentityService {
  const { store, index, keyRing, config } = options
  const now = options.now ?? Date.now
  const hashSecret = createSecretHasher(options.masterKey)
  const xsappname = xsappnameOf(config)
  const maxValiditySeconds = config.tokens.maxValiditySeconds
  const tokenUrl = `${config.publicUrl}/oauth/token`
  const write = <T>(unit: StoreUnit | undefined, work: (unit: StoreUnit) => Promise<T>) =>
    withinUnit((fn) => store.transaction(fn), unit, work)

  async function instanceByName(tx: StoreOperations, name: string): Promise<Instance> {
    const instance = await tx.getInstanceByName(name)
    if (instance === undefined) throw notFound('instance', `instance "${name}"`)
    return instance
  }

  async function keyByName(tx: StoreOperations, instanceName: string, keyName: string) {
    const instance = await instanceByName(tx, instanceName)
    const key = await tx.getServiceKeyByName(instance.id, keyName)
    if (key === undefined)
      throw notFound('service key', `service key "${keyName}" of instance "${instanceName}"`)
    return { instance, key }
  }

  async function checkRolesExist(tx: StoreOperations, roles: readonly string[]): Promise<void> {
    const known = new Set((await tx.listRoles()).map((role) => role.name))
    for (const role of roles) {
      if (!known.has(role)) {
        throw new FlowgateError('ERR_UNKNOWN_ROLE', {
          description: `unknown role "${role}": create it first`,
        })
      }
    }
  }

  function sapKey(key: ServiceKey, secret: string): SapServiceKey {
    return {
      oauth: {
        clientid: key.clientId,
        clientsecret: secret,
        url: config.publicUrl,
        createdate: new Date(key.createdAt).toISOString(),
        tokenurl: tokenUrl,
      },
    }
  }

  function audit(
    tx: StoreOperations,
    actor: Actor,
    action: string,
    target: string,
    before?: unknown,
    after?: unknown,
  ) {
    return tx.appendAudit(
      {
        actor: actor.actor,
        sourceAddress: actor.sourceAddress,
        action,
        target,
        ...(before === undefined ? {} : { before }),
        ...(after === undefined ? {} : { after }),
      },
      now(),
    )
  }

  /** Changes a key and audits it with its summaries before and after; this node's index follows. */
  async function changeKey(
    instanceName: string,
    keyName: string,
    actor: Actor,
    action: string,
    change: (current: ServiceKey, time: number) => ServiceKey,
  ): Promise<ServiceKey> {
    const key = await store.transaction(async (tx) => {
      const { key: current } = await keyByName(tx, instanceName, keyName)
      const time = now()
      const changed = change(current, time)
      await tx.updateServiceKey(changed)
      await audit(
        tx,
        actor,
        action,
        `key:${instanceName}/${keyName}`,
        summarize(current, instanceName, time),
        summarize(changed, instanceName, time),
      )
      return changed
    })
    index.putKey(key)
    return key
  }

  return {
    listRoles: () => store.listRoles(),

    async createRole(name, description, actor, unit) {
      checkNewRoleName(name)
      const role: Role = { name, description, builtIn: false, createdAt: now() }
      await write(unit, async ({ tx }) => {
        if ((await tx.getRole(name)) !== undefined) {
          throw new FlowgateError('ERR_ALREADY_EXISTS', { description: `role "${name}" already exists` })
        }
        await tx.createRole(role)
        await audit(tx, actor, 'role.create', `role:${name}`, undefined, role)
      })
      return role
    },

    async deleteRole(name, actor, unit) {
      await write(unit, async ({ tx }) => {
        const role = await tx.getRole(name)
        if (role === undefined) throw notFound('role', `role "${name}"`)
        if (role.builtIn) {
          throw new FlowgateError('ERR_ROLE_BUILT_IN', { description: `role "${name}" is built in` })
        }
        await tx.deleteRole(name)
        await audit(tx, actor, 'role.delete', `role:${name}`, role)
      })
    },

    listInstances: () => store.listInstances(),

    async getInstance(name) {
      return instanceByName(store, name)
    },

    async createInstance(name, plan, parameters, actor, unit) {
      checkName('instance', name)
      if (plan !== 'integration-flow' && plan !== 'api') {
        throw new FlowgateError('ERR_VALIDATION', { description: 'plan must be "integration-flow" or "api"' })
      }
      const parsed = parseInstanceParameters(parameters, plan, maxValiditySeconds)
      const time = now()
      const instance: Instance = {
        id: randomUUID(),
        name,
        plan,
        parameters: parsed,
        createdAt: time,
        updatedAt: time,
      }
      await write(unit, async ({ tx, afterCommit }) => {
        if ((await tx.getInstanceByName(name)) !== undefined) {
          throw new FlowgateError('ERR_ALREADY_EXISTS', { description: `instance "${name}" already exists` })
        }
        await checkRolesExist(tx, parsed.roles)
        await tx.createInstance(instance)
        await audit(tx, actor, 'instance.create', `instance:${name}`, undefined, instanceView(instance))
        afterCommit(() => index.putInstance(instance))
      })
      return instance
    },

    async updateInstance(name, parameters, actor, unit) {
      return write(unit, async ({ tx, afterCommit }) => {
        const current = await instanceByName(tx, name)
        const parsed = parseInstanceParameters(
          parameters,
          current.plan,
          maxValiditySeconds,
          current.parameters,
        )
        await checkRolesExist(tx, parsed.roles)
        const next: Instance = { ...current, parameters: parsed, updatedAt: now() }
        await tx.updateInstance(next)
        await audit(
          tx,
          actor,
          'instance.update',
          `instance:${name}`,
          instanceView(current),
          instanceView(next),
        )
        afterCommit(() => index.putInstance(next))
        return next
      })
    },

    async deleteInstance(name, actor, unit) {
      await write(unit, async ({ tx, afterCommit }) => {
        const instance = await instanceByName(tx, name)
        const keys = await tx.listServiceKeys(instance.id)
        await tx.deleteInstance(instance.id)
        await audit(tx, actor, 'instance.delete', `instance:${name}`, {
          ...instanceView(instance),
          serviceKeys: keys.map((key) => ({ name: key.name, clientId: key.clientId })),
        })
        afterCommit(() => index.removeInstance(instance.id))
      })
    },

    async createServiceKey(instanceName, keyName, parameters, actor) {
      checkName('service key', keyName)
      const parsed = parseKeyParameters(parameters)
      const secret = generateClientSecret()
      const secretHash = hashSecret(secret)
      const key = await store.transaction(async (tx) => {
        const instance = await instanceByName(tx, instanceName)
        if ((await tx.getServiceKeyByName(instance.id, keyName)) !== undefined) {
          throw new FlowgateError('ERR_ALREADY_EXISTS', {
            description: `service key "${keyName}" of instance "${instanceName}" already exists`,
          })
        }
        const time = now()
        const created: ServiceKey = {
          id: randomUUID(),
          instanceId: instance.id,
          name: keyName,
          clientId: clientIdFor(instance.id, await tx.nextKeyNumber(), xsappname),
          keyType: parsed.keyType,
          secretHash,
          secretPrefix: secretPrefixOf(secret),
          previousSecretHash: null,
          previousSecretPrefix: null,
          previousSecretValidUntil: null,
          certificatePem: null,
          certificateFingerprint: null,
          expiresAt: parsed.validityDays === null ? null : time + parsed.validityDays * 86_400_000,
          createdAt: time,
          updatedAt: time,
        }
        await tx.createServiceKey(created)
        await audit(
          tx,
          actor,
          'key.create',
          `key:${instanceName}/${keyName}`,
          undefined,
          summarize(created, instanceName, time),
        )
        return created
      })
      index.putKey(key)
      return sapKey(key, secret)
    },

    async listServiceKeys(instanceName) {
      const instance = await instanceByName(store, instanceName)
      const time = now()
      return (await store.listServiceKeys(instance.id)).map((key) => summarize(key, instanceName, time))
    },

    async rotateServiceKey(instanceName, keyName, rotation, actor) {
      const validFor = rotation.previousValidForSeconds ?? defaultPreviousValidForSeconds
      if (!Number.isInteger(validFor) || validFor < 0 || validFor > maxPreviousValidForSeconds) {
        throw new FlowgateError('ERR_VALIDATION', {
          description: `the previous secret's validity must be 0 to ${maxPreviousValidForSeconds} seconds`,
        })
      }
      const secret = generateClientSecret()
      const secretHash = hashSecret(secret)
      const key = await changeKey(instanceName, keyName, actor, 'key.rotate', (current, time) => {
        if (current.keyType !== 'clientsecret' || current.secretHash === null) {
          throw new FlowgateError('ERR_VALIDATION', {
            description: 'only clientsecret keys have a secret to rotate',
          })
        }
        const keepPrevious = validFor > 0
        return {
          ...current,
          secretHash,
          secretPrefix: secretPrefixOf(secret),
          previousSecretHash: keepPrevious ? current.secretHash : null,
          previousSecretPrefix: keepPrevious ? current.secretPrefix : null,
          previousSecretValidUntil: keepPrevious ? time + validFor * 1000 : null,
          updatedAt: time,
        }
      })
      return sapKey(key, secret)
    },

    async expireServiceKey(instanceName, keyName, at, actor) {
      if (!Number.isSafeInteger(at) || at < 0) {
        throw new FlowgateError('ERR_VALIDATION', {
          description: 'expiry must be a time in epoch milliseconds',
        })
      }
      const key = await changeKey(instanceName, keyName, actor, 'key.expire', (current, time) => {
        // Expiry that has passed is final, like deletion: a later date must not bring the key back.
        if (current.expiresAt !== null && current.expiresAt <= time) {
          throw new FlowgateError('ERR_KEY_EXPIRED', { detail: `key ${instanceName}/${keyName} has expired` })
        }
        return { ...current, expiresAt: at, updatedAt: time }
      })
      return summarize(key, instanceName, now())
    },

    async deleteServiceKey(instanceName, keyName, actor) {
      const id = await store.transaction(async (tx) => {
        const { key } = await keyByName(tx, instanceName, keyName)
        await tx.deleteServiceKey(key.id)
        await audit(
          tx,
          actor,
          'key.delete',
          `key:${instanceName}/${keyName}`,
          summarize(key, instanceName, now()),
        )
        return key.id
      })
      index.removeKey(id)
    },

    async revokeToken(token, actor) {
      const revoked = {
        jti: token.jti,
        clientId: token.clientId,
        expiresAt: token.exp * 1000,
        revokedAt: now(),
      }
      await store.transaction(async (tx) => {
        // Revoking twice is not a second event.
        if ((await tx.getRevokedToken(token.jti)) !== undefined) return
        await tx.revokeToken(revoked)
        await audit(tx, actor, 'token.revoke', `token:${token.jti}`, undefined, {
          clientId: token.clientId,
          expiresAt: revoked.expiresAt,
        })
      })
      index.putRevoked(revoked)
    },

    rotateSigningKey: (actor) => keyRing.rotate(actor),
  }
}

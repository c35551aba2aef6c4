import type { Change, Instance, RevokedToken, ServiceKey, Store } from '../store/types.ts'

/** A service key with its instance: what one client id stands for right now. */
export interface ClientEntry {
  readonly key: ServiceKey
  readonly instance: Instance
}

export interface IdentityIndexOptions {
  readonly store: Store
  readonly now?: () => number
  /**
   * Revoked jtis are kept this long past their token's `exp` (the clock leeway), after which the
   * token fails the `exp` check anyway and the entry is dropped.
   */
  readonly graceMs?: number
}

/**
 * This node's in-memory view of who may hold tokens: client id → key and instance, and the revoked
 * jtis. Every runtime call consults it, so it must be a few Map lookups. Local administrative
 * operations update it synchronously right after their commit; changes made by other nodes arrive
 * through the change feed and are re-read from the store (`apply`).
 */
export interface IdentityIndex {
  load(): Promise<void>
  /** The key and its instance; undefined when either no longer exists. */
  client(clientId: string): ClientEntry | undefined
  instance(id: string): Instance | undefined
  isRevoked(jti: string): boolean
  putInstance(instance: Instance): void
  /** Also forgets the instance's keys (the store deletes them with it). */
  removeInstance(id: string): void
  putKey(key: ServiceKey): void
  removeKey(id: string): void
  putRevoked(token: RevokedToken): void
  /** Re-reads the entity a change names. Kinds that are not identity's are ignored. */
  apply(change: Change): Promise<void>
  readonly stats: () => { instances: number; keys: number; revoked: number }
}

export function createIdentityIndex(options: IdentityIndexOptions): IdentityIndex {
  const { store } = options
  const now = options.now ?? Date.now
  const graceMs = options.graceMs ?? 0

  const instances = new Map<string, Instance>()
  const keys = new Map<string, ServiceKey>()
  const keyIdByClientId = new Map<string, string>()
  const revoked = new Map<string, number>()
  let pruneAt = 1024
  // Store reads in flight, by entity: a local write to that entity meanwhile makes the read stale.
  const reading = new Map<string, { stale: boolean }>()
  const wrote = (entity: string): void => {
    const read = reading.get(entity)
    if (read !== undefined) read.stale = true
  }

  function pruneRevoked(): void {
    const limit = now() - graceMs
    for (const [jti, expiresAt] of revoked) if (expiresAt < limit) revoked.delete(jti)
    pruneAt = Math.max(1024, revoked.size * 2)
  }

  function setKey(key: ServiceKey): void {
    const previous = keys.get(key.id)
    if (previous !== undefined && previous.clientId !== key.clientId)
      keyIdByClientId.delete(previous.clientId)
    keys.set(key.id, key)
    keyIdByClientId.set(key.clientId, key.id)
  }

  function deleteKey(id: string): void {
    const previous = keys.get(id)
    if (previous === undefined) return
    keys.delete(id)
    keyIdByClientId.delete(previous.clientId)
  }

  function deleteInstance(id: string): void {
    instances.delete(id)
    for (const key of [...keys.values()]) if (key.instanceId === id) deleteKey(key.id)
  }

  function setRevoked(token: RevokedToken): void {
    revoked.set(token.jti, token.expiresAt)
    if (revoked.size >= pruneAt) pruneRevoked()
  }

  /** A stale read (a local write to the same entity overlapped it) is retried, never applied. */
  async function consistentRead<T>(
    entity: string,
    read: () => Promise<T>,
    write: (value: T) => void,
  ): Promise<void> {
    for (;;) {
      const marker = { stale: false }
      reading.set(entity, marker)
      let value: T
      try {
        value = await read()
      } finally {
        if (reading.get(entity) === marker) reading.delete(entity)
      }
      if (!marker.stale) {
        write(value)
        return
      }
    }
  }

  return {
    async load() {
      const time = now()
      const [allInstances, allKeys, allRevoked] = await Promise.all([
        store.listInstances(),
        store.listServiceKeys(),
        store.listRevokedTokens(time - graceMs),
      ])
      instances.clear()
      keys.clear()
      keyIdByClientId.clear()
      revoked.clear()
      for (const instance of allInstances) instances.set(instance.id, instance)
      for (const key of allKeys) setKey(key)
      for (const token of allRevoked) revoked.set(token.jti, token.expiresAt)
      pruneAt = Math.max(1024, revoked.size * 2)
    },
    client(clientId) {
      const id = keyIdByClientId.get(clientId)
      if (id === undefined) return undefined
      const key = keys.get(id) as ServiceKey
      const instance = instances.get(key.instanceId)
      return instance === undefined ? undefined : { key, instance }
    },
    instance: (id) => instances.get(id),
    isRevoked: (jti) => revoked.has(jti),
    putInstance(instance) {
      wrote(`instance:${instance.id}`)
      instances.set(instance.id, instance)
    },
    removeInstance(id) {
      wrote(`instance:${id}`)
      deleteInstance(id)
    },
    putKey(key) {
      wrote(`service-key:${key.id}`)
      setKey(key)
    },
    removeKey(id) {
      wrote(`service-key:${id}`)
      deleteKey(id)
    },
    putRevoked(token) {
      wrote(`revoked-token:${token.jti}`)
      setRevoked(token)
    },
    async apply(change) {
      switch (change.kind) {
        case 'instance':
          await consistentRead(
            `instance:${change.entityId}`,
            () => store.getInstance(change.entityId),
            (instance) =>
              instance === undefined ? deleteInstance(change.entityId) : instances.set(instance.id, instance),
          )
          return
        case 'service-key':
          await consistentRead(
            `service-key:${change.entityId}`,
            () => store.getServiceKey(change.entityId),
            (key) => (key === undefined ? deleteKey(change.entityId) : setKey(key)),
          )
          return
        case 'revoked-token':
          await consistentRead(
            `revoked-token:${change.entityId}`,
            () => store.getRevokedToken(change.entityId),
            (token) => {
              if (token !== undefined) setRevoked(token)
            },
          )
          return
        default:
          return
      }
    },
    stats: () => ({ instances: instances.size, keys: keys.size, revoked: revoked.size }),
  }
}

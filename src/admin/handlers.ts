import type { Static, TSchema } from 'typebox'
import type { DeclarativeService } from '../declarative/declarative-service.ts'
import type { FlowService } from '../flows/flow-service.ts'
import type { IdentityService } from '../identity/identity-service.ts'
import type { TokenAuthenticator } from '../identity/principal.ts'
import { FlowgateError, isFlowgateError } from '../lib/errors.ts'
import type { Store } from '../store/types.ts'
import type { AdminCaller } from './admin-auth.ts'
import type { AuditVerification } from './audit-verification.ts'
import type { AdminOperation, adminOperations, OperationId } from './operations.ts'
import {
  accessRecordView,
  auditEventView,
  connectionView,
  flowView,
  instanceView,
  roleView,
  serviceKeyView,
  signingKeyView,
} from './views.ts'

type Input<Schema> = Schema extends TSchema ? Static<Schema> : Readonly<Record<string, unknown>>

/** A call as Fastify validated it: its parameters, query and body typed by the operation's schemas. */
export interface AdminCall<Operation extends AdminOperation = AdminOperation> {
  readonly params: Input<Operation['params']>
  readonly query: Input<Operation['query']>
  readonly body: Input<Operation['body']>
  /** Null only on public operations. */
  readonly caller: AdminCaller | null
}

export interface AdminResult {
  readonly status: number
  readonly body?: unknown
}

export type AdminHandler<Operation extends AdminOperation = AdminOperation> = (
  call: AdminCall<Operation>,
) => Promise<AdminResult>

/** One handler per operation; the type makes a missing or misnamed one a compile error. */
export type AdminHandlers = { [Id in OperationId]: AdminHandler<(typeof adminOperations)[Id]> }

export interface HandlerDependencies {
  readonly store: Store
  /** Where access-record queries run: the gateway's access-record worker, off its event loop. */
  readonly accessRecords: Pick<Store, 'queryAccessRecords'>
  readonly identity: IdentityService
  readonly flows: FlowService
  readonly declarative: DeclarativeService
  readonly authenticator: TokenAuthenticator
  readonly verifyAudit: () => Promise<AuditVerification>
  readonly ready: () => Promise<boolean>
  readonly openapi: () => unknown
  readonly now: () => number
}

const ok = (body: unknown): AdminResult => ({ status: 200, body })
const created = (body: unknown): AdminResult => ({ status: 201, body })
const done: AdminResult = { status: 204 }

function actorOf(call: { readonly caller: AdminCaller | null }) {
  if (call.caller === null) throw new FlowgateError('ERR_INTERNAL', { detail: 'write without a caller' })
  return call.caller.actor
}

function timeOf(value: unknown): number | undefined {
  return typeof value === 'string' ? Date.parse(value) : undefined
}

/** A paged listing's query as the store takes it: times in epoch ms, absent filters left out. */
function pageQuery<Query extends { from?: string; to?: string; cursor?: string }>(query: Query) {
  const { from, to, cursor, ...filters } = query
  const fields = { ...filters, from: timeOf(from), to: timeOf(to), cursor: cursor ?? null }
  return Object.fromEntries(Object.entries(fields).filter(([, item]) => item !== undefined)) as Omit<
    Query,
    'from' | 'to' | 'cursor'
  > & { from?: number; to?: number; cursor: string | null }
}

export function createHandlers(deps: HandlerDependencies): AdminHandlers {
  const { store, accessRecords, identity, flows, declarative } = deps

  return {
    async listRoles() {
      return ok({ items: (await identity.listRoles()).map(roleView) })
    },
    async createRole(call) {
      const { name, description } = call.body
      return created(roleView(await identity.createRole(name, description ?? null, actorOf(call))))
    },
    async getRole(call) {
      const role = await store.getRole(call.params.name)
      if (role === undefined) throw new FlowgateError('ERR_NOT_FOUND', { description: 'role not found' })
      return ok(roleView(role))
    },
    async deleteRole(call) {
      await identity.deleteRole(call.params.name, actorOf(call))
      return done
    },

    async listInstances() {
      return ok({ items: (await identity.listInstances()).map(instanceView) })
    },
    async createInstance(call) {
      const { name, plan, parameters } = call.body
      const instance = await identity.createInstance(
        name,
        plan ?? 'integration-flow',
        parameters,
        actorOf(call),
      )
      return created(instanceView(instance))
    },
    async getInstance(call) {
      return ok(instanceView(await identity.getInstance(call.params.name)))
    },
    async updateInstance(call) {
      const instance = await identity.updateInstance(call.params.name, call.body.parameters, actorOf(call))
      return ok(instanceView(instance))
    },
    async deleteInstance(call) {
      await identity.deleteInstance(call.params.name, actorOf(call))
      return done
    },

    async listKeys(call) {
      return ok({ items: (await identity.listServiceKeys(call.params.name)).map(serviceKeyView) })
    },
    async createKey(call) {
      const { name, parameters } = call.body
      return created(await identity.createServiceKey(call.params.name, name, parameters, actorOf(call)))
    },
    async getKey(call) {
      const keys = await identity.listServiceKeys(call.params.name)
      const key = keys.find((candidate) => candidate.name === call.params.key)
      if (key === undefined)
        throw new FlowgateError('ERR_NOT_FOUND', { description: 'service key not found' })
      return ok(serviceKeyView(key))
    },
    async rotateKey(call) {
      const overlap = call.body.overlapSeconds
      const key = await identity.rotateServiceKey(
        call.params.name,
        call.params.key,
        overlap === undefined ? {} : { previousValidForSeconds: overlap },
        actorOf(call),
      )
      return ok(key)
    },
    async expireKey(call) {
      const at = timeOf(call.body.at) ?? deps.now()
      const key = await identity.expireServiceKey(call.params.name, call.params.key, at, actorOf(call))
      return ok(serviceKeyView(key))
    },
    async deleteKey(call) {
      await identity.deleteServiceKey(call.params.name, call.params.key, actorOf(call))
      return done
    },
    async revokeToken(call) {
      let principal: Awaited<ReturnType<TokenAuthenticator['authenticate']>>
      try {
        principal = await deps.authenticator.authenticate(call.body.token)
      } catch (error) {
        // Already expired or revoked (or its key or instance is gone): nothing left to revoke.
        if (
          isFlowgateError(error) &&
          (error.code === 'ERR_TOKEN_EXPIRED' || error.code === 'ERR_TOKEN_REVOKED')
        ) {
          return done
        }
        throw new FlowgateError('ERR_VALIDATION', {
          description: 'token is not an access token issued by this gateway',
          cause: error,
        })
      }
      await identity.revokeToken(
        { jti: principal.jti, clientId: principal.clientId, exp: principal.exp },
        actorOf(call),
      )
      return done
    },

    async listFlows() {
      return ok({ items: (await flows.listFlows()).map(flowView) })
    },
    async createFlow(call) {
      return created(flowView(await flows.createFlow(call.body, actorOf(call))))
    },
    async getFlow(call) {
      return ok(flowView(await flows.getFlow(call.params.ref)))
    },
    async updateFlow(call) {
      const flow = await flows.updateFlow(call.params.ref, call.body, actorOf(call))
      return ok(flowView(flow))
    },
    async deleteFlow(call) {
      await flows.deleteFlow(call.params.ref, actorOf(call))
      return done
    },

    async listConnections() {
      return ok({ items: (await flows.listConnections()).map(connectionView) })
    },
    async createConnection(call) {
      const connection = await flows.createConnection(call.body, actorOf(call))
      return created(connectionView(connection))
    },
    async getConnection(call) {
      return ok(connectionView(await flows.getConnection(call.params.name)))
    },
    async replaceConnection(call) {
      const connection = await flows.updateConnection(call.params.name, call.body, actorOf(call))
      return ok(connectionView(connection))
    },
    async deleteConnection(call) {
      await flows.deleteConnection(call.params.name, actorOf(call))
      return done
    },

    async listAccessRecords(call) {
      const page = await accessRecords.queryAccessRecords(pageQuery(call.query))
      return ok({ items: page.items.map(accessRecordView), next: page.next })
    },
    async listAuditEvents(call) {
      const page = await store.listAuditEvents(pageQuery(call.query))
      return ok({ items: page.items.map(auditEventView), next: page.next })
    },
    async verifyAuditChain() {
      return ok(await deps.verifyAudit())
    },

    async listSigningKeys() {
      return ok({ items: (await store.listSigningKeys()).map(signingKeyView) })
    },
    async rotateSigningKeys(call) {
      await identity.rotateSigningKey(actorOf(call))
      return ok({ items: (await store.listSigningKeys()).map(signingKeyView) })
    },

    async exportConfiguration() {
      return ok(await declarative.export())
    },
    async planConfiguration(call) {
      return ok(await declarative.plan(call.body.document, call.body.prune === true))
    },
    async applyConfiguration(call) {
      return ok(await declarative.apply(call.body.document, call.body.prune === true, actorOf(call)))
    },

    async livez() {
      return ok({ status: 'ok' })
    },
    async readyz() {
      let ready = false
      try {
        ready = await deps.ready()
      } catch {
        ready = false
      }
      return ready ? ok({ status: 'ready' }) : { status: 503, body: { status: 'unavailable' } }
    },
    async openapi() {
      return ok(deps.openapi())
    },
  }
}

import type { DeclarativeService } from '../declarative/declarative-service.ts'
import type { ResolvedDocument } from '../declarative/document.ts'
import type { ConnectionInput } from '../flows/connection-input.ts'
import type { FlowInput } from '../flows/flow-input.ts'
import type { FlowService } from '../flows/flow-service.ts'
import type { IdentityService } from '../identity/identity-service.ts'
import type { TokenAuthenticator } from '../identity/principal.ts'
import { FlowgateError, isFlowgateError } from '../lib/errors.ts'
import type { Plan, Store } from '../store/types.ts'
import type { AdminCaller } from './admin-auth.ts'
import type { AuditVerification } from './audit-verification.ts'
import type { OperationId } from './operations.ts'
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

export interface AdminCall {
  readonly params: Readonly<Record<string, string>>
  readonly query: Readonly<Record<string, unknown>>
  readonly body: Readonly<Record<string, unknown>>
  /** Null only on public operations. */
  readonly caller: AdminCaller | null
}

export interface AdminResult {
  readonly status: number
  readonly body?: unknown
}

export type AdminHandler = (call: AdminCall) => Promise<AdminResult>

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

function actorOf(call: AdminCall) {
  if (call.caller === null) throw new FlowgateError('ERR_INTERNAL', { detail: 'write without a caller' })
  return call.caller.actor
}

function timeOf(value: unknown): number | undefined {
  return typeof value === 'string' ? Date.parse(value) : undefined
}

function withoutUndefined<T extends Record<string, unknown>>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as T
}

/** One handler per operation; the type makes a missing or misnamed one a compile error. */
export function createHandlers(deps: HandlerDependencies): Record<OperationId, AdminHandler> {
  const { store, accessRecords, identity, flows, declarative } = deps

  return {
    async listRoles() {
      return ok({ items: (await identity.listRoles()).map(roleView) })
    },
    async createRole(call) {
      const description = (call.body.description as string | undefined) ?? null
      return created(
        roleView(await identity.createRole(call.body.name as string, description, actorOf(call))),
      )
    },
    async getRole(call) {
      const role = await store.getRole(call.params.name as string)
      if (role === undefined) throw new FlowgateError('ERR_NOT_FOUND', { description: 'role not found' })
      return ok(roleView(role))
    },
    async deleteRole(call) {
      await identity.deleteRole(call.params.name as string, actorOf(call))
      return done
    },

    async listInstances() {
      return ok({ items: (await identity.listInstances()).map(instanceView) })
    },
    async createInstance(call) {
      const { name, plan, parameters } = call.body as { name: string; plan?: Plan; parameters?: unknown }
      const instance = await identity.createInstance(
        name,
        plan ?? 'integration-flow',
        parameters,
        actorOf(call),
      )
      return created(instanceView(instance))
    },
    async getInstance(call) {
      return ok(instanceView(await identity.getInstance(call.params.name as string)))
    },
    async updateInstance(call) {
      const instance = await identity.updateInstance(
        call.params.name as string,
        call.body.parameters,
        actorOf(call),
      )
      return ok(instanceView(instance))
    },
    async deleteInstance(call) {
      await identity.deleteInstance(call.params.name as string, actorOf(call))
      return done
    },

    async listKeys(call) {
      return ok({ items: (await identity.listServiceKeys(call.params.name as string)).map(serviceKeyView) })
    },
    async createKey(call) {
      const { name, parameters } = call.body as { name: string; parameters?: unknown }
      return created(
        await identity.createServiceKey(call.params.name as string, name, parameters, actorOf(call)),
      )
    },
    async getKey(call) {
      const keys = await identity.listServiceKeys(call.params.name as string)
      const key = keys.find((candidate) => candidate.name === call.params.key)
      if (key === undefined)
        throw new FlowgateError('ERR_NOT_FOUND', { description: 'service key not found' })
      return ok(serviceKeyView(key))
    },
    async rotateKey(call) {
      const overlap = call.body.overlapSeconds as number | undefined
      const key = await identity.rotateServiceKey(
        call.params.name as string,
        call.params.key as string,
        overlap === undefined ? {} : { previousValidForSeconds: overlap },
        actorOf(call),
      )
      return ok(key)
    },
    async expireKey(call) {
      const at = timeOf(call.body.at) ?? deps.now()
      const key = await identity.expireServiceKey(
        call.params.name as string,
        call.params.key as string,
        at,
        actorOf(call),
      )
      return ok(serviceKeyView(key))
    },
    async deleteKey(call) {
      await identity.deleteServiceKey(call.params.name as string, call.params.key as string, actorOf(call))
      return done
    },
    async revokeToken(call) {
      let principal: Awaited<ReturnType<TokenAuthenticator['authenticate']>>
      try {
        principal = await deps.authenticator.authenticate(call.body.token as string)
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
      return created(flowView(await flows.createFlow(call.body as unknown as FlowInput, actorOf(call))))
    },
    async getFlow(call) {
      return ok(flowView(await flows.getFlow(call.params.ref as string)))
    },
    async updateFlow(call) {
      const flow = await flows.updateFlow(
        call.params.ref as string,
        call.body as unknown as Partial<FlowInput>,
        actorOf(call),
      )
      return ok(flowView(flow))
    },
    async deleteFlow(call) {
      await flows.deleteFlow(call.params.ref as string, actorOf(call))
      return done
    },

    async listConnections() {
      return ok({ items: (await flows.listConnections()).map(connectionView) })
    },
    async createConnection(call) {
      const connection = await flows.createConnection(call.body as unknown as ConnectionInput, actorOf(call))
      return created(connectionView(connection))
    },
    async getConnection(call) {
      return ok(connectionView(await flows.getConnection(call.params.name as string)))
    },
    async replaceConnection(call) {
      const connection = await flows.updateConnection(
        call.params.name as string,
        call.body as unknown as Omit<ConnectionInput, 'name'>,
        actorOf(call),
      )
      return ok(connectionView(connection))
    },
    async deleteConnection(call) {
      await flows.deleteConnection(call.params.name as string, actorOf(call))
      return done
    },

    async listAccessRecords(call) {
      const { query } = call
      const page = await accessRecords.queryAccessRecords(
        withoutUndefined({
          from: timeOf(query.from),
          to: timeOf(query.to),
          clientId: query.clientId as string | undefined,
          flow: query.flow as string | undefined,
          status: query.status as number | undefined,
          limit: query.limit as number,
          cursor: (query.cursor as string | undefined) ?? null,
        }),
      )
      return ok({ items: page.items.map(accessRecordView), next: page.next })
    },
    async listAuditEvents(call) {
      const { query } = call
      const page = await store.listAuditEvents(
        withoutUndefined({
          from: timeOf(query.from),
          to: timeOf(query.to),
          actor: query.actor as string | undefined,
          action: query.action as string | undefined,
          afterSeq: query.afterSeq as number | undefined,
          limit: query.limit as number,
          cursor: (query.cursor as string | undefined) ?? null,
        }),
      )
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
      return ok(await declarative.plan(call.body.document as ResolvedDocument, call.body.prune === true))
    },
    async applyConfiguration(call) {
      return ok(
        await declarative.apply(
          call.body.document as ResolvedDocument,
          call.body.prune === true,
          actorOf(call),
        ),
      )
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

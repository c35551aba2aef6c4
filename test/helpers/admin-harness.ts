import type { IncomingHttpHeaders } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { Writable } from 'node:stream'
import { type AdminServer, startAdminServer } from '../../src/admin/admin-server.ts'
import { createFlowService, type FlowService } from '../../src/flows/flow-service.ts'
import { createLogger } from '../../src/lib/logger.ts'
import { createSecretBox } from '../../src/secrets/master-key.ts'
import type { Plan, Store } from '../../src/store/types.ts'
import { type OAuthHarness, startOAuthHarness, type TestClock } from './oauth-harness.ts'
import { testPki } from './pki.ts'

export interface AdminResponse {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly text: string
  readonly body: unknown
}

export interface AdminRequestOptions {
  readonly token?: string
  readonly body?: unknown
  /** Raw body text (overrides `body`), e.g. invalid JSON. */
  readonly rawBody?: string
  readonly headers?: Record<string, string>
}

export interface AdminHarness {
  readonly admin: AdminServer
  readonly oauth: OAuthHarness
  readonly store: Store
  readonly flows: FlowService
  readonly clock: TestClock
  readonly ca: string
  /** Every admin log line. */
  logText(): string
  /** A call to the admin listener. */
  call(method: string, path: string, options?: AdminRequestOptions): Promise<AdminResponse>
  /**
   * Creates an instance with a key through the identity service and returns an access token from
   * the token endpoint, plus the client id.
   */
  token(instance: string, plan: Plan, roles: readonly string[]): Promise<{ token: string; clientId: string }>
  /** Sets readiness (GET /readyz). */
  setReady(ready: boolean): void
  close(): Promise<void>
}

export const setupActor = { actor: 'test-setup', sourceAddress: null }

export async function startAdminHarness(
  store: Store,
  overrides: Record<string, unknown> = {},
): Promise<AdminHarness> {
  const oauth = await startOAuthHarness(store, {
    overrides: { 'admin.port': 0, 'admin.host': '127.0.0.1', ...overrides },
  })
  const pki = await testPki()
  const lines: string[] = []
  const logger = createLogger(
    'debug',
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString('utf8'))
        done()
      },
    }),
  )
  const secretBox = createSecretBox(oauth.masterKey)
  const flows = createFlowService({ store, secretBox, config: oauth.config, now: oauth.clock.now })
  let ready = true
  const admin = await startAdminServer({
    config: oauth.config,
    tls: { cert: pki.server.cert, key: pki.server.key, selfSigned: false, certPath: 'test' },
    store,
    identity: oauth.identity.service,
    flows,
    authenticator: oauth.identity.authenticator,
    secretBox,
    logger,
    ready: async () => ready,
    onConfigurationApplied: async (instances) => {
      for (const instance of instances) {
        if (instance.removed) oauth.identity.index.removeInstance(instance.id)
        else {
          const stored = await store.getInstance(instance.id)
          if (stored !== undefined) oauth.identity.index.putInstance(stored)
        }
      }
    },
    now: oauth.clock.now,
  })

  const call = (method: string, path: string, options: AdminRequestOptions = {}): Promise<AdminResponse> => {
    const headers: Record<string, string> = { ...options.headers }
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
    let body: string | undefined = options.rawBody
    if (body === undefined && options.body !== undefined) {
      body = JSON.stringify(options.body)
      headers['content-type'] ??= 'application/json'
    }
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body))
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        `${admin.url}${path}`,
        { method, headers, ca: pki.ca.cert, agent: false },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (chunk: Buffer) => chunks.push(chunk))
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8')
            let parsed: unknown
            try {
              parsed = text === '' ? undefined : JSON.parse(text)
            } catch {
              parsed = undefined
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body: parsed })
          })
          res.on('error', reject)
        },
      )
      req.on('error', reject)
      req.end(body)
    })
  }

  return {
    admin,
    oauth,
    store,
    flows,
    clock: oauth.clock,
    ca: pki.ca.cert,
    logText: () => lines.join(''),
    call,
    async token(instance, plan, roles) {
      await oauth.identity.service.createInstance(instance, plan, { roles: [...roles] }, setupActor)
      const key = await oauth.identity.service.createServiceKey(instance, 'key', undefined, setupActor)
      const credentials = Buffer.from(
        `${encodeURIComponent(key.oauth.clientid)}:${encodeURIComponent(key.oauth.clientsecret)}`,
      ).toString('base64')
      const response = await oauth.request('/oauth/token?grant_type=client_credentials', {
        method: 'POST',
        headers: {
          authorization: `Basic ${credentials}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: '',
      })
      if (response.status !== 200)
        throw new Error(`token request failed: ${response.status} ${response.text}`)
      return {
        token: (response.json() as { access_token: string }).access_token,
        clientId: key.oauth.clientid,
      }
    },
    setReady(value) {
      ready = value
    },
    async close() {
      await admin.close()
      await oauth.close()
    },
  }
}

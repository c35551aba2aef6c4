import { readFileSync } from 'node:fs'
import { Agent, request } from 'undici'
import { CliError } from './cli-error.ts'

/** The parts of an admin service key the CLI needs (SAP's JSON: `{"oauth": {…}}`). */
export interface AdminKey {
  readonly clientid: string
  readonly clientsecret: string
  readonly tokenurl: string
}

export function readAdminKey(path: string): AdminKey {
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'))
  } catch (cause) {
    const reason = (cause as NodeJS.ErrnoException).code ?? 'not valid JSON'
    throw new CliError(`cannot read the admin service key ${path} (${reason})`)
  }
  const outer = parsed as { oauth?: unknown } | null
  const fields = (typeof outer?.oauth === 'object' && outer.oauth !== null ? outer.oauth : outer) as Record<
    string,
    unknown
  > | null
  const { clientid, clientsecret, tokenurl } = fields ?? {}
  if (typeof clientid !== 'string' || typeof clientsecret !== 'string' || typeof tokenurl !== 'string') {
    throw new CliError(`${path} is not a service key with clientid, clientsecret and tokenurl`)
  }
  return { clientid, clientsecret, tokenurl }
}

export interface AdminClientOptions {
  /** e.g. https://127.0.0.1:8444 */
  readonly adminUrl: string
  readonly key: AdminKey
  /** PEM bundle trusted in addition to the system CAs (the gateway's self-signed certificate). */
  readonly ca?: string
}

export type Query = Readonly<Record<string, string | number | boolean | undefined>>

export interface AdminClient {
  get<T>(path: string, query?: Query): Promise<T>
  post<T>(path: string, body: unknown): Promise<T>
  put<T>(path: string, body: unknown): Promise<T>
  patch<T>(path: string, body: unknown): Promise<T>
  delete(path: string): Promise<void>
  close(): Promise<void>
}

interface ErrorBody {
  readonly error_description?: unknown
  readonly code?: unknown
  readonly error?: unknown
}

function describeFailure(status: number, text: string): string {
  try {
    const body = JSON.parse(text) as ErrorBody
    if (typeof body.error_description === 'string') {
      return typeof body.code === 'string'
        ? `${body.error_description} (${body.code}, HTTP ${status})`
        : `${body.error_description} (${String(body.error)}, HTTP ${status})`
    }
  } catch {}
  return `HTTP ${status}`
}

function unreachable(url: string, cause: unknown): CliError {
  const code =
    (cause as { code?: string; cause?: { code?: string } }).cause?.code ?? (cause as { code?: string }).code
  return new CliError(`cannot reach ${url} (${code ?? (cause as Error).message}); is the gateway running?`)
}

/** RFC 6749 §2.3.1: client id and secret are form-encoded before Basic encoding (ids contain `!` and `|`). */
function basicAuthorization(key: AdminKey): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+')
  return `Basic ${Buffer.from(`${encode(key.clientid)}:${encode(key.clientsecret)}`).toString('base64')}`
}

/**
 * The CLI's HTTPS client of the admin API: exchanges the admin service key for an access token at
 * the key's `tokenurl` (once per run), then calls the API with it. Failures become CliErrors that
 * carry the API's description and code, never a secret.
 */
export function createAdminClient(options: AdminClientOptions): AdminClient {
  const base = new URL(options.adminUrl)
  if (base.protocol !== 'https:')
    throw new CliError(`the admin URL must be https:// (got ${base.protocol})`, 2)
  const dispatcher = new Agent({
    connect: options.ca === undefined ? {} : { ca: options.ca },
    connections: 4,
  })
  let token: Promise<string> | undefined

  const fetchToken = async (): Promise<string> => {
    let response: Awaited<ReturnType<typeof request>>
    try {
      response = await request(options.key.tokenurl, {
        method: 'POST',
        dispatcher,
        headers: {
          authorization: basicAuthorization(options.key),
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: 'grant_type=client_credentials',
      })
    } catch (cause) {
      throw unreachable(options.key.tokenurl, cause)
    }
    const text = await response.body.text()
    if (response.statusCode !== 200) {
      throw new CliError(`the admin service key was refused: ${describeFailure(response.statusCode, text)}`)
    }
    const accessToken = (JSON.parse(text) as { access_token?: unknown }).access_token
    if (typeof accessToken !== 'string')
      throw new CliError('the token endpoint answered without an access_token')
    return accessToken
  }

  const call = async <T>(method: string, path: string, body?: unknown, query?: Query): Promise<T> => {
    token ??= fetchToken()
    const url = new URL(path, base)
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value))
    }
    let response: Awaited<ReturnType<typeof request>>
    try {
      response = await request(url, {
        method: method as 'GET',
        dispatcher,
        headers: {
          authorization: `Bearer ${await token}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      })
    } catch (cause) {
      if (cause instanceof CliError) throw cause
      throw unreachable(base.origin, cause)
    }
    const text = await response.body.text()
    if (response.statusCode >= 400) throw new CliError(describeFailure(response.statusCode, text))
    return (text === '' ? undefined : JSON.parse(text)) as T
  }

  return {
    get: (path, query) => call('GET', path, undefined, query),
    post: (path, body) => call('POST', path, body ?? {}),
    put: (path, body) => call('PUT', path, body),
    patch: (path, body) => call('PATCH', path, body),
    delete: (path) => call('DELETE', path),
    close: () => dispatcher.close(),
  }
}

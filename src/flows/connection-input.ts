import { createPrivateKey, X509Certificate } from 'node:crypto'
import type { FlowgateConfig } from '../config/schema.ts'
import { FlowgateError } from '../lib/errors.ts'
import { type ConnectionType, connectionTypes } from '../model/connection.ts'
import { isConnectionName } from './flow-input.ts'
import { parseUpstreamUrl } from './upstream-url.ts'

/** The secret half of a connection; sealed as JSON with the master key, never returned. */
export interface ConnectionSecret {
  readonly password?: string
  readonly clientSecret?: string
  readonly privateKey?: string
}

export interface BasicSettings {
  readonly username: string
}
export interface OAuthClientCredentialsSettings {
  readonly clientId: string
  readonly tokenUrl: string
  /** The service key's `url` (informational). */
  readonly url: string | null
}
export interface ClientCertificateSettings {
  readonly certificate: string
  readonly ca: string | null
  readonly subject: string
  readonly issuer: string
  readonly validTo: string
  readonly fingerprint256: string
}

export interface ConnectionDefinition {
  readonly name: string
  readonly type: ConnectionType
  readonly settings: Readonly<Record<string, unknown>>
  readonly secret: ConnectionSecret | null
}

const keysByType: Record<ConnectionType, readonly string[]> = {
  none: ['name', 'type'],
  basic: ['name', 'type', 'username', 'password'],
  'oauth2-client-credentials': ['name', 'type', 'serviceKey'],
  'client-certificate': ['name', 'type', 'certificate', 'key', 'ca'],
}

function invalid(reason: string): FlowgateError {
  return new FlowgateError('ERR_VALIDATION', { description: `invalid upstream connection: ${reason}` })
}

function nonEmptyString(value: unknown, name: string, max = 4096): string {
  if (typeof value !== 'string' || value === '' || value.length > max) {
    throw invalid(`${name} must be a non-empty string of at most ${max} characters`)
  }
  return value
}

function serviceKeyFields(raw: unknown): Record<string, unknown> {
  let parsed = raw
  if (typeof raw === 'string') {
    try {
      parsed = JSON.parse(raw)
    } catch {
      throw invalid('serviceKey is not valid JSON')
    }
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw invalid('serviceKey must be a JSON object')
  }
  const outer = parsed as Record<string, unknown>
  const oauth = outer.oauth
  if (oauth !== undefined) {
    if (oauth === null || typeof oauth !== 'object' || Array.isArray(oauth)) {
      throw invalid('serviceKey.oauth must be an object')
    }
    return oauth as Record<string, unknown>
  }
  return outer
}

function oauthDefinition(input: Record<string, unknown>, config: FlowgateConfig): ConnectionDefinition {
  const fields = serviceKeyFields(input.serviceKey)
  const clientId = nonEmptyString(fields.clientid, 'serviceKey clientid', 512)
  const clientSecret = nonEmptyString(fields.clientsecret, 'serviceKey clientsecret', 4096)
  const url = fields.url === undefined ? null : nonEmptyString(fields.url, 'serviceKey url')
  // XSUAA keys carry only `url` (the authorization server); its token endpoint is `<url>/oauth/token`.
  let tokenUrlText: unknown = fields.tokenurl
  if (tokenUrlText === undefined && url !== null) tokenUrlText = `${url.replace(/\/+$/, '')}/oauth/token`
  const tokenUrl = parseUpstreamUrl(tokenUrlText, config.upstream.unsafeAllowHttp, 'serviceKey tokenurl').href
  const settings: OAuthClientCredentialsSettings = { clientId, tokenUrl, url }
  return {
    name: input.name as string,
    type: 'oauth2-client-credentials',
    settings: { ...settings },
    secret: { clientSecret },
  }
}

function certificateDefinition(input: Record<string, unknown>): ConnectionDefinition {
  const certificate = nonEmptyString(input.certificate, 'certificate', 65536)
  const key = nonEmptyString(input.key, 'key', 65536)
  const ca = input.ca === undefined || input.ca === null ? null : nonEmptyString(input.ca, 'ca', 262144)
  let leaf: X509Certificate
  try {
    leaf = new X509Certificate(certificate)
  } catch {
    throw invalid('certificate is not a PEM X.509 certificate')
  }
  let privateKey: ReturnType<typeof createPrivateKey>
  try {
    privateKey = createPrivateKey(key)
  } catch {
    throw invalid('key is not an unencrypted PEM private key')
  }
  if (!leaf.checkPrivateKey(privateKey)) throw invalid('key does not belong to certificate')
  if (ca !== null) {
    try {
      new X509Certificate(ca)
    } catch {
      throw invalid('ca is not a PEM X.509 certificate')
    }
  }
  const settings: ClientCertificateSettings = {
    certificate,
    ca,
    subject: leaf.subject,
    issuer: leaf.issuer,
    validTo: new Date(leaf.validTo).toISOString(),
    fingerprint256: leaf.fingerprint256,
  }
  return {
    name: input.name as string,
    type: 'client-certificate',
    settings: { ...settings },
    secret: { privateKey: key },
  }
}

/** The one place an upstream connection definition is validated and split into settings and secret. */
export function validateConnectionInput(input: unknown, config: FlowgateConfig): ConnectionDefinition {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw invalid('must be an object')
  const value = input as Record<string, unknown>
  if (typeof value.name !== 'string' || !isConnectionName(value.name)) {
    throw invalid('name must be 1-64 letters, digits, . _ - starting with a letter or digit')
  }
  const type = value.type as ConnectionType
  if (!connectionTypes.includes(type)) throw invalid(`type must be one of ${connectionTypes.join(', ')}`)
  const allowed = keysByType[type]
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw invalid(`unknown property ${JSON.stringify(key)} for type ${type}`)
  }
  switch (type) {
    case 'none':
      return { name: value.name, type, settings: {}, secret: null }
    case 'basic': {
      const username = nonEmptyString(value.username, 'username', 256)
      if (username.includes(':')) throw invalid('username must not contain ":"')
      const password = nonEmptyString(value.password, 'password', 1024)
      return { name: value.name, type, settings: { username }, secret: { password } }
    }
    case 'oauth2-client-credentials':
      return oauthDefinition(value, config)
    case 'client-certificate':
      return certificateDefinition(value)
  }
}

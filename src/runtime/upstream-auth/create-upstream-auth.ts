import type { Dispatcher } from 'undici'
import type { ConnectionSecret } from '../../flows/connection-input.ts'
import { parseUpstreamUrl } from '../../flows/upstream-url.ts'
import { FlowgateError } from '../../lib/errors.ts'
import type { Logger } from '../../lib/logger.ts'
import { connectionSecretPlace, type SecretBox } from '../../secrets/master-key.ts'
import type { UpstreamConnection } from '../../store/types.ts'
import { createBasicAuth } from './basic.ts'
import { createClientCertificateAuth } from './client-certificate.ts'
import { noUpstreamAuth } from './none.ts'
import { createOAuthClientCredentialsAuth } from './oauth2-client-credentials.ts'
import type { UpstreamAuth } from './upstream-auth.ts'

export interface UpstreamAuthDeps {
  readonly secretBox: SecretBox
  /** For OAuth token endpoints. */
  readonly tokenDispatcher: Dispatcher
  /** Trusted CAs for upstream TLS; undefined means Node's bundled roots. */
  readonly defaultCa: readonly string[] | undefined
  readonly unsafeAllowHttp: boolean
  readonly logger: Logger
  readonly now: () => number
}

/** Changes whenever anything about the connection changes (the sealed secret has a fresh IV on every write). */
export function connectionVersion(connection: UpstreamConnection): string {
  return `${connection.name}|${connection.type}|${connection.updatedAt}|${connection.secretEncrypted ?? ''}`
}

function setting(connection: UpstreamConnection, name: string): string {
  const value = connection.settings[name]
  if (typeof value !== 'string' || value === '') {
    throw new FlowgateError('ERR_UPSTREAM_AUTH', {
      detail: `connection ${connection.name} lacks setting ${name}`,
    })
  }
  return value
}

function secretOf(connection: UpstreamConnection, box: SecretBox): ConnectionSecret {
  if (connection.secretEncrypted === null) {
    throw new FlowgateError('ERR_UPSTREAM_AUTH', { detail: `connection ${connection.name} has no secret` })
  }
  return JSON.parse(
    box.open(connection.secretEncrypted, connectionSecretPlace(connection.name)),
  ) as ConnectionSecret
}

function secretField(
  connection: UpstreamConnection,
  secret: ConnectionSecret,
  name: keyof ConnectionSecret,
): string {
  const value = secret[name]
  if (typeof value !== 'string' || value === '') {
    throw new FlowgateError('ERR_UPSTREAM_AUTH', {
      detail: `connection ${connection.name} lacks its ${name}`,
    })
  }
  return value
}

/**
 * Turns a stored upstream connection into its request-time form, opening its sealed secret once.
 * Throws a FlowgateError (ERR_UPSTREAM_AUTH, ERR_DECRYPT, ERR_VALIDATION) when it cannot be used;
 * the route table then answers that flow's calls with that error instead of forwarding.
 */
export function createUpstreamAuth(
  connection: UpstreamConnection | null,
  deps: UpstreamAuthDeps,
): UpstreamAuth {
  if (connection === null || connection.type === 'none') return noUpstreamAuth
  const key = connectionVersion(connection)
  switch (connection.type) {
    case 'basic': {
      const secret = secretOf(connection, deps.secretBox)
      return createBasicAuth(
        key,
        setting(connection, 'username'),
        secretField(connection, secret, 'password'),
      )
    }
    case 'oauth2-client-credentials': {
      const secret = secretOf(connection, deps.secretBox)
      const tokenUrl = parseUpstreamUrl(
        setting(connection, 'tokenUrl'),
        deps.unsafeAllowHttp,
        'token URL',
      ).href
      return createOAuthClientCredentialsAuth({
        key,
        connection: connection.name,
        tokenUrl,
        clientId: setting(connection, 'clientId'),
        clientSecret: secretField(connection, secret, 'clientSecret'),
        dispatcher: deps.tokenDispatcher,
        logger: deps.logger,
        now: deps.now,
      })
    }
    case 'client-certificate': {
      const secret = secretOf(connection, deps.secretBox)
      const ca = connection.settings.ca
      return createClientCertificateAuth(
        key,
        setting(connection, 'certificate'),
        secretField(connection, secret, 'privateKey'),
        typeof ca === 'string' && ca !== '' ? ca : null,
        deps.defaultCa,
      )
    }
    default:
      throw new FlowgateError('ERR_UPSTREAM_AUTH', {
        detail: `connection ${connection.name} has unknown type ${String(connection.type)}`,
      })
  }
}

/**
 * The one configuration schema. Defaults live here and nowhere else; docs/configuration.md is
 * generated from this file (`npm run docs:config`), and a test keeps the two identical.
 * Every object is closed (`additionalProperties: false`): an unknown key stops start-up.
 */

export const configSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    dataDir: {
      type: 'string',
      default: './data',
      description:
        'Directory for the embedded SQLite database, the generated master key and the generated self-signed certificate.',
    },
    publicUrl: {
      type: 'string',
      default: 'https://localhost:8443',
      pattern: '^https://[^/?#]+$',
      description:
        "The runtime listener's public base URL (scheme and authority, no path). It is the token issuer, the `url` in service keys, and the base of `tokenurl`. Never taken from a request's Host header.",
    },
    gatewayName: {
      type: 'string',
      default: 'flowgate',
      pattern: '^[a-z0-9-]{1,40}$',
      description:
        'Names this gateway in client ids (`…|it-rt-<gatewayName>!b1`) and in the xsappname that prefixes token scopes.',
    },
    zoneId: {
      type: 'string',
      default: 'flowgate',
      description: 'The `zid` claim of issued tokens (the identity zone, as XSUAA names it).',
    },
    runtime: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        host: { type: 'string', default: '0.0.0.0', description: 'Address the runtime listener binds to.' },
        port: {
          type: 'integer',
          minimum: 0,
          maximum: 65535,
          default: 8443,
          description: 'Port of the runtime listener (HTTPS only). 0 picks a free port.',
        },
        trustedProxies: {
          type: 'array',
          items: { type: 'string' },
          default: [],
          description:
            'Peer addresses whose X-Forwarded-For/Proto/Host headers are kept; from any other peer they are replaced.',
        },
        requestTimeoutMs: {
          type: 'integer',
          minimum: 1000,
          default: 300000,
          description: 'Upper bound for receiving a whole request (node:http requestTimeout).',
        },
        headersTimeoutMs: {
          type: 'integer',
          minimum: 1000,
          default: 10000,
          description:
            'Upper bound for receiving request headers; a slower client gets 408 and is closed within a second after it. At most runtime.requestTimeoutMs.',
        },
        maxRequestTargetBytes: {
          type: 'integer',
          minimum: 256,
          maximum: 16384,
          default: 8192,
          description: 'Longest request target (path and query) accepted; longer ones get 414.',
        },
        keepAliveTimeoutMs: {
          type: 'integer',
          minimum: 100,
          default: 65000,
          description: 'Idle keep-alive timeout of client connections.',
        },
      },
    },
    admin: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        host: {
          type: 'string',
          default: '127.0.0.1',
          description: 'Address the admin listener binds to (loopback by default).',
        },
        port: {
          type: 'integer',
          minimum: 0,
          maximum: 65535,
          default: 8444,
          description: 'Port of the admin listener (HTTPS only). 0 picks a free port.',
        },
      },
    },
    tls: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        certFile: {
          type: 'string',
          default: '',
          description:
            'PEM certificate chain of both listeners. Empty (with keyFile empty): a self-signed pair for localhost is generated into dataDir on first start, with a warning.',
        },
        keyFile: { type: 'string', default: '', description: 'PEM private key matching certFile.' },
        minVersion: {
          type: 'string',
          enum: ['TLSv1.2', 'TLSv1.3'],
          default: 'TLSv1.2',
          description: 'Lowest TLS version accepted.',
        },
        hsts: {
          type: 'string',
          default: 'max-age=31536000',
          description: 'Value of the Strict-Transport-Security header on every response; empty disables it.',
        },
      },
    },
    store: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        url: {
          type: 'string',
          default: '',
          description:
            'Empty: embedded SQLite at <dataDir>/flowgate.db. `postgres://…` or `postgresql://…`: PostgreSQL.',
        },
        poolSize: {
          type: 'integer',
          minimum: 1,
          maximum: 100,
          default: 10,
          description: 'PostgreSQL pool size.',
        },
        pollIntervalMs: {
          type: 'integer',
          minimum: 50,
          maximum: 60000,
          default: 1000,
          description:
            'How often a node polls the change log for changes made by other nodes sharing the database.',
        },
      },
    },
    secrets: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        masterKey: {
          type: 'string',
          default: '',
          description:
            'Base64 of 32 random bytes. Encrypts secrets at rest (signing keys, upstream credentials) and derives the secret-hashing pepper and the CSRF key. Prefer masterKeyFile or FLOWGATE_SECRETS_MASTER_KEY.',
        },
        masterKeyFile: {
          type: 'string',
          default: '',
          description:
            'File holding the master key (base64). When neither is set, <dataDir>/master.key is generated on first start, with a warning. Every node of a cluster needs the same key.',
        },
      },
    },
    tokens: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        algorithm: {
          type: 'string',
          enum: ['RS256', 'ES256', 'EdDSA'],
          default: 'ES256',
          description:
            'Signing algorithm of new signing keys (existing keys keep theirs until rotated out). ES256 by default: its tokens are about 250 bytes shorter than RS256 ones, on every runtime call that carries one, and its signature costs a fraction of an RSA one. XSUAA signs with RS256, which stays available; ES256 tokens are read by the same JWT tooling.',
        },
        leewaySeconds: {
          type: 'integer',
          minimum: 0,
          maximum: 300,
          default: 30,
          description: 'Clock skew tolerated when checking exp, nbf and iat.',
        },
        maxValiditySeconds: {
          type: 'integer',
          minimum: 60,
          maximum: 86400,
          default: 43200,
          description: 'Largest token-validity an instance may ask for.',
        },
        signingKeyLifetimeDays: {
          type: 'integer',
          minimum: 0,
          default: 90,
          description:
            'The active signing key is rotated automatically after this many days (0 disables automatic rotation).',
        },
        verifiedCacheSize: {
          type: 'integer',
          minimum: 0,
          default: 10000,
          description:
            'Verified tokens remembered per node so a repeated token skips signature verification (revocation is still checked on every call). 0 disables the cache.',
        },
      },
    },
    bruteForce: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        windowSeconds: {
          type: 'integer',
          minimum: 1,
          default: 60,
          description: 'Window in which failed token requests are counted.',
        },
        maxFailuresPerClient: {
          type: 'integer',
          minimum: 1,
          default: 10,
          description: 'Failures per client id within the window before further attempts get 429.',
        },
        maxFailuresPerAddress: {
          type: 'integer',
          minimum: 1,
          default: 50,
          description: 'Failures per source address within the window before further attempts get 429.',
        },
        blockSeconds: {
          type: 'integer',
          minimum: 1,
          default: 60,
          description: 'How long a client id or address stays blocked (the Retry-After value).',
        },
      },
    },
    accessLog: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        batchSize: {
          type: 'integer',
          minimum: 1,
          default: 100,
          description:
            'Access records written per store round-trip (one batch posted to the access-record worker, stored as one block). Larger batches cost the worker less CPU per record, most with many partners, but each is a longer write on the worker thread: 500 against 100 measured 1.00–1.09× the GET throughput in four runs and 0.3–1.4 ms more p99 latency at half load in two, so the default stays 100 (docs/performance.md).',
        },
        flushIntervalMs: {
          type: 'integer',
          minimum: 10,
          default: 1000,
          description: 'Longest time an access record waits in memory before it is written.',
        },
        maxBuffered: {
          type: 'integer',
          minimum: 100,
          default: 100000,
          description:
            'Records held in memory while the store is unavailable; beyond it records are dropped, counted and reported.',
        },
        retentionDays: {
          type: 'integer',
          minimum: 0,
          default: 30,
          description: 'Access records older than this are deleted in the background (0 keeps them forever).',
        },
      },
    },
    upstream: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        caFile: {
          type: 'string',
          default: '',
          description: 'Extra PEM CA bundle trusted for upstream HTTPS (in addition to the system CAs).',
        },
        unsafeAllowHttp: {
          type: 'boolean',
          default: false,
          description:
            'UNSAFE: allow plain http:// upstreams on non-loopback hosts. Logs a warning at start-up.',
        },
        defaultTimeoutMs: {
          type: 'integer',
          minimum: 100,
          default: 60000,
          description: 'Timeout of a flow that sets none.',
        },
        defaultMaxBodyBytes: {
          type: 'integer',
          minimum: 0,
          default: 10485760,
          description: 'Body-size limit of a flow that sets none.',
        },
      },
    },
    csrf: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        validitySeconds: {
          type: 'integer',
          minimum: 60,
          default: 1800,
          description: 'Lifetime of a CSRF token handed out by `X-CSRF-Token: Fetch`.',
        },
      },
    },
    shutdown: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        drainTimeoutMs: {
          type: 'integer',
          minimum: 0,
          default: 10000,
          description: 'On SIGTERM/SIGINT, how long in-flight requests may take to finish.',
        },
      },
    },
    log: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        level: {
          type: 'string',
          enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
          default: 'info',
          description: 'pino log level.',
        },
      },
    },
  },
} as const

export interface FlowgateConfig {
  readonly dataDir: string
  readonly publicUrl: string
  readonly gatewayName: string
  readonly zoneId: string
  readonly runtime: {
    readonly host: string
    readonly port: number
    readonly trustedProxies: readonly string[]
    readonly requestTimeoutMs: number
    readonly headersTimeoutMs: number
    readonly maxRequestTargetBytes: number
    readonly keepAliveTimeoutMs: number
  }
  readonly admin: { readonly host: string; readonly port: number }
  readonly tls: {
    readonly certFile: string
    readonly keyFile: string
    readonly minVersion: 'TLSv1.2' | 'TLSv1.3'
    readonly hsts: string
  }
  readonly store: { readonly url: string; readonly poolSize: number; readonly pollIntervalMs: number }
  readonly secrets: { readonly masterKey: string; readonly masterKeyFile: string }
  readonly tokens: {
    readonly algorithm: 'RS256' | 'ES256' | 'EdDSA'
    readonly leewaySeconds: number
    readonly maxValiditySeconds: number
    readonly signingKeyLifetimeDays: number
    readonly verifiedCacheSize: number
  }
  readonly bruteForce: {
    readonly windowSeconds: number
    readonly maxFailuresPerClient: number
    readonly maxFailuresPerAddress: number
    readonly blockSeconds: number
  }
  readonly accessLog: {
    readonly batchSize: number
    readonly flushIntervalMs: number
    readonly maxBuffered: number
    readonly retentionDays: number
  }
  readonly upstream: {
    readonly caFile: string
    readonly unsafeAllowHttp: boolean
    readonly defaultTimeoutMs: number
    readonly defaultMaxBodyBytes: number
  }
  readonly csrf: { readonly validitySeconds: number }
  readonly shutdown: { readonly drainTimeoutMs: number }
  readonly log: { readonly level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' }
}

import { type Static, type TProperties, Type } from 'typebox'

/**
 * The one configuration schema, and the configuration's type derived from it. Defaults live here and
 * nowhere else; docs/configuration.md is generated from this file (`npm run docs:config`), and a test
 * keeps the two identical. Every object is closed (`additionalProperties: false`): an unknown key
 * stops start-up. A description says what a setting does; measurements belong to the benchmark.
 */

/** A closed group of keys that may be left out entirely, its keys then taking their defaults. */
function section<Properties extends TProperties>(properties: Properties) {
  return Type.Object(properties, { additionalProperties: false, default: {} })
}

const port = (fallback: number, description: string) =>
  Type.Integer({ minimum: 0, maximum: 65535, default: fallback, description })

export const configSchema = Type.Object(
  {
    dataDir: Type.String({
      default: './data',
      description:
        'Directory for the embedded SQLite database, the generated master key and the generated self-signed certificate.',
    }),
    publicUrl: Type.String({
      default: 'https://localhost:8443',
      pattern: '^https://[^/?#]+$',
      description:
        "The runtime listener's public base URL (scheme and authority, no path). It is the token issuer, the `url` in service keys, and the base of `tokenurl`. Never taken from a request's Host header. When not set, it is derived from the runtime listener: `https://localhost:<runtime.port>` for a wildcard or loopback `runtime.host`, else `https://<runtime.host>:<runtime.port>`; set it when partners reach the gateway under another name (a load balancer).",
    }),
    gatewayName: Type.String({
      default: 'flowgate',
      pattern: '^[a-z0-9-]{1,40}$',
      description:
        'Names this gateway in client ids (`…|it-rt-<gatewayName>!b1`) and in the xsappname that prefixes token scopes.',
    }),
    zoneId: Type.String({
      default: 'flowgate',
      description: 'The `zid` claim of issued tokens (the identity zone, as XSUAA names it).',
    }),
    runtime: section({
      host: Type.String({ default: '0.0.0.0', description: 'Address the runtime listener binds to.' }),
      port: port(8443, 'Port of the runtime listener (HTTPS only). 0 picks a free port.'),
      trustedProxies: Type.Array(Type.String(), {
        default: [],
        description:
          'Peer addresses whose X-Forwarded-For/Proto/Host headers are kept; from any other peer they are replaced.',
      }),
      requestTimeoutMs: Type.Integer({
        minimum: 1000,
        default: 300000,
        description: 'Upper bound for receiving a whole request (node:http requestTimeout).',
      }),
      headersTimeoutMs: Type.Integer({
        minimum: 1000,
        default: 10000,
        description:
          'Upper bound for receiving request headers; a slower client gets 408 and is closed within a second after it. At most runtime.requestTimeoutMs.',
      }),
      maxRequestTargetBytes: Type.Integer({
        minimum: 256,
        maximum: 16384,
        default: 8192,
        description: 'Longest request target (path and query) accepted; longer ones get 414.',
      }),
      keepAliveTimeoutMs: Type.Integer({
        minimum: 100,
        default: 65000,
        description: 'Idle keep-alive timeout of client connections.',
      }),
    }),
    admin: section({
      host: Type.String({
        default: '127.0.0.1',
        description: 'Address the admin listener binds to (loopback by default).',
      }),
      port: port(8444, 'Port of the admin listener (HTTPS only). 0 picks a free port.'),
    }),
    tls: section({
      certFile: Type.String({
        default: '',
        description:
          'PEM certificate chain of both listeners. Empty (with keyFile empty): a self-signed pair for localhost is generated into dataDir on first start, with a warning.',
      }),
      keyFile: Type.String({ default: '', description: 'PEM private key matching certFile.' }),
      minVersion: Type.Enum(['TLSv1.2', 'TLSv1.3'], {
        default: 'TLSv1.2',
        description: 'Lowest TLS version accepted.',
      }),
      hsts: Type.String({
        default: 'max-age=31536000',
        description: 'Value of the Strict-Transport-Security header on every response; empty disables it.',
      }),
    }),
    store: section({
      url: Type.String({
        default: '',
        description:
          'Empty: embedded SQLite at <dataDir>/flowgate.db. `postgres://…` or `postgresql://…`: PostgreSQL.',
      }),
      poolSize: Type.Integer({ minimum: 1, maximum: 100, default: 10, description: 'PostgreSQL pool size.' }),
      pollIntervalMs: Type.Integer({
        minimum: 50,
        maximum: 60000,
        default: 1000,
        description:
          'How often a node polls the change log for changes made by other nodes sharing the database.',
      }),
    }),
    secrets: section({
      masterKey: Type.String({
        default: '',
        description:
          'Base64 of 32 random bytes. Encrypts secrets at rest (signing keys, upstream credentials) and derives the secret-hashing pepper and the CSRF key. Prefer masterKeyFile or FLOWGATE_SECRETS_MASTER_KEY.',
      }),
      masterKeyFile: Type.String({
        default: '',
        description:
          'File holding the master key (base64). When neither is set, <dataDir>/master.key is generated on first start, with a warning. Every node of a cluster needs the same key.',
      }),
    }),
    tokens: section({
      algorithm: Type.Enum(['RS256', 'ES256', 'EdDSA'], {
        default: 'ES256',
        description:
          'Signing algorithm of new signing keys (existing keys keep theirs until rotated out). ES256 by default: its tokens are shorter than RS256 ones, on every runtime call that carries one, and its signature is cheaper to compute. XSUAA signs with RS256, which stays available; ES256 tokens are read by the same JWT tooling.',
      }),
      leewaySeconds: Type.Integer({
        minimum: 0,
        maximum: 300,
        default: 30,
        description: 'Clock skew tolerated when checking exp, nbf and iat.',
      }),
      maxValiditySeconds: Type.Integer({
        minimum: 60,
        maximum: 86400,
        default: 43200,
        description: 'Largest token-validity an instance may ask for.',
      }),
      signingKeyLifetimeDays: Type.Integer({
        minimum: 0,
        default: 90,
        description:
          'The active signing key is rotated automatically after this many days (0 disables automatic rotation).',
      }),
      verifiedCacheSize: Type.Integer({
        minimum: 0,
        default: 10000,
        description:
          'Verified tokens remembered per node so a repeated token skips signature verification (revocation is still checked on every call). 0 disables the cache.',
      }),
    }),
    bruteForce: section({
      windowSeconds: Type.Integer({
        minimum: 1,
        default: 60,
        description: 'Window in which failed token requests are counted.',
      }),
      maxFailuresPerClient: Type.Integer({
        minimum: 1,
        default: 10,
        description: 'Failures per client id within the window before further attempts get 429.',
      }),
      maxFailuresPerAddress: Type.Integer({
        minimum: 1,
        default: 50,
        description: 'Failures per source address within the window before further attempts get 429.',
      }),
      blockSeconds: Type.Integer({
        minimum: 1,
        default: 60,
        description: 'How long a client id or address stays blocked (the Retry-After value).',
      }),
    }),
    accessLog: section({
      batchSize: Type.Integer({
        minimum: 1,
        default: 100,
        description:
          'Access records written per store round-trip (one batch posted to the access-record worker). Larger batches cost the worker less CPU per record, but each is a longer write on the worker thread and a larger message on the event loop, and records wait longer in memory before they are stored.',
      }),
      flushIntervalMs: Type.Integer({
        minimum: 10,
        default: 1000,
        description: 'Longest time an access record waits in memory before it is written.',
      }),
      maxBuffered: Type.Integer({
        minimum: 100,
        default: 100000,
        description:
          'Records held in memory while the store is unavailable; beyond it records are dropped, counted and reported.',
      }),
      retentionDays: Type.Integer({
        minimum: 0,
        default: 30,
        description: 'Access records older than this are deleted in the background (0 keeps them forever).',
      }),
    }),
    upstream: section({
      caFile: Type.String({
        default: '',
        description: 'Extra PEM CA bundle trusted for upstream HTTPS (in addition to the system CAs).',
      }),
      unsafeAllowHttp: Type.Boolean({
        default: false,
        description:
          'UNSAFE: allow plain http:// upstreams on non-loopback hosts. Logs a warning at start-up.',
      }),
      defaultTimeoutMs: Type.Integer({
        minimum: 100,
        default: 60000,
        description: 'Timeout of a flow that sets none.',
      }),
      defaultMaxBodyBytes: Type.Integer({
        minimum: 0,
        default: 10485760,
        description: 'Body-size limit of a flow that sets none.',
      }),
    }),
    csrf: section({
      validitySeconds: Type.Integer({
        minimum: 60,
        default: 1800,
        description: 'Lifetime of a CSRF token handed out by `X-CSRF-Token: Fetch`.',
      }),
    }),
    shutdown: section({
      drainTimeoutMs: Type.Integer({
        minimum: 0,
        default: 10000,
        description: 'On SIGTERM/SIGINT, how long in-flight requests may take to finish.',
      }),
    }),
    log: section({
      level: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
        default: 'info',
        description: 'pino log level.',
      }),
    }),
  },
  { additionalProperties: false },
)

type DeepReadonly<T> = T extends readonly (infer Item)[]
  ? readonly DeepReadonly<Item>[]
  : T extends object
    ? { readonly [Key in keyof T]: DeepReadonly<T[Key]> }
    : T

/** The validated configuration: every key present (defaults filled in), frozen at every level. */
export type FlowgateConfig = DeepReadonly<Static<typeof configSchema>>

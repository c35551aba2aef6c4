/**
 * The request-header names Flowgate itself controls, shared by the runtime's header filter
 * (src/runtime/headers.ts) and the validation of a flow's allow-list (./flow-input.ts), so a flow
 * cannot allow what the runtime always drops or sets. Names are lower case.
 */

/** RFC 9110 §7.6.1 hop-by-hop headers, plus the legacy ones proxies still meet. */
export const hopByHopHeaders: readonly string[] = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]

/**
 * The default request-header deny-list: headers an iFlow, or a framework or server in front of it,
 * may take as a fact about the call although any client can send them. They are stripped, not
 * refused, so clients that send them out of habit keep working; the iFlow sees only what Flowgate
 * vouches for (docs/runtime.md, "Header rules").
 */
export const deniedRequestHeaders: readonly string[] = [
  // Method override: the iFlow sees only the method Flowgate authorised.
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
  // Caller identity: Flowgate's own X-Flowgate-* headers say who calls.
  'x-real-ip',
  'x-client-ip',
  'true-client-ip',
  'x-client-id',
  'x-user',
  'x-remote-user',
  'x-forwarded-user',
  // Routing: the upstream URL is the flow's, never the client's.
  'x-original-url',
  'x-original-uri',
  'x-rewrite-url',
  'x-forwarded-prefix',
  'x-forwarded-port',
  'x-forwarded-server',
  'x-forwarded-scheme',
  // Client certificates: Flowgate terminates TLS, so a certificate in a header proves nothing.
  'x-ssl-client-cert',
  'x-ssl-client-verify',
  'x-ssl-client-s-dn',
  'x-ssl-client-i-dn',
  'x-client-cert',
  'client-cert',
  'client-cert-chain',
  'ssl-client-cert',
  'x-forwarded-client-cert',
]

/**
 * Client headers that never reach the iFlow: hop-by-hop, the destination (`host`), the client's
 * own credentials and CSRF token, `expect` (answered by the listener), everything Flowgate sets
 * itself and the deny-list. `x-flowgate-*` is dropped by prefix.
 */
const droppedRequestHeaders = new Set<string>([
  ...hopByHopHeaders,
  ...deniedRequestHeaders,
  'host',
  'authorization',
  'cookie',
  'x-csrf-token',
  'expect',
  'x-correlation-id',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'forwarded',
  'traceparent',
  'tracestate',
])

const identityPrefix = 'x-flowgate-'

/** Every spelling of `name` with some of its dashes written as underscores, the name itself excluded. */
function underscoreSpellings(name: string): string[] {
  const parts = name.split('-')
  let spellings = [parts[0] as string]
  for (const part of parts.slice(1))
    spellings = spellings.flatMap((head) => [`${head}-${part}`, `${head}_${part}`])
  return spellings.filter((spelling) => spelling !== name)
}

/**
 * Names that, spelled with `_` for `-` (`X_Forwarded_For`), are dropped too: some servers and CGI
 * gateways fold underscores into dashes and would take them for the real header. Other underscore
 * names pass: CPI's own headers are spelled that way (`SAP_ApplicationID`, `SAP_Sender`). Every
 * spelling is in the one Set, so the filter stays one lookup per header, with no folding per request.
 */
for (const name of [...droppedRequestHeaders, 'content-length', 'content-type']) {
  for (const spelling of underscoreSpellings(name)) droppedRequestHeaders.add(spelling)
}

/** `x-flowgate-*`, also spelled `x_flowgate_*`, `x-flowgate_*` or `x_flowgate-*`. */
function isIdentityName(lower: string): boolean {
  if (lower.length <= identityPrefix.length || lower.charCodeAt(0) !== 120 /* x */) return false
  const first = lower.charCodeAt(1)
  const second = lower.charCodeAt(10)
  return (first === 45 || first === 95) && (second === 45 || second === 95) && lower.startsWith('flowgate', 2)
}

/**
 * Client headers that never reach the iFlow whatever a flow's policy says (`droppedRequestHeaders`
 * and `x-flowgate-*`, in every underscore spelling). Lower-cased name.
 */
export function isDroppedRequestHeader(lower: string): boolean {
  return droppedRequestHeaders.has(lower) || isIdentityName(lower)
}

/**
 * Names a flow's allow-list may not contain: the dropped ones, and `content-length`, which frames
 * the body and always passes (it is checked against the flow's body limit).
 */
export function isFlowgateRequestHeader(lower: string): boolean {
  return isDroppedRequestHeader(lower) || lower === 'content-length'
}

/**
 * HTTP Basic credentials as RFC 6749 §2.3.1 asks of OAuth clients: both parts form-urlencoded
 * (Appendix B) before base64, which matters because SAP client ids contain `!` and `|`.
 */
export function oauthBasicAuthorization(clientId: string, clientSecret: string): string {
  const encode = (value: string) => new URLSearchParams({ v: value }).toString().slice(2)
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64')}`
}

import { type Dispatcher, request } from 'undici'

/** A service key's client credentials, as Flowgate prints them. */
export interface ClientCredentials {
  readonly oauth: { readonly clientid: string; readonly clientsecret: string }
}

/** An access token for a service key, with form credentials as SAP's clients send them. */
export async function clientCredentialsToken(
  tokenUrl: string,
  key: ClientCredentials,
  dispatcher: Dispatcher,
): Promise<string> {
  const response = await request(tokenUrl, {
    method: 'POST',
    dispatcher,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: key.oauth.clientid,
      client_secret: key.oauth.clientsecret,
    }).toString(),
  })
  const body = (await response.body.json()) as { access_token?: string }
  if (response.statusCode !== 200 || body.access_token === undefined) {
    throw new Error(`token request failed: ${response.statusCode}`)
  }
  return body.access_token
}

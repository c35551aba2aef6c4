import { randomUUID } from 'node:crypto'

/** Claims shaped like the tokens Flowgate issues (XSUAA's shape plus RFC 9068), for jose-only runs. */
export function flowgateShapedClaims(
  issuer: string,
  clientId: string,
  instanceId: string,
): Record<string, unknown> {
  return {
    sub: clientId,
    client_id: clientId,
    cid: clientId,
    azp: clientId,
    scope: ['it-rt-flowgate!b1.ESBMessaging.send'],
    grant_type: 'client_credentials',
    zid: 'flowgate',
    ext_attr: { serviceinstanceid: instanceId, serviceinstancename: 'bench-partner' },
    iss: issuer,
    aud: ['it-rt-flowgate!b1', clientId],
    jti: randomUUID(),
  }
}

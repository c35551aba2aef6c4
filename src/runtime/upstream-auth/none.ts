import type { UpstreamAuth } from './upstream-auth.ts'

/** Connection type `none`, and flows without a connection: nothing is added. */
export const noUpstreamAuth: UpstreamAuth = {
  key: 'none',
  refreshable: false,
  authorization: async () => null,
  rejected() {},
  tls: null,
  close() {},
}

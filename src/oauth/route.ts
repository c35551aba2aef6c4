import type { IncomingMessage, ServerResponse } from 'node:http'
import type { RequestContext } from '../lib/request-context.ts'

/** What the server's dispatcher calls for one exact path. */
export type OAuthRoute = (req: IncomingMessage, res: ServerResponse, ctx: RequestContext) => Promise<void>

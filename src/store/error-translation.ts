import { FlowgateError, isFlowgateError } from '../lib/errors.ts'
import type { StoreDialect } from './store-dialect.ts'

/**
 * What a client is told to wait after ERR_STORE_FULL: freeing space is an operator's job, so a
 * client retrying every second would only add failed writes.
 */
export const storeFullRetryAfterSeconds = 60

/**
 * What a driver error means to the store's callers, as a FlowgateError: the dialect classifies it,
 * and errors it does not know (and FlowgateErrors the operations raised themselves) pass unchanged.
 */
export function translateStoreError(dialect: StoreDialect, error: unknown): unknown {
  if (isFlowgateError(error)) return error
  switch (dialect.classifyError(error)) {
    case 'unavailable':
      return new FlowgateError('ERR_STORE_UNAVAILABLE', {
        detail: `${dialect.location}: ${(error as Error).message}`,
        cause: error,
      })
    case 'full':
      return new FlowgateError('ERR_STORE_FULL', {
        detail: `${dialect.location}: ${(error as Error).message}`,
        headers: { 'retry-after': String(storeFullRetryAfterSeconds) },
        cause: error,
      })
    // Explicit checks under the write lock report these precisely; the constraints are the backstop.
    case 'unique':
      return new FlowgateError('ERR_ALREADY_EXISTS', { detail: (error as Error).message, cause: error })
    case 'foreign-key':
      return new FlowgateError('ERR_CONFLICT', {
        description: 'a referenced entity does not exist or is still referenced',
        detail: (error as Error).message,
        cause: error,
      })
    default:
      return error
  }
}

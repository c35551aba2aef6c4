import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { FlowgateError, isFlowgateError } from '../lib/errors.ts'
import { renderError } from '../lib/http-error.ts'
import type { Logger } from '../lib/logger.ts'
import { isStoreStateError } from '../store/store-health.ts'

interface ValidationIssue {
  readonly keyword: string
  readonly instancePath: string
  readonly params: Record<string, unknown>
  readonly message?: string
}

function where(context: string | undefined, instancePath: string): string {
  const base = context === 'querystring' ? 'query' : (context ?? 'request')
  return instancePath === '' ? base : `${base}${instancePath.replaceAll('/', '.')}`
}

/**
 * Schema failures become ERR_UNKNOWN_FIELD (a field the API does not know: a typo must never be
 * silently ignored) or ERR_VALIDATION, with a description naming the field — field names and
 * schema rules only, never a submitted value, so nothing secret can be echoed back.
 */
function validationError(issues: readonly ValidationIssue[], context: string | undefined): FlowgateError {
  const issue = issues[0]
  if (issue === undefined) return new FlowgateError('ERR_VALIDATION')
  const at = where(context, issue.instancePath)
  if (issue.keyword === 'additionalProperties') {
    const field = String(issue.params.additionalProperty)
    return new FlowgateError('ERR_UNKNOWN_FIELD', { description: `unknown field "${field}" in ${at}` })
  }
  if (issue.keyword === 'enum') {
    const allowed = (issue.params.allowedValues as unknown[]).map((value) => JSON.stringify(value)).join(', ')
    return new FlowgateError('ERR_VALIDATION', { description: `${at} must be one of ${allowed}` })
  }
  return new FlowgateError('ERR_VALIDATION', { description: `${at} ${issue.message ?? 'is invalid'}` })
}

/** Fastify's own failures (body parsing, limits) mapped onto the registry. */
function fromFastify(error: FastifyError): FlowgateError {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new FlowgateError('ERR_UNSUPPORTED_MEDIA_TYPE', {
        description: 'unsupported media type: send application/json',
      })
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new FlowgateError('ERR_PAYLOAD_TOO_LARGE')
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new FlowgateError('ERR_BAD_REQUEST', { description: 'bad request: empty JSON body' })
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new FlowgateError('ERR_BAD_REQUEST', { description: 'bad request: body is not valid JSON' })
    default:
      if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
        return new FlowgateError('ERR_BAD_REQUEST', { detail: error.code })
      }
      return new FlowgateError('ERR_INTERNAL', { cause: error })
  }
}

function toAdminError(error: unknown): FlowgateError {
  if (isFlowgateError(error)) return error
  const fastifyError = error as FastifyError
  if (Array.isArray(fastifyError.validation)) {
    return validationError(fastifyError.validation as ValidationIssue[], fastifyError.validationContext)
  }
  if (typeof fastifyError.code === 'string' && fastifyError.code.startsWith('FST_'))
    return fromFastify(fastifyError)
  return new FlowgateError('ERR_INTERNAL', { cause: error })
}

/**
 * Writes an error onto a Fastify reply through the one renderer (src/lib/http-error.ts): the same
 * status, headers and body as every other Flowgate listener.
 */
export function sendAdminError(
  reply: FastifyReply,
  failure: FlowgateError,
  correlationId: string,
): FastifyReply {
  const { status, headers, body } = renderError(failure, { correlationId })
  return reply.code(status).headers(headers).send(body)
}

/**
 * The admin API's error handler: every failure — schema validation, Fastify's own, a refused
 * token (its challenge travels in the error's headers), a handler's — is mapped onto the registry,
 * logged with its private detail, and rendered by the one renderer.
 */
export function createErrorHandler(logger: Logger) {
  return (error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const failure = toAdminError(error)
    // A full or unreachable store is logged once by the store, not as an error per refused request.
    if (failure.status >= 500 && !isStoreStateError(failure)) {
      logger.error({ err: failure, cause: failure.cause, correlationId: request.id }, 'admin request failed')
    } else {
      logger.info(
        { err: failure, correlationId: request.id, route: request.routeOptions.url },
        'admin request refused',
      )
    }
    return sendAdminError(reply, failure, request.id)
  }
}

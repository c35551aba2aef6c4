import { type AdminOperation, adminOperations } from './operations.ts'
import { errorSchema } from './schemas.ts'

const errorResponses: Readonly<Record<number, string>> = {
  400: 'Invalid request: unknown field (ERR_UNKNOWN_FIELD), schema violation (ERR_VALIDATION) or domain rule',
  401: 'No token, or an invalid, expired or revoked one (WWW-Authenticate tells which)',
  403: 'A valid token without the needed role, or a runtime (plan integration-flow) token',
  404: 'No such object',
  409: 'Conflicts with the current state (exists already, still in use, built in)',
}

interface Parameter {
  readonly name: string
  readonly in: 'path' | 'query'
  readonly required: boolean
  readonly schema: object
  readonly description?: string
}

function parametersOf(schema: object | undefined, location: 'path' | 'query'): Parameter[] {
  if (schema === undefined) return []
  const { properties = {}, required = [] } = schema as {
    properties?: Record<string, { description?: string }>
    required?: readonly string[]
  }
  return Object.entries(properties).map(([name, property]) => {
    const { description, ...rest } = property
    return {
      name,
      in: location,
      required: location === 'path' || required.includes(name),
      schema: rest,
      ...(description === undefined ? {} : { description }),
    }
  })
}

function jsonContent(schema: object) {
  return { 'application/json': { schema } }
}

function operationObject(operationId: string, operation: AdminOperation) {
  const responses: Record<string, object> = {}
  for (const [status, response] of Object.entries(operation.responses)) {
    responses[status] =
      response.schema === null
        ? { description: response.description }
        : { description: response.description, content: jsonContent(response.schema) }
  }
  if (operation.access !== 'public') {
    const statuses = [400, 401, 403]
    if (operation.params !== undefined) statuses.push(404)
    if (operation.access === 'write') statuses.push(409)
    for (const status of statuses) {
      responses[status] = {
        description: errorResponses[status],
        content: jsonContent({ $ref: '#/components/schemas/Error' }),
      }
    }
  }
  return {
    operationId,
    tags: [operation.tag],
    summary: operation.summary,
    ...(operation.description === undefined ? {} : { description: operation.description }),
    ...(operation.access === 'public'
      ? { security: [] }
      : {
          'x-flowgate-access':
            operation.access === 'write' ? 'Flowgate.Admin' : 'Flowgate.Admin or Flowgate.Viewer',
        }),
    parameters: [...parametersOf(operation.params, 'path'), ...parametersOf(operation.query, 'query')],
    ...(operation.body === undefined
      ? {}
      : { requestBody: { required: true, content: jsonContent(operation.body) } }),
    responses,
  }
}

/**
 * The OpenAPI 3.1 document of the admin API, generated from the same operation table the server
 * registers. It is served at /admin/v1/openapi.json and kept in docs/openapi.json
 * (`node src/admin/write-openapi.ts`); a test keeps the two identical.
 */
export function buildOpenApiDocument() {
  const paths: Record<string, Record<string, object>> = {}
  for (const [operationId, operation] of Object.entries(adminOperations) as [string, AdminOperation][]) {
    paths[operation.path] ??= {}
    ;(paths[operation.path] as Record<string, object>)[operation.method.toLowerCase()] = operationObject(
      operationId,
      operation,
    )
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Flowgate admin API',
      version: '1.0.0',
      description:
        "Administration of a Flowgate gateway: roles, upstream connections, flows, service instances and keys, access records, the audit trail and token signing keys. Served on the admin listener only (loopback by default), never on the runtime listener. Authenticate with a Flowgate access token of a plan `api` instance: Flowgate.Admin reads and writes, Flowgate.Viewer only reads. Errors use Flowgate's error shape; the machine-readable field is `code`.",
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            "A Flowgate access token from the runtime listener's /oauth/token, obtained with the service key of a plan `api` instance.",
        },
      },
      schemas: { Error: errorSchema },
    },
  }
}

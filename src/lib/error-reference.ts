import { type ErrorCode, type ErrorDefinition, errorRegistry } from './errors.ts'

export const errorTableStart =
  '<!-- error codes: generated from src/lib/errors.ts by `node scripts/error-docs.ts` -->'
export const errorTableEnd = '<!-- error codes: end -->'

/** The `error` field of a body: the OAuth/RFC 6750 code, else the Flowgate code in snake case. */
export function publicErrorOf(code: ErrorCode): string {
  const definition: ErrorDefinition = errorRegistry[code]
  return definition.oauth ?? code.slice(4).toLowerCase()
}

/** The error-code table of docs/api.md, generated from the registry so the two never disagree. */
export function errorCodeTable(): string {
  const lines = [errorTableStart, '', '| Status | `code` | `error` | Description |', '|---|---|---|---|']
  for (const code of Object.keys(errorRegistry) as ErrorCode[]) {
    const definition: ErrorDefinition = errorRegistry[code]
    lines.push(
      `| ${definition.status} | \`${code}\` | \`${publicErrorOf(code)}\` | ${definition.description} |`,
    )
  }
  lines.push('', errorTableEnd)
  return lines.join('\n')
}

/** `markdown` with its generated error-code table replaced by the current one. */
export function withErrorCodeTable(markdown: string): string {
  const start = markdown.indexOf(errorTableStart)
  const end = markdown.indexOf(errorTableEnd)
  if (start === -1 || end < start) throw new Error('the error-code table markers are missing')
  return markdown.slice(0, start) + errorCodeTable() + markdown.slice(end + errorTableEnd.length)
}

import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { buildOpenApiDocument } from './openapi.ts'

/** The text of docs/openapi.json: the served document, pretty-printed. */
export function openApiText(): string {
  return `${JSON.stringify(buildOpenApiDocument(), null, 2)}\n`
}

// `node src/admin/write-openapi.ts` regenerates docs/openapi.json.
if (import.meta.main) {
  const target = fileURLToPath(new URL('../../docs/openapi.json', import.meta.url))
  writeFileSync(target, openApiText())
  process.stdout.write(`wrote ${target}\n`)
}

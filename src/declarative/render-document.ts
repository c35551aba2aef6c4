import { stringify } from 'yaml'
import type { ExportedDocument } from './declarative-service.ts'

/** flowgate.yaml text of an exported document, with a header that says what it leaves out. */
export function renderDocument(document: ExportedDocument): string {
  const header = [
    '# Flowgate declarative configuration (flowgate export).',
    '# Connections carry no secrets: applying this file keeps the stored ones. To set or change one,',
    '# add passwordFrom / serviceKeyFrom / keyFrom: { env: NAME } or { file: PATH } to the connection.',
    '# Service keys are never part of this file: create them with `flowgate key create`.',
  ].join('\n')
  return `${header}\n${stringify(document, { lineWidth: 0 })}`
}

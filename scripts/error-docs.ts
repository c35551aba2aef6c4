import { readFileSync, writeFileSync } from 'node:fs'
import { withErrorCodeTable } from '../src/lib/error-reference.ts'

const file = new URL('../docs/api.md', import.meta.url)
writeFileSync(file, withErrorCodeTable(readFileSync(file, 'utf8')))
console.log('docs/api.md error-code table written')

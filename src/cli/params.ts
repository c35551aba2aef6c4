import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { usageError } from './cli-error.ts'

/**
 * `-c` as in the Cloud Foundry CLI: inline JSON (`-c '{"roles":["A"]}'`) or `@file` holding it.
 * Must be a JSON object.
 */
export function readJsonParameter(value: string | undefined, cwd: string, option = '-c'): unknown {
  if (value === undefined) return undefined
  let text = value
  if (value.startsWith('@')) {
    const path = resolve(cwd, value.slice(1))
    try {
      text = readFileSync(path, 'utf8')
    } catch (cause) {
      throw usageError(`${option}: cannot read ${path} (${(cause as NodeJS.ErrnoException).code})`)
    }
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw usageError(`${option} must be a JSON object, inline or @file`)
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw usageError(`${option} must be a JSON object, inline or @file`)
  }
  return parsed
}

/** Reads a file the user named, relative to the working directory. */
export function readUserFile(path: string, cwd: string, option: string): string {
  const full = resolve(cwd, path)
  try {
    return readFileSync(full, 'utf8')
  } catch (cause) {
    throw usageError(`${option}: cannot read ${full} (${(cause as NodeJS.ErrnoException).code})`)
  }
}

import { createServer } from 'node:net'
import type { FlowgateConfig } from '../config/schema.ts'

export interface ListenerAddress {
  readonly name: string
  readonly host: string
  readonly port: number
}

const reasons: Readonly<Record<string, string>> = {
  EADDRINUSE: 'address in use',
  EACCES: 'permission denied (ports below 1024 need privileges)',
  EADDRNOTAVAIL: 'address not available on this machine',
}

function display({ host, port }: ListenerAddress): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`
}

/** The one-line problem for a listen failure of `listener`. */
export function listenProblem(listener: ListenerAddress, error: NodeJS.ErrnoException): string {
  const reason = reasons[error.code ?? ''] ?? error.code ?? error.message
  return `${listener.name} cannot listen on ${display(listener)}: ${reason}`
}

/**
 * The configured listener a listen failure of the gateway itself belongs to (a port taken between
 * the check and the bind), if the error is one.
 */
export function failedListener(
  listeners: readonly ListenerAddress[],
  error: unknown,
): ListenerAddress | undefined {
  const { syscall, port } = (error ?? {}) as { syscall?: unknown; port?: unknown }
  if (syscall !== 'listen') return undefined
  return listeners.find((listener) => listener.port === port)
}

/** Binds and releases the address, so a clash is reported before anything is migrated or generated. */
function probe(listener: ListenerAddress): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', (error: NodeJS.ErrnoException) => resolve(listenProblem(listener, error)))
    server.listen({ host: listener.host, port: listener.port, exclusive: true }, () => {
      server.close(() => resolve(undefined))
    })
  })
}

/** The gateway's two listeners as the configuration places them. */
export function configuredListeners(config: FlowgateConfig): ListenerAddress[] {
  return [
    { name: 'runtime listener', host: config.runtime.host, port: config.runtime.port },
    { name: 'admin listener', host: config.admin.host, port: config.admin.port },
  ]
}

/**
 * Problems binding each listener with a fixed port (port 0 always binds), one line each; empty when
 * all are free. Another process may still take a port before the gateway binds it; then the
 * gateway's own start fails.
 */
export async function unavailableListeners(listeners: readonly ListenerAddress[]): Promise<string[]> {
  const problems: string[] = []
  for (const listener of listeners) {
    if (listener.port === 0) continue
    const problem = await probe(listener)
    if (problem !== undefined) problems.push(problem)
  }
  return problems
}

/**
 * A failure the CLI reports on stderr as `flowgate: <message>` with its exit code: 1 when the
 * operation failed, 2 for a usage error, 3 when `audit verify` found a broken chain.
 */
export class CliError extends Error {
  readonly exitCode: number
  constructor(message: string, exitCode = 1) {
    super(message)
    this.name = 'CliError'
    this.exitCode = exitCode
  }
}

export const usageError = (message: string): CliError => new CliError(message, 2)

import { processIo } from './cli-io.ts'
import { runCli } from './run-cli.ts'

// bin/flowgate runs this file on Node 24.
process.exitCode = await runCli(process.argv.slice(2), processIo())

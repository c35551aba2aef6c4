import type { CommandSpec } from '../command.ts'
import { auditCommands } from './audit.ts'
import { connectionCommands } from './connections.ts'
import { declarativeCommands } from './declarative.ts'
import { flowCommands } from './flows.ts'
import { initCommand } from './init.ts'
import { instanceCommands } from './instances.ts'
import { keyCommands } from './keys.ts'
import { lifecycleCommands } from './lifecycle.ts'
import { logsCommand } from './logs.ts'
import { roleCommands } from './roles.ts'

/** Every `flowgate` command, in the order `flowgate --help` lists them. */
export const commands: readonly CommandSpec[] = [
  ...lifecycleCommands,
  initCommand,
  ...roleCommands,
  ...connectionCommands,
  ...flowCommands,
  ...instanceCommands,
  ...keyCommands,
  logsCommand,
  ...auditCommands,
  ...declarativeCommands,
]

import {
  type CpiSimulator,
  type CpiSimulatorOptions,
  startCpiSimulator,
} from '../../src/simulator/cpi-simulator.ts'
import { testPki } from './pki.ts'

/**
 * A CPI simulator on an ephemeral loopback port with the test PKI's localhost certificate, so any
 * client that trusts `testPki().ca` reaches it. Close it in `after`/`t.after`.
 */
export async function startTestSimulator(
  options: Omit<CpiSimulatorOptions, 'tls'> = {},
): Promise<CpiSimulator> {
  const pki = await testPki()
  return startCpiSimulator({ ...options, tls: pki.server })
}

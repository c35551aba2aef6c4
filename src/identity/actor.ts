/** Who performs an administrative operation, as written into its audit event. */
export interface Actor {
  /** Client id of an admin, `cli`, `system`, or the client acting on its own tokens. */
  readonly actor: string
  readonly sourceAddress: string | null
}

export const systemActor: Actor = { actor: 'system', sourceAddress: null }

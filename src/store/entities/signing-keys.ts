import { revokedTokenFromRow, signingKeyFromRow, signingKeyToRow } from '../rows.ts'
import type { RevokedToken, SigningKey } from '../types.ts'
import { count, type OperationContext } from './operation-context.ts'
import { allOf, firstOf, refuseDuplicate, rowChanges } from './row-steps.ts'

export interface SigningKeyOperations {
  listSigningKeys(): Promise<SigningKey[]>
  insertSigningKey(key: SigningKey): Promise<void>
  updateSigningKey(key: SigningKey): Promise<void>
  deleteSigningKey(kid: string): Promise<boolean>

  /** Idempotent: revoking an already revoked jti changes nothing. */
  revokeToken(token: RevokedToken): Promise<void>
  /** Revoked tokens whose expiry is later than `now`. */
  listRevokedTokens(now: number): Promise<RevokedToken[]>
  getRevokedToken(jti: string): Promise<RevokedToken | undefined>
  /** Deletes entries that expired before `before`; records no changes (every node checks `exp` itself). */
  pruneRevokedTokens(before: number): Promise<number>
}

/** Token signing keys and revoked tokens: what token issuing and validation read. */
export function signingKeyOperations({
  reader,
  write,
  recordChange,
}: OperationContext): SigningKeyOperations {
  const { updated, deleted } = rowChanges(recordChange)
  return {
    listSigningKeys: () =>
      allOf(
        reader.selectFrom('signing_keys').selectAll().orderBy('created_at').orderBy('kid'),
        signingKeyFromRow,
      ),
    insertSigningKey: (key) =>
      write(async (tx) => {
        await refuseDuplicate(
          tx.selectFrom('signing_keys').select('kid').where('kid', '=', key.kid),
          `signing key ${key.kid} already exists`,
        )
        await tx.insertInto('signing_keys').values(signingKeyToRow(key)).execute()
        await recordChange(tx, 'signing-key', key.kid)
      }),
    updateSigningKey: (key) =>
      write(async (tx) => {
        const { kid: _kid, created_at: _createdAt, ...row } = signingKeyToRow(key)
        await updated(tx, tx.updateTable('signing_keys').set(row).where('kid', '=', key.kid), {
          kind: 'signing-key',
          id: key.kid,
          what: 'signing key',
        })
      }),
    deleteSigningKey: (kid) =>
      write((tx) => deleted(tx, tx.deleteFrom('signing_keys').where('kid', '=', kid), 'signing-key', kid)),

    revokeToken: (token) =>
      write(async (tx) => {
        const result = await tx
          .insertInto('revoked_tokens')
          .values({
            jti: token.jti,
            client_id: token.clientId,
            expires_at: token.expiresAt,
            revoked_at: token.revokedAt,
          })
          .onConflict((oc) => oc.column('jti').doNothing())
          .executeTakeFirst()
        if (Number(result.numInsertedOrUpdatedRows ?? 0n) > 0)
          await recordChange(tx, 'revoked-token', token.jti)
      }),
    listRevokedTokens: (now) =>
      allOf(
        reader.selectFrom('revoked_tokens').selectAll().where('expires_at', '>', now).orderBy('jti'),
        revokedTokenFromRow,
      ),
    getRevokedToken: (jti) =>
      firstOf(reader.selectFrom('revoked_tokens').selectAll().where('jti', '=', jti), revokedTokenFromRow),
    // No change rows: an entry is only pruned after its token expired, which every node checks by
    // itself, so no node's decision changes.
    pruneRevokedTokens: (before) =>
      write(async (tx) =>
        count(await tx.deleteFrom('revoked_tokens').where('expires_at', '<', before).executeTakeFirst()),
      ),
  }
}

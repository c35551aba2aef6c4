import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, test } from 'node:test'
import pg from 'pg'
import { auditHash, canonicalJson, genesisHash, verifyAuditChain } from '../../src/audit/chain.ts'
import type { AuditEvent } from '../../src/store/types.ts'
import { type OpenedBackend, storeBackends } from '../helpers/databases.ts'

const require = createRequire(import.meta.url)
const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex')

describe('canonicalJson', () => {
  test('sorts keys recursively by code unit, writes no whitespace, keeps array order', () => {
    assert.equal(
      canonicalJson({ b: [3, { z: 1, a: null }], a: 'x', 10: true, 2: false, B: 1.5, é: 'ü' }),
      '{"10":true,"2":false,"B":1.5,"a":"x","b":[3,{"a":null,"z":1}],"é":"ü"}',
    )
  })

  test('writes strings and numbers as JSON.stringify does, leaves undefined members out', () => {
    assert.equal(
      canonicalJson({ s: 'line\n"q"\u0001', n: 1e21, m: -0, f: 0.1, u: undefined }),
      '{"f":0.1,"m":0,"n":1e+21,"s":"line\\n\\"q\\"\\u0001"}',
    )
    assert.equal(canonicalJson('x'), '"x"')
    assert.equal(canonicalJson(null), 'null')
    assert.equal(canonicalJson([]), '[]')
  })

  test('refuses what JSON cannot represent', () => {
    assert.throws(() => canonicalJson(Number.NaN), {
      name: 'TypeError',
      message: 'canonicalJson: non-finite number at $',
    })
    assert.throws(() => canonicalJson({ a: [undefined] }), {
      name: 'TypeError',
      message: 'canonicalJson: cannot encode undefined at $.a[0]',
    })
    assert.throws(() => canonicalJson({ d: new Date(0) }), {
      name: 'TypeError',
      message: 'canonicalJson: $.d is not a plain object',
    })
    assert.throws(() => canonicalJson(1n), {
      name: 'TypeError',
      message: 'canonicalJson: cannot encode bigint at $',
    })
  })
})

describe('auditHash', () => {
  test('is sha256_hex(prevHash + "\\n" + canonical event), absent before/after encoded as null', () => {
    const event = {
      seq: 1,
      time: 1750000000000,
      actor: 'cli',
      sourceAddress: null,
      action: 'role.create',
      target: 'role:A',
    }
    const canonical =
      '{"action":"role.create","actor":"cli","after":null,"before":null,"seq":1,"sourceAddress":null,"target":"role:A","time":1750000000000}'
    assert.equal(auditHash(genesisHash, event), sha256(`${'0'.repeat(64)}\n${canonical}`))
    assert.equal(
      auditHash(genesisHash, { ...event, before: null, after: undefined }),
      auditHash(genesisHash, event),
    )
    assert.notEqual(auditHash(genesisHash, { ...event, after: { name: 'A' } }), auditHash(genesisHash, event))
    assert.notEqual(auditHash('1'.repeat(64), event), auditHash(genesisHash, event))
  })
})

async function* from(events: AuditEvent[]): AsyncGenerator<AuditEvent> {
  yield* events
}

function chain(length: number): AuditEvent[] {
  const events: AuditEvent[] = []
  let prevHash = genesisHash
  for (let seq = 1; seq <= length; seq += 1) {
    const fields = {
      seq,
      time: 1000 + seq,
      actor: 'a',
      sourceAddress: null,
      action: 'x.y',
      target: `t:${seq}`,
      after: { seq },
    }
    const event = { ...fields, prevHash, hash: auditHash(prevHash, fields) }
    events.push(event)
    prevHash = event.hash
  }
  return events
}

describe('verifyAuditChain on values', () => {
  test('an intact chain and an empty one verify', async () => {
    assert.deepEqual(await verifyAuditChain(from(chain(4))), { ok: true, count: 4 })
    assert.deepEqual(await verifyAuditChain(from([])), { ok: true, count: 0 })
  })

  test('a first event that does not start from the genesis hash is refused', async () => {
    const [first] = chain(1) as [AuditEvent]
    const forged = { ...first, prevHash: '1'.repeat(64) }
    assert.deepEqual(
      await verifyAuditChain(from([{ ...forged, hash: auditHash(forged.prevHash, forged) }])),
      {
        ok: false,
        count: 0,
        brokenAt: 1,
        reason: 'prevHash of the first event is not 64 zeros',
      },
    )
  })
})

/** Runs SQL on the store's database through a second, raw connection, as an attacker with database access would. */
async function tamper(
  opened: OpenedBackend,
  name: 'sqlite' | 'postgres',
  statements: string[],
): Promise<void> {
  if (name === 'postgres') {
    const client = new pg.Client({ connectionString: opened.url })
    await client.connect()
    try {
      for (const statement of statements) await client.query(statement)
    } finally {
      await client.end()
    }
    return
  }
  const BetterSqlite3 = require('better-sqlite3')
  const raw = new BetterSqlite3(join(opened.dataDir, 'flowgate.db'))
  raw.exec(statements.join(';\n'))
  raw.close()
}

for (const backend of storeBackends()) {
  describe(`verifyAuditChain on ${backend.name}`, () => {
    let opened: OpenedBackend
    let events: AuditEvent[]

    beforeEach(async () => {
      opened = await backend.open()
      events = []
      for (let index = 1; index <= 5; index += 1) {
        events.push(
          await opened.store.appendAudit(
            {
              actor: 'admin',
              sourceAddress: '192.0.2.1',
              action: 'flow.update',
              target: `flow:/f${index}`,
              after: { index },
            },
            1_750_000_000_000 + index,
          ),
        )
      }
    })
    afterEach(async () => {
      await opened.drop()
    })

    const verify = () => verifyAuditChain(opened.store.iterateAuditEvents(2))

    test('the untouched chain verifies', async () => {
      assert.deepEqual(await verify(), { ok: true, count: 5 })
    })

    test('a modified row is caught at that row', async () => {
      await tamper(opened, backend.name, [
        `update audit_events set after_value = '{"index":33}' where seq = 3`,
      ])
      assert.deepEqual(await verify(), {
        ok: false,
        count: 2,
        brokenAt: 3,
        reason: 'hash does not match the event contents',
      })
    })

    test('a modified row whose hash was recomputed is caught at the next row', async () => {
      const third = events[2] as AuditEvent
      const forged = { ...third, actor: 'someone-else' }
      await tamper(opened, backend.name, [
        `update audit_events set actor = 'someone-else', hash = '${auditHash(third.prevHash, forged)}' where seq = 3`,
      ])
      assert.deepEqual(await verify(), {
        ok: false,
        count: 3,
        brokenAt: 4,
        reason: 'prevHash does not match the hash of event 3',
      })
    })

    test('a deleted row is caught by the sequence gap', async () => {
      await tamper(opened, backend.name, ['delete from audit_events where seq = 3'])
      assert.deepEqual(await verify(), {
        ok: false,
        count: 2,
        brokenAt: 4,
        reason: 'expected seq 3 but found 4: events are missing or out of order',
      })
    })

    test('an inserted row, even with a correct hash of its own, breaks the next link', async () => {
      const second = events[1] as AuditEvent
      const fields = {
        seq: 3,
        time: second.time,
        actor: 'admin',
        sourceAddress: null,
        action: 'key.delete',
        target: 'key:x',
      }
      const hash = auditHash(second.hash, fields)
      await tamper(opened, backend.name, [
        'update audit_events set seq = seq + 1000 where seq >= 3',
        'update audit_events set seq = seq - 999 where seq >= 1000',
        `insert into audit_events (seq, time, actor, source_address, action, target, before_value, after_value, prev_hash, hash)
         values (3, ${second.time}, 'admin', null, 'key.delete', 'key:x', null, null, '${second.hash}', '${hash}')`,
      ])
      assert.deepEqual(await verify(), {
        ok: false,
        count: 3,
        brokenAt: 4,
        reason: 'prevHash does not match the hash of event 3',
      })
    })

    test('reordered rows are caught at the first one out of place', async () => {
      await tamper(opened, backend.name, [
        'update audit_events set seq = -2 where seq = 2',
        'update audit_events set seq = 2 where seq = 3',
        'update audit_events set seq = 3 where seq = -2',
      ])
      assert.deepEqual(await verify(), {
        ok: false,
        count: 1,
        brokenAt: 2,
        reason: 'prevHash does not match the hash of event 1',
      })
    })

    test('a truncated head is caught: the chain must start at seq 1', async () => {
      await tamper(opened, backend.name, ['delete from audit_events where seq <= 2'])
      assert.deepEqual(await verify(), {
        ok: false,
        count: 0,
        brokenAt: 3,
        reason: 'expected seq 1 but found 3: events are missing or out of order',
      })
    })
  })
}

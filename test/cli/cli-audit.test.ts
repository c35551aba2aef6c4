import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import Database from 'better-sqlite3'
import { auditHash, genesisHash } from '../../src/audit/chain.ts'
import { type CliHarness, startCliHarness } from './cli-harness.ts'

interface Row {
  seq: number
  time: number
  actor: string
  source_address: string | null
  action: string
  target: string
  before_value: string | null
  after_value: string | null
  prev_hash: string
  hash: string
}

describe('flowgate audit verify | export, and tampering caught through the CLI', () => {
  let cli: CliHarness
  let db: Database.Database
  let total: number

  before(async () => {
    cli = await startCliHarness()
    for (const name of ['Audit.One', 'Audit.Two', 'Audit.Three']) {
      assert.equal((await cli.run(['role', 'create', name])).code, 0)
    }
    db = new Database(join(cli.backend.dataDir, 'flowgate.db'))
    total = (db.prepare('select count(*) as n from audit_events').get() as { n: number }).n
  })
  after(async () => {
    db.close()
    await cli.close()
  })

  const rows = () => db.prepare('select * from audit_events order by seq').all() as Row[]
  const restore = (saved: Row[]) =>
    db.transaction(() => {
      db.prepare('delete from audit_events').run()
      const insert = db.prepare(
        'insert into audit_events (seq, time, actor, source_address, action, target, before_value, after_value, prev_hash, hash) values (@seq, @time, @actor, @source_address, @action, @target, @before_value, @after_value, @prev_hash, @hash)',
      )
      for (const row of saved) insert.run(row)
    })()

  /** Runs `tamper` on the saved trail and always puts the trail back, so one failure stays one. */
  async function tampered(tamper: (saved: Row[]) => Promise<void>): Promise<void> {
    const saved = rows()
    try {
      await tamper(saved)
    } finally {
      restore(saved)
    }
  }

  async function verifyBoth(expected: { seq: number; reason: string; events: number } | null) {
    for (const mode of [[], ['--offline']]) {
      const result = await cli.run(['audit', 'verify', ...mode])
      if (expected === null) {
        assert.deepEqual(result, {
          code: 0,
          stdout: `Audit trail intact: ${total} events verified.\n`,
          stderr: '',
        })
      } else {
        assert.deepEqual(result, {
          code: 3,
          stdout: `Audit trail BROKEN at seq ${expected.seq}: ${expected.reason} (${expected.events} events verified before it).\n`,
          stderr: `flowgate: audit trail broken at seq ${expected.seq}\n`,
        })
      }
    }
  }

  test('an untouched trail verifies, through the API and offline', async () => {
    await verifyBoth(null)
    const json = await cli.run(['audit', 'verify', '--json'])
    assert.deepEqual(JSON.parse(json.stdout), { ok: true, events: total, firstBroken: null })
  })

  test('audit list shows the changes with their actor', async () => {
    const listed = JSON.parse(
      (await cli.run(['audit', 'list', '--action', 'role.create', '--json'])).stdout,
    ) as {
      actor: string
      target: string
    }[]
    assert.deepEqual(
      listed.map((event) => [event.actor, event.target]),
      [
        [cli.clientId, 'role:Audit.One'],
        [cli.clientId, 'role:Audit.Two'],
        [cli.clientId, 'role:Audit.Three'],
      ],
    )
  })

  test('a modified row is caught at its own seq', async () => {
    await tampered(async (saved) => {
      const target = saved.at(-2) as Row
      db.prepare('update audit_events set actor = ? where seq = ?').run('someone-else', target.seq)
      await verifyBoth({
        seq: target.seq,
        reason: 'hash does not match the event contents',
        events: target.seq - 1,
      })
    })
  })

  test('a modified row with a recomputed hash is caught by the next link', async () => {
    await tampered(async (saved) => {
      const target = saved.at(-2) as Row
      const forged = { ...target, target: 'role:Forged' }
      const hash = auditHash(forged.prev_hash, {
        seq: forged.seq,
        time: forged.time,
        actor: forged.actor,
        sourceAddress: forged.source_address,
        action: forged.action,
        target: forged.target,
        before: forged.before_value === null ? null : JSON.parse(forged.before_value),
        after: forged.after_value === null ? null : JSON.parse(forged.after_value),
      })
      db.prepare('update audit_events set target = ?, hash = ? where seq = ?').run(
        forged.target,
        hash,
        target.seq,
      )
      await verifyBoth({
        seq: target.seq + 1,
        reason: `prevHash does not match the hash of event ${target.seq}`,
        events: target.seq,
      })
    })
  })

  test('a deleted row is caught where the sequence jumps', async () => {
    await tampered(async (saved) => {
      const target = saved.at(-3) as Row
      db.prepare('delete from audit_events where seq = ?').run(target.seq)
      await verifyBoth({
        seq: target.seq + 1,
        reason: `expected seq ${target.seq} but found ${target.seq + 1}: events are missing or out of order`,
        events: target.seq - 1,
      })
    })
  })

  test('an inserted row is caught at the event after it', async () => {
    await tampered(async (saved) => {
      const at = (saved.at(-2) as Row).seq
      db.transaction(() => {
        // Make room, then forge a well-formed event that links to its predecessor.
        db.prepare('update audit_events set seq = seq + 1000000 where seq >= ?').run(at)
        db.prepare('update audit_events set seq = seq - 1000000 + 1 where seq >= 1000000').run()
        const previous = saved.find((row) => row.seq === at - 1) as Row
        const forged = {
          seq: at,
          time: previous.time,
          actor: 'intruder',
          source_address: null,
          action: 'role.create',
          target: 'role:Backdoor',
          before_value: null,
          after_value: null,
          prev_hash: previous.hash,
          hash: '',
        }
        forged.hash = auditHash(forged.prev_hash, {
          seq: forged.seq,
          time: forged.time,
          actor: forged.actor,
          sourceAddress: null,
          action: forged.action,
          target: forged.target,
        })
        db.prepare(
          'insert into audit_events (seq, time, actor, source_address, action, target, before_value, after_value, prev_hash, hash) values (@seq, @time, @actor, @source_address, @action, @target, @before_value, @after_value, @prev_hash, @hash)',
        ).run(forged)
      })()
      await verifyBoth({ seq: at + 1, reason: `prevHash does not match the hash of event ${at}`, events: at })
    })
  })

  test('reordered rows are caught at the first moved event', async () => {
    await tampered(async (saved) => {
      const first = saved.at(-3) as Row
      const second = saved.at(-2) as Row
      db.transaction(() => {
        db.prepare('update audit_events set seq = -1 where seq = ?').run(first.seq)
        db.prepare('update audit_events set seq = ? where seq = ?').run(first.seq, second.seq)
        db.prepare('update audit_events set seq = ? where seq = -1').run(second.seq)
      })()
      await verifyBoth({
        seq: first.seq,
        reason: `prevHash does not match the hash of event ${first.seq - 1}`,
        events: first.seq - 1,
      })
    })
    await verifyBoth(null)
  })

  test('export writes JSON Lines an outside party can verify with the documented recipe', async () => {
    for (const mode of [[], ['--offline']]) {
      const result = await cli.run(['audit', 'export', '-o', 'audit.jsonl', ...mode])
      assert.equal(result.code, 0)
      assert.equal(result.stdout, '')
      assert.equal(result.stderr, `Exported ${total} audit events to ${join(cli.dir, 'audit.jsonl')}.\n`)
      const lines = (await readFile(join(cli.dir, 'audit.jsonl'), 'utf8')).trimEnd().split('\n')
      assert.equal(lines.length, total)
      let previous = genesisHash
      for (const [index, line] of lines.entries()) {
        const event = JSON.parse(line) as Record<string, unknown>
        assert.deepEqual(Object.keys(event), [
          'seq',
          'time',
          'actor',
          'sourceAddress',
          'action',
          'target',
          'before',
          'after',
          'prevHash',
          'hash',
        ])
        assert.equal(event.seq, index + 1)
        assert.equal(event.prevHash, previous)
        const { prevHash, hash, ...fields } = event
        assert.equal(
          auditHash(prevHash as string, fields as unknown as Parameters<typeof auditHash>[1]),
          hash,
        )
        previous = hash as string
      }
    }
    const stdout = await cli.run(['audit', 'export'])
    assert.equal(stdout.stdout.trimEnd().split('\n').length, total)
  })
})

/**
 * The smallest program that shows why src/store/sqlite/sqlite-database.ts keeps every statement:
 * statements prepared and dropped while the heap grows, so that the collector finalises them.
 * With better-sqlite3 12 (its classes derive from node::ObjectWrap) on Node 24.19 and later it
 * aborts in Statement::~Statement; run by test/store/sqlite-database.test.ts in a child process.
 */
import BetterSqlite3 from 'better-sqlite3'

const database = new BetterSqlite3(':memory:')
let junk: unknown[] = []
for (let i = 0; i < 200_000; i++) {
  database.prepare('select ?').get(i)
  junk.push({ filler: `x${i}` })
  if (junk.length > 50_000) junk = []
}
process.stdout.write('survived\n')

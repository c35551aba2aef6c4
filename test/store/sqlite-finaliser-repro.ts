/**
 * Statements prepared and dropped while the heap grows, so that the collector finalises them.
 * better-sqlite3 12 (its classes derive from node::ObjectWrap) on Node 24.19 and later aborted here
 * in Statement::~Statement (nodejs/node#65446); 13 is built on Node-API and survives. Run by
 * test/store/sqlite-database.test.ts in a child process, so a regression shows as a failed test.
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

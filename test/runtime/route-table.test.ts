import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { createRouteTable } from '../../src/runtime/route-table.ts'

interface TestRoute {
  readonly address: string
  readonly name: string
}

const route = (address: string): TestRoute => ({ address, name: address })

describe('createRouteTable', () => {
  const table = createRouteTable([
    route('/orders'),
    route('/orders/*'),
    route('/orders/archive/*'),
    route('/invoices/v1'),
    route('/files/*'),
  ])

  test('matches exact addresses case-insensitively, with or without one trailing slash', () => {
    assert.equal(table.match('/orders')?.address, '/orders')
    assert.equal(table.match('/ORDERS')?.address, '/orders')
    assert.equal(table.match('/orders/')?.address, '/orders')
    assert.equal(table.match('/Invoices/V1')?.address, '/invoices/v1')
    assert.equal(table.match('/invoices/v1/')?.address, '/invoices/v1')
  })

  test('exact addresses win over a wildcard at the same address', () => {
    assert.equal(table.match('/orders/')?.address, '/orders')
  })

  test('wildcards match sub-paths, the longest prefix first, and keep the remainder in its case', () => {
    const items = table.match('/Orders/2024/Items')
    assert.equal(items?.address, '/orders/*')
    assert.equal(table.remainder(items as TestRoute, '/Orders/2024/Items'), '/2024/Items')
    const archived = table.match('/orders/archive/2019/X')
    assert.equal(archived?.address, '/orders/archive/*')
    assert.equal(table.remainder(archived as TestRoute, '/orders/archive/2019/X'), '/2019/X')
    const files = table.match('/files')
    assert.equal(files?.address, '/files/*')
    assert.equal(table.remainder(files as TestRoute, '/files'), '')
    assert.equal(table.remainder(files as TestRoute, '/files/'), '/')
    assert.equal(table.remainder(table.match('/orders') as TestRoute, '/orders'), '')
  })

  test('nothing else matches: no prefix of an exact address, no partial segment', () => {
    assert.equal(table.match('/invoices'), undefined)
    assert.equal(table.match('/invoices/v1/x'), undefined)
    assert.equal(table.match('/invoices/v10'), undefined)
    assert.equal(table.match('/ordersx'), undefined)
    assert.equal(table.match('/filesystem/a'), undefined)
    assert.equal(table.match('/'), undefined)
    assert.equal(table.match(''), undefined)
    assert.equal(table.size, 5)
  })

  test('a lookup among 10,000 flows finds the same routes', () => {
    const many = createRouteTable([
      ...Array.from({ length: 5000 }, (_, i) => route(`/flow${i}`)),
      ...Array.from({ length: 5000 }, (_, i) => route(`/tree${i}/*`)),
    ])
    assert.equal(many.size, 10_000)
    assert.equal(many.match('/FLOW4999')?.address, '/flow4999')
    assert.equal(many.match('/tree1234/a/b/c')?.address, '/tree1234/*')
    assert.equal(many.match('/flow5000'), undefined)
  })
})

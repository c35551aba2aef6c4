import { isWildcardAddress, wildcardSuffix } from '../flows/address.ts'

export interface Routable {
  /** Normalised flow address (see src/flows/address.ts): lower case, `/orders` or `/orders/*`. */
  readonly address: string
}

export interface RouteTable<T extends Routable> {
  /**
   * The route for a flow path (the request path after `/http`, original case, already through
   * path hygiene), or undefined. Exact addresses win over wildcards, longer wildcards over shorter.
   * An exact address also matches with one trailing slash (the SAP Cloud SDK fetches CSRF tokens
   * on `…/orders/`).
   */
  match(path: string): T | undefined
  /** For a wildcard route, the part of `path` after its address (`''`, `/` or `/a/b`); `''` otherwise. */
  remainder(route: T, path: string): string
  readonly size: number
}

/**
 * Builds the in-memory routing structure once per flow change: two Maps keyed by lower-cased
 * address. A lookup is at most one Map probe per path segment, whatever the number of flows, and
 * uses only comparisons and slices — no regex.
 */
export function createRouteTable<T extends Routable>(routes: Iterable<T>): RouteTable<T> {
  const exact = new Map<string, T>()
  const prefixes = new Map<string, T>()
  const prefixLength = new Map<T, number>()
  let size = 0
  for (const route of routes) {
    if (isWildcardAddress(route.address)) {
      const base = route.address.slice(0, -wildcardSuffix.length)
      prefixes.set(base, route)
      prefixLength.set(route, base.length)
    } else {
      exact.set(route.address, route)
    }
    size++
  }

  return {
    size,
    match(path) {
      const length = path.length
      if (length < 2) return undefined
      const key = path.toLowerCase()
      const trailingSlash = key.charCodeAt(length - 1) === 47
      const bare = trailingSlash ? key.slice(0, -1) : key
      const found = exact.get(bare)
      if (found !== undefined) return found
      if (prefixes.size === 0) return undefined
      // Walk segment boundaries from the longest prefix to the shortest.
      let end = bare.length
      while (end > 0) {
        const route = prefixes.get(end === key.length ? key : key.slice(0, end))
        if (route !== undefined) return route
        end = key.lastIndexOf('/', end - 1)
      }
      return undefined
    },
    remainder(route, path) {
      const length = prefixLength.get(route)
      return length === undefined ? '' : path.slice(length)
    },
  }
}

function isHex(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 70) || (code >= 97 && code <= 102)
}

/** Lower-cases an ASCII letter code. */
function lower(code: number): number {
  return code >= 65 && code <= 90 ? code + 32 : code
}

/**
 * True when the path part of a request target (no query) is one Flowgate will route. It never
 * repairs a path: anything a server or an iFlow might decode or normalise into something else is
 * refused, so what is routed is exactly what is forwarded. Refused:
 * - not starting with `/` (absolute-form and asterisk-form targets);
 * - `//` (empty segments), `.` and `..` segments;
 * - backslashes, `;` (path parameters), `#`, control characters, NUL, raw non-ASCII;
 * - percent-encoded `.`, `/`, `\`, `;`, NUL and `%` itself (so `%252e` cannot become `%2e`
 *   downstream), and any malformed percent-encoding.
 * One pass of character comparisons: no regex, no allocation.
 */
export function isCleanPath(path: string): boolean {
  const length = path.length
  if (length === 0 || path.charCodeAt(0) !== 47 /* / */) return false
  // Index of the first character of the current segment.
  let segmentStart = 1
  for (let i = 1; i <= length; i++) {
    const code = i === length ? 47 : path.charCodeAt(i)
    if (code === 47) {
      const segmentLength = i - segmentStart
      if (segmentLength === 0 && i !== length) return false
      if (segmentLength === 1 && path.charCodeAt(segmentStart) === 46) return false
      if (
        segmentLength === 2 &&
        path.charCodeAt(segmentStart) === 46 &&
        path.charCodeAt(segmentStart + 1) === 46
      ) {
        return false
      }
      segmentStart = i + 1
      continue
    }
    if (code <= 32 || code >= 127 || code === 92 /* \ */ || code === 59 /* ; */ || code === 35 /* # */)
      return false
    if (code === 37 /* % */) {
      if (i + 2 >= length) return false
      const high = path.charCodeAt(i + 1)
      const low = path.charCodeAt(i + 2)
      if (!isHex(high) || !isHex(low)) return false
      const l = lower(low)
      // %2e %2f %25, %5c, %3b, %00
      if (high === 50 && (l === 101 || l === 102 || low === 53)) return false
      if (high === 53 && l === 99) return false
      if (high === 51 && l === 98) return false
      if (high === 48 && low === 48) return false
      i += 2
    }
  }
  return true
}

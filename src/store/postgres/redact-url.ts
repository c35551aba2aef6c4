/** A connection URL fit for error details and logs: user name kept, password removed. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password !== '') parsed.password = '***'
    return parsed.toString()
  } catch {
    // An unparseable URL may still hold a password anywhere: show only its scheme.
    const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(url)?.[0]
    return scheme === undefined ? '(unparseable URL)' : `${scheme}//(unparseable URL)`
  }
}

/**
 * How many links of an error's `cause` chain are read by default: the error and three causes.
 * undici wraps what a socket or a parser threw at most that deep (fetch's `TypeError('fetch
 * failed')`, a proxy agent's error, then the socket's or llhttp's), and Node's own errors add none.
 */
export const CAUSE_DEPTH = 4

/**
 * `error`, then its `cause`, that one's `cause`, and so on: at most `depth` values (default
 * `CAUSE_DEPTH`), each an object (a non-null `typeof 'object'`: an `Error` or a plain object
 * thrown as one). The walk stops at the first value that is no object (a missing cause, a string
 * or number thrown), and at one already yielded: a chain that loops (`a.cause = b; b.cause = a`)
 * is read once. It is bounded so that a chain built by other code (a library re-wrapping an error
 * at each retry) costs a few reads, as each caller's inline loop did, and reads no further than
 * the wrappers whose causes are this failure's own. An `AggregateError`'s `errors` are not walked:
 * it is yielded as one link, and its own `cause` followed.
 *
 * `T` is the shape the caller reads of each link, unchecked: its fields may be missing.
 */
export function* causes<T extends object = Record<PropertyKey, unknown>>(
  error: unknown,
  depth = CAUSE_DEPTH,
): Generator<T, void, undefined> {
  const seen = new Set<object>()
  for (let e = error, n = 0; n < depth && typeof e === 'object' && e !== null && !seen.has(e); n++) {
    seen.add(e)
    yield e as T
    e = (e as { cause?: unknown }).cause
  }
}

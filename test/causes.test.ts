import assert from 'node:assert/strict'
import { test } from 'node:test'
import { CAUSE_DEPTH, causes } from '../src/utils/causes.js'

/** A chain of errors named `e0` (the outer one) to `e<n-1>`, each the `cause` of the one before. */
function chain(n: number): Error[] {
  const errors = Array.from({ length: n }, (_, i) => new Error(`e${i}`))
  for (let i = 0; i < n - 1; i++) errors[i].cause = errors[i + 1]
  return errors
}

test('causes: the error, then each cause, objects alone, each once, at most the depth asked', () => {
  const [a, b] = chain(2)
  a.cause = b
  b.cause = a
  const plain = { code: 'ECONNRESET' }
  const aggregate = new AggregateError([new Error('inner')], '', { cause: plain })
  const named = (error: unknown, depth?: number) =>
    [...causes<{ message?: string; code?: string }>(error, depth)].map((e) => e.message || e.code || '?')
  const table: [string, unknown, number | undefined, string[]][] = [
    ['a chain of 6, read to the default depth', chain(6)[0], undefined, ['e0', 'e1', 'e2', 'e3']],
    ['a chain of 6, read 5 deep', chain(6)[0], 5, ['e0', 'e1', 'e2', 'e3', 'e4']],
    ['a chain shorter than the depth', chain(2)[0], undefined, ['e0', 'e1']],
    ['a cycle, each link once', a, undefined, ['e0', 'e1']],
    ['a plain object as a cause', new Error('outer', { cause: plain }), undefined, ['outer', 'ECONNRESET']],
    ['a string as a cause: the walk stops', new Error('outer', { cause: 'refused' }), undefined, ['outer']],
    ['a string thrown', 'refused', undefined, []],
    ['nothing', undefined, undefined, []],
    ['null', null, undefined, []],
    ['an AggregateError: one link, its errors not walked', aggregate, undefined, ['?', 'ECONNRESET']],
  ]
  for (const [what, error, depth, expected] of table) assert.deepEqual(named(error, depth), expected, what)
  const self = new Error('self')
  self.cause = self
  assert.deepEqual([...causes(self)], [self], 'an error its own cause is read once')
  assert.equal(CAUSE_DEPTH, 4)
})

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { backFromRefusal, refusedAtLimit } from '../src/fetch/retry-policy.js'
import { RetrySleepers } from '../src/fetch/retry-sleepers.js'

const HOUR = 3_600_000
/** A sending time after every refusal so far. */
const after = () => performance.now() + 1

test('a host that serves again wakes at once the retries it refused, and only those', () => {
  const woken: string[] = []
  const sleepers = new RetrySleepers<string>((item) => woken.push(item))
  sleepers.add('a1', HOUR, 'http://a')
  sleepers.add('a2', HOUR, 'http://a')
  sleepers.add('b1', HOUR, 'http://b')
  sleepers.add('a-timeout', HOUR) // sent away by something else than a refusal: sleeps on
  sleepers.back('http://c', after())
  assert.deepEqual(woken, [])
  sleepers.back('http://a', after())
  assert.deepEqual(woken, ['a1', 'a2'])
  assert.equal(sleepers.size, 2)
  sleepers.back('http://a', after())
  assert.deepEqual(woken, ['a1', 'a2'], 'each woken once')
  assert.deepEqual(sleepers.clear().sort(), ['a-timeout', 'b1'])
  assert.equal(sleepers.size, 0)
  sleepers.back('http://b', after())
  assert.deepEqual(woken, ['a1', 'a2'], 'a stop wakes nothing')
})

test('a sleep ends by its timer when its host stays down; a later refusal of the host is woken again', async () => {
  const woken: string[] = []
  const sleepers = new RetrySleepers<string>((item) => woken.push(item))
  sleepers.add('soon', 5, 'http://a')
  await new Promise((resolve) => setTimeout(resolve, 30))
  assert.deepEqual(woken, ['soon'])
  assert.equal(sleepers.size, 0)
  sleepers.back('http://a', after())
  assert.deepEqual(woken, ['soon'], 'a sleep its timer ended is not woken twice')
  sleepers.add('later', HOUR, 'http://a')
  sleepers.back('http://a', after())
  assert.deepEqual(woken, ['soon', 'later'])
})

test('wakeIf wakes now the sleeps it picks (a host or proxy given up), whatever their cause', () => {
  const woken: string[] = []
  const sleepers = new RetrySleepers<string>((item) => woken.push(item))
  sleepers.add('dead-1', HOUR, 'http://dead')
  sleepers.add('dead-2', HOUR)
  sleepers.add('alive', HOUR)
  sleepers.wakeIf((item) => item.startsWith('dead'))
  assert.deepEqual(woken, ['dead-1', 'dead-2'])
  sleepers.back('http://dead', after())
  assert.deepEqual(woken, ['dead-1', 'dead-2'], 'not woken twice')
  assert.deepEqual(sleepers.clear(), ['alive'])
})

test('lastWake: when the last sleep runs out, for an honest ETA (0: none sleeping)', () => {
  const sleepers = new RetrySleepers<string>(() => {})
  assert.equal(sleepers.lastWake(), 0)
  const before = performance.now()
  sleepers.add('a', 60_000)
  sleepers.add('b', 5_000, 'http://down.example')
  const last = sleepers.lastWake()
  assert.ok(last >= before + 60_000 && last <= performance.now() + 60_000, String(last - before))
  sleepers.clear()
  assert.equal(sleepers.lastWake(), 0)
})

test('a host at its limit of connections wakes nothing: an answer to a request sent before the refusal, or on a kept-alive connection', () => {
  const woken: string[] = []
  const sleepers = new RetrySleepers<string>((item) => woken.push(item))
  const before = performance.now() - 1
  sleepers.add('a1', HOUR, 'http://a')
  sleepers.back('http://a', before, true)
  assert.deepEqual(woken, [], 'sent before the refusal: the host served it while it refused')
  sleepers.back('http://a', after(), false)
  assert.deepEqual(woken, [], 'on a connection kept alive from before')
  sleepers.back('http://a', after())
  assert.deepEqual(woken, ['a1'], 'sent after it, its connection not known: back')
  sleepers.add('a2', HOUR, 'http://a')
  sleepers.back('http://a', after(), true)
  assert.deepEqual(woken, ['a1', 'a2'], 'sent after it on a new connection: back')
  sleepers.clear()
})

test('backFromRefusal: an answer to a request sent after the refusal, not on a kept-alive connection', () => {
  const table: [string, number, boolean | undefined, boolean][] = [
    ['sent after, on a new connection', 120, true, true],
    ['sent after, its connection not known (an error status)', 120, undefined, true],
    ['sent after, on a kept-alive connection: the host at its limit keeps those', 120, false, false],
    ['sent before: served while the host refused', 80, true, false],
    ['sent at the very moment of the refusal', 100, true, false],
  ]
  for (const [name, sentAt, fresh, expected] of table)
    assert.equal(backFromRefusal({ refusedAt: 100, sentAt, fresh }), expected, name)
})

test('refusedAtLimit: refused while the host, having served in this run, has other transfers in flight', () => {
  const table: [string, boolean, number, boolean][] = [
    ['served, others in flight: a limit of connections', true, 3, true],
    ['served, none other in flight: down, or restarting', true, 0, false],
    ['nothing served yet, others in flight: no proof it takes connections', false, 3, false],
    ['nothing served, none in flight: down', false, 0, false],
  ]
  for (const [name, served, others, expected] of table)
    assert.equal(refusedAtLimit({ served, others }), expected, name)
})

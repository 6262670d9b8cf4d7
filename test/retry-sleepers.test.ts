import assert from 'node:assert/strict'
import { test } from 'node:test'
import { RetrySleepers } from '../src/fetch/retry-sleepers.js'

const HOUR = 3_600_000

test('a host that serves again wakes at once the retries it refused, and only those', () => {
  const woken: string[] = []
  const sleepers = new RetrySleepers<string>((item) => woken.push(item))
  sleepers.add('a1', HOUR, 'http://a')
  sleepers.add('a2', HOUR, 'http://a')
  sleepers.add('b1', HOUR, 'http://b')
  sleepers.add('a-timeout', HOUR) // sent away by something else than a refusal: sleeps on
  sleepers.back('http://c')
  assert.deepEqual(woken, [])
  sleepers.back('http://a')
  assert.deepEqual(woken, ['a1', 'a2'])
  assert.equal(sleepers.size, 2)
  sleepers.back('http://a')
  assert.deepEqual(woken, ['a1', 'a2'], 'each woken once')
  assert.deepEqual(sleepers.clear().sort(), ['a-timeout', 'b1'])
  assert.equal(sleepers.size, 0)
  sleepers.back('http://b')
  assert.deepEqual(woken, ['a1', 'a2'], 'a stop wakes nothing')
})

test('a sleep ends by its timer when its host stays down; a later refusal of the host is woken again', async () => {
  const woken: string[] = []
  const sleepers = new RetrySleepers<string>((item) => woken.push(item))
  sleepers.add('soon', 5, 'http://a')
  await new Promise((resolve) => setTimeout(resolve, 30))
  assert.deepEqual(woken, ['soon'])
  assert.equal(sleepers.size, 0)
  sleepers.back('http://a')
  assert.deepEqual(woken, ['soon'], 'a sleep its timer ended is not woken twice')
  sleepers.add('later', HOUR, 'http://a')
  sleepers.back('http://a')
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
  sleepers.back('http://dead')
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

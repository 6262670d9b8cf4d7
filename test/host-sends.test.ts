import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { HostSends } from '../src/fetch/host-sends.js'

// --wait where the request is sent (see host-sends.ts): one host's sends, taken on any thread.
test('HostSends: a send taken holds its host alone for its gap, on every copy of the shared times', async () => {
  const main = new HostSends(() => 200)
  // A thread's copy, made from the main thread's buffer before any host had a slot.
  const thread = new HostSends(() => 200, main.buffer)
  const a = 'https://a.example'
  const b = 'https://b.example'
  assert.equal(main.due(a), 0)
  assert.equal(main.claim(a), true)
  // Taken: the next send to it waits the gap drawn, here and on the thread once it knows the slot.
  assert.ok(main.due(a) > 150 && main.due(a) <= 200, `${main.due(a)}`)
  assert.equal(main.claim(a), false)
  // A host the thread was not told of is not held there (its turns alone space it).
  assert.equal(thread.due(a), 0)
  thread.learn(a, main.slotOf(a)!)
  assert.equal(thread.claim(a), false)
  assert.ok(thread.due(a) > 150)
  // Another host is never held by it.
  assert.equal(main.claim(b), true)
  // A gap given (the one drawn with the task's turn) is the one that follows the send.
  const c = 'https://c.example'
  assert.equal(main.claim(c, 50), true)
  assert.ok(main.due(c) <= 50)
  await sleep(main.due(c) + 2)
  assert.equal(main.due(c), 0)
  assert.equal(main.claim(c, 0), true)
})

test('HostSends: slots grow with the hosts, and a thread made before sees the new ones', () => {
  const main = new HostSends(() => 1000)
  const thread = new HostSends(() => 1000, main.buffer)
  const hosts = Array.from({ length: 2000 }, (_, i) => `https://h${i}.example`)
  for (const h of hosts) assert.equal(main.claim(h), true)
  const last = hosts.at(-1)!
  thread.learn(last, main.slotOf(last)!)
  assert.equal(thread.claim(last), false)
  assert.ok(thread.due(last) > 900)
  // Each host its own slot: the last one's send took none of the first's.
  assert.equal(new Set(hosts.map((h) => main.slotOf(h))).size, hosts.length)
})

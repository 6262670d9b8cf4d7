import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { HostSends } from '../src/fetch/host-sends.js'
import { SendPauses } from '../src/fetch/send-pauses.js'

// --wait where the request is sent (see host-sends.ts): one host's sends, taken on any thread.
test('HostSends: a send taken holds its host alone for its gap, on every copy of the shared times', async () => {
  const main = new HostSends(() => 200)
  // A thread's copy, made from the main thread's buffer before any host had a slot.
  const thread = new HostSends(() => 200, main.buffer)
  const a = 'https://a.example'
  const b = 'https://b.example'
  assert.equal(main.due(a), 0)
  assert.equal(main.claim(a), true)
  // Taken: the next send to it waits the gap drawn, here and on the thread told its slot.
  assert.ok(main.due(a) > 150 && main.due(a) <= 200, `${main.due(a)}`)
  assert.equal(main.claim(a), false)
  const told = new Map([[a, main.slotOf(a)!]])
  const slotOf = (h: string) => told.get(h)
  assert.equal(thread.claim(a, undefined, slotOf), false)
  assert.ok(thread.due(a, slotOf) > 150)
  // A host the thread was not told of is not held there (its turns alone space it).
  assert.equal(thread.due(b, slotOf), 0)
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

test('HostSends: slots grow with the hosts, seen by a thread made before; hosts done with are forgotten', async () => {
  const main = new HostSends(() => 1000)
  const thread = new HostSends(() => 1000, main.buffer)
  const hosts = Array.from({ length: 9_000 }, (_, i) => `https://h${i}.example`)
  for (const h of hosts) assert.equal(main.claim(h), true)
  const last = hosts.at(-1)!
  const slot = main.slotOf(last)!
  assert.equal(
    thread.claim(last, undefined, () => slot),
    false,
  )
  assert.ok(thread.due(last, () => slot) > 900)
  // Each host its own slot: the last one's send took none of the first's.
  assert.equal(new Set(hosts.map((h) => main.slotOf(h))).size, hosts.length)
  // A list of one file a host: past 10,000 hosts, those whose time has passed and that the run
  // holds nothing of give their slots to new ones; a host still held (busy), or whose time has
  // not come, keeps its own.
  const busy = 'https://busy.example'
  const waiting = 'https://waiting.example'
  main.busy = (h) => h === busy
  main.claim(busy, 0)
  main.claim(waiting, 60_000)
  for (let i = 0; i < 1_000; i++) main.claim(`https://q${i}.example`, 0)
  // The ones whose time had passed went as the 10,000th came; the rest go once theirs has.
  assert.ok(main.size < 10_000, `${main.size} hosts kept`)
  const before = main.slotOf(busy)
  await sleep(1_100)
  main.prune()
  assert.ok(main.size <= 3, `${main.size} hosts kept`)
  assert.equal(main.slotOf(busy), before)
  assert.ok(main.due(waiting) > 50_000)
})

test('SendPauses: a paused host is held until its pause ends, others never; ended pauses are let go', async () => {
  const pauses = new SendPauses()
  const a = new URL('https://a.example/x.jpg')
  const b = new URL('https://b.example/y.jpg')
  assert.equal(pauses.any, false)
  assert.equal(pauses.due(a), 0)
  pauses.pause('https://a.example', 200)
  assert.equal(pauses.any, true)
  assert.ok(pauses.due(a) > 150 && pauses.due(a) <= 200, `${pauses.due(a)}`)
  // Held by the host, whatever the URL's path or a trailing dot (its `hostKey`).
  assert.ok(pauses.due(new URL('https://A.example.:443/other')) > 150)
  assert.equal(pauses.due(b), 0)
  // A shorter pause asked meanwhile does not end a longer one.
  pauses.pause('https://a.example', 10)
  assert.ok(pauses.due(a) > 150)
  await sleep(pauses.due(a) + 2)
  assert.equal(pauses.due(a), 0)
  // Asked about after its end, it is let go: a run that met a pause pays nothing more for it.
  assert.equal(pauses.any, false)
})

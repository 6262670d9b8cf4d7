import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { BodyPace } from '../src/fetch/steady-body.js'
import { HostBodies, type Listed } from '../src/run/host-bodies.js'

// The engine's lists of each host's attempts under way (see `HostBodies`), without a server: what
// the slow-shared-link weighing (test/shared-link.test.ts) reads of them.

interface Attempt extends Listed {
  name: string
  gaveWay: boolean
}

const NOW = 500
/** 0.5 s in, `got` bytes of 200 kB come, 1.5 s left of a 2 s --total-timeout. */
const attempt = (name: string, got = 0, gaveWay = false): Attempt => ({
  name,
  pace: got > 0 ? ({ began: 0, length: 200_000, got, last: NOW } satisfies BodyPace) : undefined,
  gaveWay,
  endsAt: NOW + 1500,
  movable: () => true,
})

type Step = ['enter' | 'begin', string, string] | ['leave', string]

test('HostBodies: an attempt is in one list at most, a list emptied is dropped, leaving twice is harmless', () => {
  const rows: [
    string,
    Step[],
    { size: number; waiting: Record<string, string[]>; bodies: Record<string, string> },
  ][] = [
    ['sent', [['enter', 'a', 'h']], { size: 1, waiting: { h: ['a'] }, bodies: {} }],
    [
      'sent and ended',
      [
        ['enter', 'a', 'h'],
        ['leave', 'a'],
      ],
      { size: 0, waiting: { h: [] }, bodies: {} },
    ],
    [
      'its body begun: no longer waiting',
      [
        ['enter', 'a', 'h'],
        ['begin', 'a', 'h'],
      ],
      { size: 1, waiting: { h: [] }, bodies: { a: 'h' } },
    ],
    [
      'its body from the host a redirect led to',
      [
        ['enter', 'a', 'h'],
        ['begin', 'a', 'cdn'],
      ],
      { size: 1, waiting: { h: [] }, bodies: { a: 'cdn' } },
    ],
    [
      'a second body, from another host: out of the first host list',
      [
        ['enter', 'a', 'h'],
        ['begin', 'a', 'h'],
        ['begin', 'a', 'cdn'],
      ],
      { size: 1, waiting: {}, bodies: { a: 'cdn' } },
    ],
    [
      'ended in its body',
      [
        ['enter', 'a', 'h'],
        ['begin', 'a', 'h'],
        ['leave', 'a'],
      ],
      { size: 0, waiting: {}, bodies: {} },
    ],
    [
      'one of two ended: the list stays for the other',
      [
        ['enter', 'a', 'h'],
        ['enter', 'b', 'h'],
        ['leave', 'a'],
      ],
      { size: 1, waiting: { h: ['b'] }, bodies: {} },
    ],
    [
      'left twice, another listed there meanwhile: the other stays',
      [
        ['enter', 'a', 'h'],
        ['leave', 'a'],
        ['enter', 'b', 'h'],
        ['leave', 'a'],
      ],
      { size: 1, waiting: { h: ['b'] }, bodies: {} },
    ],
    [
      'left twice in its body, another body there meanwhile',
      [
        ['enter', 'a', 'h'],
        ['begin', 'a', 'h'],
        ['leave', 'a'],
        ['enter', 'b', 'h'],
        ['begin', 'b', 'h'],
        ['leave', 'a'],
      ],
      { size: 1, waiting: {}, bodies: { b: 'h' } },
    ],
    ['never listed, left', [['leave', 'a']], { size: 0, waiting: {}, bodies: {} }],
  ]
  for (const [what, steps, expected] of rows) {
    const lists = new HostBodies<Attempt>()
    const attempts = new Map<string, Attempt>()
    const named = (name: string) => attempts.get(name) ?? attempts.set(name, attempt(name)).get(name)!
    for (const [op, name, host] of steps) {
      if (op === 'leave') lists.leave(named(name))
      else lists[op](host!, named(name))
    }
    assert.equal(lists.size, expected.size, `${what}: lists held`)
    for (const [host, names] of Object.entries(expected.waiting))
      assert.deepEqual(
        lists.waitingAt(host).map((a) => a.name),
        names,
        `${what}: waiting at ${host}`,
      )
    for (const a of attempts.values())
      assert.equal(lists.bodyHost(a), expected.bodies[a.name], `${what}: ${a.name}'s body host`)
  }
})

test('HostBodies.weigh: bodies that gave way are not weighed, nor their paces counted', () => {
  // 16 at 300 kB/s together, 1.5 s left: 2 rests of 190 kB come in time, 14 give way (see
  // test/policies.test.ts `giveWay`). Beside two near their end, the 6 slow nearest theirs stay.
  // Those 14 gone, the two near their end come in time: none gives way.
  const round = (gaveWay: boolean) =>
    Array.from({ length: 14 }, (_, i) => attempt(`s${i}`, 9_400 + i, gaveWay))
  const near = () => [attempt('n0', 150_000), attempt('n1', 150_000)]
  const rows: [string, Attempt[], { withdraw: string[]; keep: number } | undefined][] = [
    [
      '16 slow',
      [...round(false), attempt('f0', 9_414), attempt('f1', 9_415)],
      {
        withdraw: [...Array(14).keys()].map((i) => `s${i}`),
        keep: 2,
      },
    ],
    [
      '14 slow and 2 near their end',
      [...round(false), ...near()],
      {
        withdraw: [...Array(8).keys()].map((i) => `s${i}`),
        keep: 8,
      },
    ],
    ['the 14 slow gave way already', [...round(true), ...near()], undefined],
    ['none under way', [], undefined],
  ]
  for (const [what, bodies, expected] of rows) {
    const lists = new HostBodies<Attempt>()
    for (const b of bodies) lists.begin('h', b)
    // Another host's bodies are not this host's.
    lists.begin('other', attempt('o', 1_000))
    const weighed = lists.weigh('h', NOW, 2000)
    assert.deepEqual(
      weighed && { withdraw: weighed.withdraw.map((a) => a.name).sort(), keep: weighed.keep },
      expected && { withdraw: [...expected.withdraw].sort(), keep: expected.keep },
      what,
    )
  }
})

test("HostBodies.together: the paces of the bodies under way at the host answering an attempt's", () => {
  const lists = new HostBodies<Attempt>()
  const [a, b, c, d] = [attempt('a', 10_000), attempt('b', 20_000, true), attempt('c', 40_000), attempt('d')]
  lists.enter('h', a)
  lists.enter('h', d)
  // Before its body: nothing, though its host has bodies under way.
  lists.begin('h', c)
  assert.equal(lists.together(a, NOW), 0)
  lists.begin('h', a)
  lists.begin('h', b)
  // 10, 20 and 40 kB in 0.5 s: one that gave way counts until it leaves (its attempt is cut at once).
  assert.equal(lists.together(a, NOW), 140_000)
  lists.leave(b)
  assert.equal(lists.together(a, NOW), 100_000)
  // A body with no pace yet adds nothing; another host's bodies are not counted.
  lists.begin('h', d)
  lists.begin('cdn', attempt('e', 50_000))
  assert.equal(lists.together(c, NOW), 100_000)
  lists.leave(a)
  assert.equal(lists.together(a, NOW), 0)
})

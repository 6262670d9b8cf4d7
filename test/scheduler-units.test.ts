import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type InLine, type SlotLine, take, untake } from '../src/fetch/slot-line.js'

interface Slot extends InLine<Slot> {
  name: string
}

/** The line's slots from its oldest on, and from its newest back: both walks must agree. */
function walk(line: SlotLine<Slot>): { forward: string[]; back: string[] } {
  const forward: string[] = []
  for (let s = line.oldest; s; s = s.next) forward.push(s.name)
  const back: string[] = []
  for (let s = line.newest; s; s = s.prev) back.push(s.name)
  return { forward, back: back.reverse() }
}

test('slot line: the oldest slot held is first, whatever is let go and in what order', () => {
  // Steps: `+a` takes a slot, `-a` lets it go; then the line from its oldest slot.
  const cases: { name: string; steps: string[]; line: string[] }[] = [
    { name: 'empty', steps: [], line: [] },
    { name: 'one', steps: ['+a'], line: ['a'] },
    { name: 'in the order taken', steps: ['+a', '+b', '+c'], line: ['a', 'b', 'c'] },
    { name: 'the oldest let go', steps: ['+a', '+b', '+c', '-a'], line: ['b', 'c'] },
    { name: 'the newest let go', steps: ['+a', '+b', '+c', '-c'], line: ['a', 'b'] },
    { name: 'the middle let go', steps: ['+a', '+b', '+c', '-b'], line: ['a', 'c'] },
    { name: 'all let go', steps: ['+a', '+b', '-b', '-a'], line: [] },
    // A slot taken again (a redirect's hop back) goes to the end: held anew from then.
    { name: 'taken again', steps: ['+a', '+b', '-a', '+a'], line: ['b', 'a'] },
    // Letting go of a slot not held (a task whose slot went with a redirect) changes nothing.
    { name: 'let go twice', steps: ['+a', '+b', '-a', '-a'], line: ['b'] },
    { name: 'never taken', steps: ['+a', '-b'], line: ['a'] },
    { name: 'the only one let go twice', steps: ['+a', '-a', '-a', '+b'], line: ['b'] },
  ]
  for (const c of cases) {
    const line: SlotLine<Slot> = {}
    const slots = new Map<string, Slot>()
    for (const step of c.steps) {
      const name = step.slice(1)
      const slot = slots.get(name) ?? { name }
      slots.set(name, slot)
      if (step[0] === '+') take(line, slot)
      else untake(line, slot)
    }
    assert.deepEqual(walk(line), { forward: c.line, back: c.line }, c.name)
    for (const [name, slot] of slots) {
      if (c.line.includes(name)) continue
      assert.equal(slot.prev, undefined, `${c.name}: ${name} let go, still linked`)
      assert.equal(slot.next, undefined, `${c.name}: ${name} let go, still linked`)
    }
  }
})

test('slot line: a slot taken notes when, no earlier than the one taken before it', () => {
  const line: SlotLine<Slot> = {}
  const a: Slot = { name: 'a' }
  const b: Slot = { name: 'b' }
  const before = performance.now()
  take(line, a)
  take(line, b)
  assert.ok(a.since !== undefined && a.since >= before)
  assert.ok(b.since !== undefined && b.since >= a.since)
})

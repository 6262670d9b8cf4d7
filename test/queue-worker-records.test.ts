import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Refusals } from '../src/queue/refusals.js'
import { heartbeatOf, ImageRate, sumImages, type WorkerState } from '../src/queue/worker-records.js'

test('a worker images a second over the last 15 s: the two latest samples always kept', () => {
  // Each row: a heartbeat's time (ms) and images ended by then, and the rate it reports.
  const rows: [number, number, number][] = [
    [0, 0, 0], // the first sample: no rate yet
    [0, 5, 0], // a second sample at the same time: no span to divide by
    [2_000, 20, 10],
    [10_000, 100, 10],
    [16_000, 100, 6], // the window drops the samples at 0, the one at 2,000 stays: 80 in 14 s
    [40_000, 340, 10], // a heartbeat slower than the window: the sample before it still counts
    [40_000, 340, 0], // two samples at one time left, as at the start: no span
  ]
  const rate = new ImageRate()
  for (const [now, done, want] of rows) assert.equal(rate.note(now, done), want, `at ${now} ms`)
  const short = new ImageRate(1_000)
  short.note(0, 0)
  short.note(500, 10)
  assert.equal(short.note(2_000, 30), 13, 'a window of its own: the sample at 0 dropped, 20 in 1.5 s')
})

test("a worker's images sum its ended shards and its running ones", () => {
  assert.deepEqual(sumImages([]), { ok: 0, failed: 0, bytes: 0 })
  assert.deepEqual(
    sumImages([
      { ok: 3, failed: 1, bytes: 300 },
      { ok: 2, failed: 0, bytes: 20 },
      { ok: 0, failed: 4, bytes: 0 },
    ]),
    { ok: 5, failed: 5, bytes: 320 },
  )
})

test("a heartbeat is written in Redis's time, its empty counts left out", () => {
  const state: WorkerState = {
    host: 'vm',
    pid: 7,
    startedAt: 1_000,
    now: 5_000,
    skew: -600_000, // this machine 10 minutes ahead of Redis
    final: false,
    running: [3],
    shards: 2,
    foundPublished: 0,
    own: { ok: 10, failed: 1, bytes: 500 },
    rate: 4,
    failedAttempts: { n: 0, last: '' },
  }
  assert.deepEqual(heartbeatOf(state), {
    host: 'vm',
    pid: 7,
    startedAt: -599_000,
    seenAt: -595_000,
    running: [3],
    shards: 2,
    ok: 10,
    failed: 1,
    bytes: 500,
    rate: 4,
  })
  const last = heartbeatOf({
    ...state,
    skew: 0,
    final: true,
    foundPublished: 1,
    failedAttempts: { n: 2, last: 'shard 00003: cannot read the input' },
  })
  assert.equal(last.stoppedAt, 5_000)
  assert.equal(last.seenAt, 5_000)
  assert.equal(last.foundPublished, 1)
  assert.equal(last.attemptsFailed, 2)
  assert.equal(last.lastFailure, 'shard 00003: cannot read the input')
})

test('a spell of refusals is said once as it begins and once as it ends, and lasts while heard lately', () => {
  const r = new Refusals()
  assert.equal(r.on, false)
  assert.equal(r.taken(), false, 'a command taken with no spell on ends nothing')
  assert.equal(r.lasting(0, 15_000), undefined)
  assert.equal(r.heard('OOM command not allowed', 1_000), true, 'the first refusal begins the spell')
  assert.equal(r.heard('READONLY You can not write', 4_000), false, 'later ones do not')
  assert.equal(r.words, 'READONLY You can not write', "Redis's last words are kept")
  assert.equal(r.lasting(10_000, 15_000), 9_000, 'counted from the first refusal')
  assert.equal(r.lasting(18_999, 15_000), 17_999, 'heard under 15 s ago: still on')
  assert.equal(r.lasting(19_000, 15_000), undefined, 'no refusal heard lately: not counted on')
  assert.equal(r.taken(), true, 'a command taken ends the spell')
  assert.equal(r.taken(), false, 'once')
  assert.equal(r.lasting(20_000, 15_000), undefined)
  assert.equal(r.heard('NOAUTH Authentication required', 30_000), true, 'a new spell begins anew')
  assert.equal(r.lasting(31_000, 15_000), 1_000)
})

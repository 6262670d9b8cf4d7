import assert from 'node:assert/strict'
import { test } from 'node:test'
import { formatStatus, type QueueStatus } from '../src/queue/status.js'

const AT = Date.parse('2026-01-01T00:10:00Z')

const worker = (
  id: string,
  over: Partial<QueueStatus['workers'][number]>,
): QueueStatus['workers'][number] => ({
  id,
  host: 'vm',
  pid: 1,
  startedAt: AT - 100_000,
  seenAt: AT,
  running: [],
  shards: 0,
  ok: 0,
  failed: 0,
  bytes: 0,
  rate: 0,
  alive: true,
  ...over,
})

const status = (workers: QueueStatus['workers']): QueueStatus => ({
  queue: 'team',
  redis: 'redis://127.0.0.1:6379',
  at: AT,
  shards: { waiting: 0, retrying: 0, active: 1, done: 12, failed: 0 },
  images: { ok: 120, failed: 2, bytes: 1_000, errors: {} },
  rate: 2,
  active: [
    { shard: 1, worker: 'vm-1', rows: 10, done: 2 },
    { shard: 3, worker: 'vm-2', rows: 10, done: 4 },
  ],
  failures: [],
  workers,
})

test('a worker gone (killed, lost) is shown as it was on the shard, which another worker holds since', () => {
  const lines = formatStatus(
    status([
      worker('vm-2', { running: [3], shards: 2, ok: 24, rate: 2 }),
      worker('vm-1', { running: [1], ok: 2, seenAt: AT - 80_000, alive: false }),
      worker('vm-3', { shards: 1, ok: 10, stoppedAt: AT - 6_000, seenAt: AT - 6_000, alive: false }),
    ]),
  )
  const line = (id: string) => lines.find((l) => l.startsWith(`  ${id}:`))
  // Its shard is still active until its lock lapses: said so, not as if the worker went on with it.
  assert.equal(
    line('shard 00001'),
    '  shard 00001: 2/10 on vm-1 (not seen for 80 s: the shard goes back to the queue once its lock lapses)',
  )
  assert.equal(line('shard 00003'), '  shard 00003: 4/10 on vm-2')
  assert.equal(line('vm-2'), '  vm-2: shard 00003, 2 shards done, 24 ok, 0 failed, 2 images/s; seen just now')
  // It said "vm-1: shard 00001, ..." as if it held the shard still, shard 00001 being done meanwhile.
  assert.equal(
    line('vm-1'),
    '  vm-1: was on shard 00001, 0 shards done, 2 ok, 0 failed, 0 images/s; not seen for 80 s (gone?)',
  )
  assert.equal(line('vm-3'), '  vm-3: 1 shard done, 10 ok, 0 failed, 0 images/s; stopped 6 s ago')
})

test('a worker gone while on a shard is listed, though it had no image yet; one that stopped idle is counted; a shard its workers kept dying on says so', () => {
  const lines = formatStatus({
    ...status([
      worker('vm-2', { running: [3], shards: 2, ok: 24, rate: 2 }),
      worker('vm-1', { running: [1], seenAt: AT - 80_000, alive: false }),
      worker('vm-4', { stoppedAt: AT - 6_000, seenAt: AT - 6_000, alive: false }),
    ]),
    failures: [
      {
        shard: 7,
        reason: 'the workers running it stopped before its end 4 times (...)',
        attempts: 1,
        stalled: 4,
      },
    ],
  })
  assert.ok(lines.includes('workers (and 1 stopped that did nothing):'), lines.join('\n'))
  assert.ok(
    lines.includes(
      '  vm-1: was on shard 00001, 0 shards done, 0 ok, 0 failed, 0 images/s; not seen for 80 s (gone?)',
    ),
    lines.join('\n'),
  )
  // Not "after 1 attempt": BullMQ counts no attempt for a worker's death.
  assert.ok(
    lines.includes('failed shard 00007: the workers running it stopped before its end 4 times (...)'),
    lines.join('\n'),
  )
})

test('a worker whose attempts at shards failed is listed with how many and the last why, alive or stopped, not counted among those that did nothing', () => {
  const why = 'shard 00004: cannot read /mnt/shared/urls.txt: no such file or directory'
  const lines = formatStatus(
    status([
      worker('vm-2', { running: [3], shards: 2, ok: 24, rate: 2 }),
      worker('vm-5', { attemptsFailed: 7, lastFailure: why }),
      worker('vm-6', {
        stoppedAt: AT - 6_000,
        seenAt: AT - 6_000,
        alive: false,
        attemptsFailed: 1,
        lastFailure: 'shard 00002: a \x1b[2J',
      }),
    ]),
  )
  assert.ok(lines.includes('workers:'), lines.join('\n'))
  assert.ok(
    lines.includes(
      `  vm-5: 0 shards done, 0 ok, 0 failed, 0 images/s; seen just now; 7 attempts at shards failed, the last: ${why}`,
    ),
    lines.join('\n'),
  )
  assert.ok(
    lines.includes(
      '  vm-6: 0 shards done, 0 ok, 0 failed, 0 images/s; stopped 6 s ago; 1 attempt at shards failed, the last: shard 00002: a \\x1b[2J',
    ),
    lines.join('\n'),
  )
})

// The command's heap growth (src/cli/heap-growth.ts): which flag it sets, and that V8 honours the
// flag set at run time, after the heap exists (what start.ts relies on), on the Node running this.
import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import {
  collectThenMark,
  HEAP_GROWING_PERCENT,
  heapGrowingFlag,
  MARKING_OFF,
  MARKING_ON,
  marksAtWill,
} from '../src/cli/heap-growth.js'
import { BodySize, LARGE_BODY, onLargeBodies, threadStarting } from '../src/fetch/large-bodies.js'
import { CLI, cleanup, tempDir } from './support/cli.js'
import { startImageServer } from './support/image-server.js'

test('heapGrowingFlag: set unless node was given the flag itself', () => {
  const set = `--heap-growing-percent=${HEAP_GROWING_PERCENT}`
  const cases: [string[], string | undefined][] = [
    [[], set],
    [['--enable-source-maps', '--max-old-space-size=512'], set],
    [['--heap-growing-percent=0'], undefined],
    [['--heap_growing_percent=100'], undefined],
    [['--heap-growing-percent'], undefined],
    [['--heap-growing-percentage=5'], set], // not V8's flag
  ]
  for (const [argv, want] of cases) assert.equal(heapGrowingFlag(argv), want, argv.join(' '))
})

test('marksAtWill: unless node was given an incremental marking flag itself', () => {
  const cases: [string[], boolean][] = [
    [[], true],
    [['--heap-growing-percent=0', '--max-old-space-size=512'], true],
    [['--incremental-marking'], false],
    [['--no-incremental-marking'], false],
    [['--no_incremental_marking'], false],
    [['--incremental-marking=true'], false],
    [['--incremental-marking-task'], true], // another V8 flag
  ]
  for (const [argv, want] of cases) assert.equal(marksAtWill(argv), want, argv.join(' '))
})

// V8 crashed now and then (2 runs in 85 of four 200 MB files) when the command switched incremental
// marking while V8 was marking: a switch now follows a full collection of its own.
test('collectThenMark: each switch of incremental marking comes right after a full collection', () => {
  const done: string[] = []
  const switchTo = collectThenMark(
    (flags) => done.push(`flags ${flags}`),
    (code) => {
      done.push(`context ${code}`)
      return () => done.push('gc')
    },
  )
  switchTo(MARKING_OFF)
  switchTo(MARKING_ON)
  assert.deepEqual(done, [
    'flags --expose-gc',
    'context gc',
    'gc',
    `flags ${MARKING_OFF}`,
    'gc',
    `flags ${MARKING_ON}`,
  ])
  // The context's `gc` is V8's, a full collection, once the flag is set (as start.ts makes it).
  setFlagsFromString('--expose-gc')
  assert.equal(typeof runInNewContext('gc'), 'function')
})

test('large bodies: told when the first begins and the last ends, once each', () => {
  const told: boolean[] = []
  onLargeBodies((large) => told.push(large))
  try {
    const a = new BodySize()
    const b = new BodySize()
    const small = new BodySize()
    small.grew(LARGE_BODY - 1)
    a.grew(LARGE_BODY)
    a.grew(LARGE_BODY * 2)
    b.grew(LARGE_BODY + 1)
    assert.deepEqual(told, [true])
    a.end()
    a.end()
    small.end()
    assert.deepEqual(told, [true])
    b.end()
    assert.deepEqual(told, [true, false])
  } finally {
    onLargeBodies(undefined)
  }
})

// V8's flags are the process's: switched while a transfer thread's heap was
// marking, the process could crash as it did on the main thread's (see collectThenMark). The
// switch is undone before such a thread starts, and not made while one lives.
test('large bodies: no switch while another thread lives; one on is told off before a thread starts', () => {
  const told: boolean[] = []
  onLargeBodies((large) => told.push(large))
  try {
    const gone = threadStarting()
    const a = new BodySize()
    a.grew(LARGE_BODY)
    a.end()
    assert.deepEqual(told, [])
    gone()
    gone()
    const b = new BodySize()
    b.grew(LARGE_BODY)
    assert.deepEqual(told, [true])
    const second = threadStarting()
    assert.deepEqual(told, [true, false])
    const c = new BodySize()
    c.grew(LARGE_BODY)
    b.end()
    c.end()
    second()
    assert.deepEqual(told, [true, false])
    const d = new BodySize()
    d.grew(LARGE_BODY)
    d.end()
    assert.deepEqual(told, [true, false, true, false])
  } finally {
    onLargeBodies(undefined)
  }
})

// A large file's body is a fresh 64 KiB buffer outside the heap per socket read; V8 counted them
// against the old generation's limit and ran a full collection every ~12 MB (7-12 for this file,
// against 1-3 with marking off past its first LARGE_BODY bytes). Counted with --trace-gc (its lines
// on the command's stdout), not timed.
test('the command runs almost no full collection while a large file comes', async () => {
  const size = 192 * 1024 * 1024
  const server = await startImageServer({ sizes: [size, size], record: false })
  try {
    // On the main thread only: while a transfer thread lives no switch is made (see above).
    for (const threads of ['0']) {
      const dir = await tempDir()
      try {
        const child = spawn(
          process.execPath,
          [
            '--trace-gc',
            CLI,
            `${server.origin}/large1`,
            '-o',
            dir,
            '--hash',
            'none',
            '--max-size',
            '1GiB',
            '--threads',
            threads,
          ],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        )
        let out = ''
        child.stdout.setEncoding('utf8').on('data', (d) => {
          out += d
        })
        child.stderr.resume()
        const code = await new Promise((resolve) => child.on('close', resolve))
        assert.equal(code, 0, out.slice(-2000))
        assert.ok((await stat(join(dir, 'large1.jpg'))).size >= size * 0.9)
        // The switches' own collections (collectThenMark's `gc()`, V8's reason "testing") apart:
        // at least one as the body passes LARGE_BODY and one as it ends (Node 20 may log a third).
        const marks = out.split('\n').filter((line) => line.includes('Mark-Compact'))
        const forced = marks.filter((line) => line.includes('testing')).length
        const full = marks.length - forced
        assert.ok(forced >= 2, `--threads ${threads}: ${forced} collections before a switch, 2 expected`)
        assert.ok(
          full <= 4,
          `--threads ${threads}: ${full} full collections for one ${size / 1048576} MB file`,
        )
      } finally {
        await cleanup(dir)
      }
    }
  } finally {
    await server.close()
  }
})

// A steady 200,000 live objects while 3,000,000 are made: the peak heap with V8's own factor
// against the one the command sets (Node 20: 324 MB against 143; Node 24: 474 against 320).
const program = `
import { setFlagsFromString } from 'node:v8'
import { heapGrowingFlag } from ${JSON.stringify(fileURLToPath(new URL('../src/cli/heap-growth.ts', import.meta.url)))}
if (process.argv[2] === 'set') setFlagsFromString(heapGrowingFlag([]))
const live = []
let peak = 0
for (let i = 0; i < 3e6; i++) {
  live[i % 200000] = { a: 'x'.repeat(20) + i, b: [i, i + 1], c: { d: i } }
  if (i % 10000 === 0) peak = Math.max(peak, process.memoryUsage().heapTotal)
}
console.log(peak)
`
function peakHeap(mode: 'set' | 'default'): number {
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-', mode], {
    input: program,
    encoding: 'utf8',
  })
  return Number(out.trim())
}

test('the flag set at run time holds the heap nearer what is live', () => {
  const own = peakHeap('default')
  const set = peakHeap('set')
  assert.ok(
    set < own * 0.8,
    `peak heap ${(set / 1e6).toFixed(0)} MB with the flag, ${(own / 1e6).toFixed(0)} MB without`,
  )
})

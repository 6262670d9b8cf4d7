import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { TransformError } from '../src/transform/errors.js'
import { startCause, TransformPool } from '../src/transform/pool.js'
import { resolveTransformSpec } from '../src/transform/spec.js'
import { fixture } from './fixtures/transform/index.js'

const run = promisify(execFile)
const small = fixture('photo.webp')
const quick = resolveTransformSpec({ resize: 'keep-ratio', size: 64 })
// 160x240 enlarged to 4000x6000 and written as AVIF: some ten seconds of CPU, a job that is
// certainly still running when the test kills it.
const slow = resolveTransformSpec({ resize: 'keep-ratio', size: 4000, encode: 'avif' })

/** Wait until `condition` holds (checked every few ms); the test runner's timeout bounds it. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await sleep(5)
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const failsWith = (code: string, message?: RegExp) => (error: unknown) => {
  assert.ok(error instanceof TransformError, String(error))
  assert.equal(error.code, code)
  if (message) assert.match(error.message, message)
  return true
}

// One pool for the crashes and the abort: each test leaves it with a fresh worker, as it must.
const pool = new TransformPool({ workers: 1 })
after(() => pool.close())

describe('a worker that dies mid-image fails that image only', () => {
  for (const signal of ['SIGKILL', 'SIGSEGV'] as const) {
    it(`${signal}: the image fails, the one queued behind it and the next ones succeed`, async () => {
      await pool.transform(small, quick) // started and warm
      const [pid] = pool.stats.pids
      const replaced = pool.stats.replaced
      const doomed = pool.transform(small, slow)
      const queued = pool.transform(small, quick)
      await until(() => pool.stats.running === 1)
      process.kill(pid, signal)
      await assert.rejects(doomed, failsWith('transform-failed', new RegExp(`killed by ${signal}`)))
      const next = await queued
      assert.deepEqual([next.width, next.height], [64, 96])
      assert.equal((await pool.transform(small, quick)).kept, false)
      assert.equal(pool.stats.replaced, replaced + 1)
      assert.notEqual(pool.stats.pids[0], pid)
      assert.equal(alive(pid), false)
    })
  }
})

describe('a hang', () => {
  it('past timeoutMs fails the image, kills the worker, and the next image works', async () => {
    // Long enough for the quick images on a loaded machine (one took over 500 ms there, and was
    // failed as a hang), far short of the slow one's seconds of CPU.
    const pool = new TransformPool({ workers: 1, timeoutMs: 2000 })
    try {
      await pool.transform(small, quick)
      const [pid] = pool.stats.pids
      await assert.rejects(pool.transform(small, slow), failsWith('transform-failed', /longer than 2000 ms/))
      await until(() => !alive(pid))
      const next = await pool.transform(small, quick)
      assert.equal(next.width, 64)
      assert.equal(pool.stats.replaced, 1)
    } finally {
      await pool.close()
    }
  })
})

describe('abort', () => {
  it('a running image: rejected at once, its worker killed and replaced', async () => {
    await pool.transform(small, quick)
    const [pid] = pool.stats.pids
    const controller = new AbortController()
    const running = pool.transform(small, slow, { signal: controller.signal })
    await until(() => pool.stats.running === 1)
    controller.abort(new Error('stop'))
    await assert.rejects(running, failsWith('transform-closed', /stop/))
    await until(() => !alive(pid))
    assert.equal((await pool.transform(small, quick)).width, 64)
  })
})

/** The TCP ports process `pid` listens on (from its sockets in /proc). */
function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>()
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    const link = readlinkSync(`/proc/${pid}/fd/${fd}`, { encoding: 'utf8' })
    if (link.startsWith('socket:[')) inodes.add(link.slice(8, -1))
  }
  const ports: number[] = []
  for (const table of ['tcp', 'tcp6']) {
    for (const line of readFileSync(`/proc/${pid}/net/${table}`, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/)
      if (f[3] === '0A' && inodes.has(f[9])) ports.push(Number.parseInt(f[1].split(':')[1], 16))
    }
  }
  return ports
}

// Each signal on a pool of its own, all three at once: each waits out its worker's start (from
// source, under tsx) and the slow image it is given, and one pool would take them in turn.
describe('signals a terminal or a service manager sends to every process of the run', {
  concurrency: true,
}, () => {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGUSR1'] as const) {
    it(`${signal} sent to the worker too: it goes on, its image is not failed, it opens no port`, async () => {
      const pool = new TransformPool({ workers: 1 })
      try {
        await pool.transform(small, quick)
        const [pid] = pool.stats.pids
        const controller = new AbortController()
        let settled: unknown
        const running = pool.transform(small, slow, { signal: controller.signal }).then(
          () => (settled = 'done'),
          (error: TransformError) => (settled = error.message),
        )
        await until(() => pool.stats.running === 1)
        process.kill(pid, signal)
        await sleep(300)
        assert.equal(settled, undefined, 'the image is still being made')
        assert.equal(alive(pid), true)
        // A SIGUSR1 opened Node's debugger on 127.0.0.1:9229 (nodejs/node#42446).
        assert.deepEqual(listeningPorts(pid), [])
        // The pool alone ends it (its parent heard the signal too, and stops the run its own way).
        controller.abort(new Error('stop'))
        await running
        assert.match(String(settled), /aborted: stop/)
        await until(() => !alive(pid))
      } finally {
        await pool.close()
      }
    })
  }
})

describe('workers that cannot start', () => {
  it('stop the pool with a message naming why, in the words the worker said', async () => {
    // Run from source, the pool gives its workers this process's loader flags (`--import tsx`),
    // a `--require` among them: one that throws in a worker stopped the pool on "image workers
    // exit before they are ready (code 1, null)", their stderr ignored.
    const dir = mkdtempSync(join(tmpdir(), 'imgpull-start-'))
    try {
      const preload = join(dir, 'preload.cjs')
      writeFileSync(preload, "if (process.send) throw new Error('the agent cannot start here')\n")
      const pool = new URL('../src/transform/pool.ts', import.meta.url).href
      const script = `const { TransformPool } = await import(${JSON.stringify(pool)})
try { await new TransformPool({ workers: 1 }).transform(Buffer.from('x'), {}) } catch (e) { console.log(e.code + ' ' + e.message) }`
      const { stdout } = await run(process.execPath, [
        '--import',
        'tsx',
        '--require',
        preload,
        '--input-type=module',
        '-e',
        script,
      ])
      assert.equal(
        stdout.trim(),
        'transform-unavailable image workers exit before they are ready (code 1, null): Error: the agent cannot start here',
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it("the line of a worker's stderr that says why", () => {
    const table: [string, string][] = [
      [
        "/tmp/p.cjs:1\nif (process.send) throw new Error('boom')\n                  ^\n\nError: boom\n    at Object.<anonymous> (/tmp/p.cjs:1:25)\n\nNode.js v20.20.2\n",
        'Error: boom',
      ],
      [
        "node:internal/modules/cjs/loader:1228\n  throw err;\n  ^\n\nError: Cannot find module '/x.js'\nRequire stack:\n- internal/preload\n    at Module._resolveFilename\n{\n  code: 'MODULE_NOT_FOUND'\n}\n\nNode.js v20.20.2\n",
        "Error: Cannot find module '/x.js'",
      ],
      [
        'TypeError [ERR_UNKNOWN_FILE_EXTENSION]: Unknown file extension ".ts"\n',
        'TypeError [ERR_UNKNOWN_FILE_EXTENSION]: Unknown file extension ".ts"',
      ],
      ['node: bad option: --nope\n', 'node: bad option: --nope'],
      ['Killed\n\n', 'Killed'],
      [`${'x'.repeat(400)}\n`, 'x'.repeat(300)],
    ]
    for (const [stderr, said] of table) assert.equal(startCause(stderr), said)
  })
})

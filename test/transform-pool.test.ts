import assert from 'node:assert/strict'
import { createHash, randomFillSync } from 'node:crypto'
import {
  existsSync,
  lstatSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { getPriority, tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { Worker } from 'node:worker_threads'
import sharp from 'sharp'
import { TransformError } from '../src/transform/errors.js'
import { TransformPool } from '../src/transform/pool.js'
import { resolveTransformSpec } from '../src/transform/spec.js'
import { fixture, metadataOf } from './fixtures/transform/index.js'

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

describe('abort', () => {
  it('a queued image: taken off the queue, never run', async () => {
    const pool = new TransformPool({ workers: 1 })
    try {
      const controller = new AbortController()
      const first = pool.transform(small, quick)
      const second = pool.transform(small, quick, { signal: controller.signal })
      assert.equal(pool.stats.queued, 2)
      assert.equal(pool.stats.queuedBytes, 2 * small.length)
      controller.abort()
      await assert.rejects(second, failsWith('transform-closed'))
      assert.equal(pool.stats.queued, 1)
      assert.equal(pool.stats.queuedBytes, small.length)
      await first
      assert.equal(pool.stats.replaced, 0)
    } finally {
      await pool.close()
    }
  })
})

describe('one signal for many images', () => {
  it('holds a listener per waiting image without a MaxListenersExceededWarning, and none after', async () => {
    const pool = new TransformPool({ workers: 1 })
    const warnings: string[] = []
    const onWarning = (warning: Error) => warnings.push(warning.name)
    process.on('warning', onWarning)
    try {
      const controller = new AbortController()
      await Promise.all(
        Array.from({ length: 30 }, () => pool.transform(small, quick, { signal: controller.signal })),
      )
      await sleep(10) // warnings are emitted on the next tick
      assert.deepEqual(warnings, [])
    } finally {
      process.off('warning', onWarning)
      await pool.close()
    }
  })
})

describe('parallel workers', () => {
  it('run one image each, at once, in processes of their own', async () => {
    const pool = new TransformPool({ workers: 2 })
    try {
      const controller = new AbortController()
      const jobs = [1, 2].map(() =>
        pool
          .transform(small, slow, { signal: controller.signal })
          .catch((error: TransformError) => error.code),
      )
      await until(() => pool.stats.running === 2)
      assert.equal(new Set(pool.stats.pids).size, 2)
      assert.ok(!pool.stats.pids.includes(process.pid))
      for (const pid of pool.stats.pids) assert.equal(getPriority(pid), Math.min(19, getPriority() + 10)) // nice 10
      controller.abort()
      assert.deepEqual(await Promise.all(jobs), ['transform-closed', 'transform-closed'])
    } finally {
      await pool.close()
    }
  })
})

describe('back-pressure', () => {
  it('a producer that awaits ready() never has more than the bound waiting', async () => {
    // A real 600x600 JPEG of noise, a few hundred KB: the "downloaded body".
    const noise = randomFillSync(Buffer.alloc(600 * 600 * 3))
    const body = await sharp(noise, { raw: { width: 600, height: 600, channels: 3 } })
      .jpeg()
      .toBuffer()
    const maxQueuedBytes = 4 * body.length
    const pool = new TransformPool({ workers: 1, maxQueued: 1000, maxQueuedBytes })
    try {
      let most = 0
      let waits = 0
      const results: Promise<unknown>[] = []
      for (let i = 0; i < 40; i++) {
        if (pool.stats.queuedBytes >= maxQueuedBytes) waits++
        await pool.ready()
        assert.ok(pool.stats.queuedBytes < maxQueuedBytes)
        results.push(pool.transform(Buffer.from(body), quick)) // a fresh copy, as each download is
        most = Math.max(most, pool.stats.queuedBytes)
      }
      await Promise.all(results)
      assert.ok(waits > 0, 'the producer had to wait')
      assert.ok(most <= maxQueuedBytes, `at most ${most} bytes waited (bound ${maxQueuedBytes})`)
      assert.ok(most >= maxQueuedBytes - body.length, 'the queue filled up to its bound')
    } finally {
      await pool.close()
    }
  })
  it('counts jobs too: maxQueued for inputs on disk', async () => {
    const pool = new TransformPool({ workers: 1, maxQueued: 3 })
    try {
      let most = 0
      const results: Promise<unknown>[] = []
      for (let i = 0; i < 12; i++) {
        await pool.ready()
        results.push(
          pool.transform(
            { path: new URL('./fixtures/transform/photo.webp', import.meta.url).pathname },
            quick,
          ),
        )
        most = Math.max(most, pool.stats.queued)
        assert.equal(pool.stats.queuedBytes, 0)
      }
      await Promise.all(results)
      assert.equal(most, 3)
    } finally {
      await pool.close()
    }
  })
})

describe('close', () => {
  it('lets queued work finish, stops the workers, then refuses new work', async () => {
    const pool = new TransformPool({ workers: 1 })
    const jobs = [1, 2, 3].map(() => pool.transform(small, quick))
    await until(() => pool.stats.pids.length === 1)
    const [pid] = pool.stats.pids
    await pool.close()
    assert.equal((await Promise.all(jobs)).length, 3)
    assert.equal(alive(pid), false)
    await assert.rejects(pool.transform(small, quick), failsWith('transform-closed'))
  })
  it('an idle pool does not keep the process alive; a busy one does', async () => {
    const holds = () =>
      process.getActiveResourcesInfo().filter((r) => r === 'ProcessWrap' || r === 'PipeWrap').length
    const before = holds()
    const pool = new TransformPool({ workers: 1 })
    const job = pool.transform(small, quick)
    const busy = holds()
    assert.ok(busy >= before + 2, `${busy} >= ${before} + 2`) // the worker (starting) and its channel
    await job
    assert.ok(holds() <= busy - 2, `${holds()} <= ${busy} - 2`) // both let go (the worker lives on)
    assert.equal(pool.stats.workers, 1)
    await pool.close()
  })
})

describe('thumbnail', () => {
  const pool = new TransformPool({ workers: 1 })
  it('WebP, upright, longest side 160 by default', async () => {
    const bytes = await pool.thumbnail(fixture('photo-orient6-gps.jpg'))
    const meta = await metadataOf(bytes)
    assert.deepEqual([meta.format, meta.width, meta.height, meta.exif], ['webp', 107, 160, undefined])
  })
  it('JPEG at the size asked, never enlarged', async () => {
    const meta = await metadataOf(await pool.thumbnail(fixture('photo.avif'), { size: 120, format: 'jpg' }))
    assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 120, 80])
    const gif = await metadataOf(await pool.thumbnail(fixture('animated.gif'), { size: 400 }))
    assert.deepEqual([gif.width, gif.height], [120, 90])
  })
  it('fails an undecodable image', async () => {
    await assert.rejects(pool.thumbnail(fixture('undecodable.jpg')), failsWith('undecodable'))
    await pool.close()
  })
})

describe('replaceInput', () => {
  it('the input file becomes the output: renamed, the new image written into it, no file made or deleted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'imgpull-replace-'))
    const pool = new TransformPool({ workers: 1 })
    try {
      const input = join(dir, 'a.part')
      const output = `${input}.out`
      writeFileSync(input, small)
      const inode = statSync(input).ino
      const made = await pool.transform({ path: input }, quick, { output, replaceInput: true })
      assert.equal(made.kept, false)
      assert.equal(made.path, output)
      assert.equal(existsSync(input), false)
      assert.equal(statSync(output).ino, inode)
      const bytes = readFileSync(output)
      assert.equal(bytes.length, made.size)
      assert.equal(createHash('sha256').update(bytes).digest('hex'), made.sha256)
      assert.equal((await metadataOf(bytes)).width, made.width)
      // An image kept as it is: the input stays where it was, and nothing is written.
      writeFileSync(input, small)
      const kept = await pool.transform({ path: input }, resolveTransformSpec({}), {
        output: join(dir, 'b.out'),
        replaceInput: true,
      })
      assert.equal(kept.kept, true)
      assert.deepEqual(readFileSync(input), small)
      assert.equal(existsSync(join(dir, 'b.out')), false)
    } finally {
      await pool.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
  it('an input that cannot be renamed into: the new image written to the output, the input gone all the same', async () => {
    // The pool's promise is that the input path is gone once a new image is written, so the run
    // no longer unlinks each part after it. A symbolic link is not opened (O_NOFOLLOW), as Windows
    // will not rename an open file: the output is written the usual way, and the input was left.
    const dir = mkdtempSync(join(tmpdir(), 'imgpull-replace-'))
    const pool = new TransformPool({ workers: 1 })
    try {
      const target = join(dir, 'a.jpg')
      const input = join(dir, 'a.part')
      const output = `${input}.out`
      writeFileSync(target, small)
      symlinkSync(target, input)
      const made = await pool.transform({ path: input }, quick, { output, replaceInput: true })
      assert.equal(made.kept, false)
      assert.equal(made.path, output)
      assert.equal(existsSync(input), false, 'the input is gone')
      assert.equal(lstatSync(output).isFile(), true)
      const bytes = readFileSync(output)
      assert.equal(createHash('sha256').update(bytes).digest('hex'), made.sha256)
      assert.deepEqual(readFileSync(target), small, 'what the link named is untouched')
    } finally {
      await pool.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
  it('an abort while the new image is written into the renamed input: the write ends whole, the result given (never a cut file in its place)', async () => {
    // A stop between the rename and the end of the write killed the worker there: the download
    // renamed and cut, the new image's first bytes over the original's, the task rejected, and the
    // next run fetching the image again. The abort comes the moment the input is renamed (the parent
    // looks without yielding, so the worker's reply cannot have been read).
    const dir = mkdtempSync(join(tmpdir(), 'imgpull-replace-'))
    const pool = new TransformPool({ workers: 1 })
    try {
      await pool.transform(small, quick) // started and warm
      const noise = randomFillSync(Buffer.alloc(2000 * 2000 * 3))
      const original = await sharp(noise, { raw: { width: 2000, height: 2000, channels: 3 } })
        .png({ compressionLevel: 0 })
        .toBuffer()
      const large = resolveTransformSpec({ resize: 'keep-ratio', size: 1999, encode: 'png' })
      const input = join(dir, 'a.part')
      const output = `${input}.out`
      writeFileSync(input, original)
      const controller = new AbortController()
      const made = pool.transform({ path: input }, large, {
        output,
        replaceInput: true,
        signal: controller.signal,
      })
      const until = Date.now() + 60_000
      while (!existsSync(output) && Date.now() < until) {} // no yield: the reply stays unread
      assert.ok(existsSync(output), 'the input was renamed')
      controller.abort(new Error('stop'))
      const result = await made.catch((error: TransformError) => error)
      assert.ok(!(result instanceof Error), `the image, written whole, is given: ${result}`)
      const bytes = readFileSync(output)
      assert.equal(bytes.length, result.size)
      assert.equal(createHash('sha256').update(bytes).digest('hex'), result.sha256)
      assert.equal((await metadataOf(bytes)).width, 1999)
    } finally {
      await pool.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('a pool in a worker thread', () => {
  it('left open when its thread ends: its workers end and are reaped, none left a zombie of the process', async () => {
    // A child process is reaped by the event loop that started it: the thread ended with the
    // pool's idle workers unreferenced, they exited as their channel closed, and stayed
    // `<defunct>` in the process table for as long as the process ran (nodejs/node#46569).
    // tsx registered by the thread itself (a `--import tsx` flag is not ready in time in a thread on
    // Node 20); the flag is for the pool, which gives it to the workers it starts.
    const file = new URL('./support/pool-thread.ts', import.meta.url).href
    const thread = new Worker(
      `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(file)}) })`,
      { eval: true, execArgv: ['--import', 'tsx'], workerData: small },
    )
    let pids: number[] = []
    thread.on('message', (m: number[]) => {
      pids = m
    })
    const code = await new Promise((resolve, reject) => thread.on('exit', resolve).on('error', reject))
    assert.equal(code, 0)
    assert.equal(pids.length, 2)
    // Reaped: gone from the process table, not a zombie (state Z in /proc/PID/stat).
    const state = (pid: number) => {
      try {
        return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0]
      } catch {
        return 'gone'
      }
    }
    await until(() => pids.every((pid) => state(pid) !== 'S' && state(pid) !== 'R'))
    assert.deepEqual(pids.map(state), ['gone', 'gone'])
  })
})

describe('a fault of the disk', () => {
  it('is not the image’s: a write the system refuses comes back as its file system error, not transform-failed', async () => {
    const pool = new TransformPool({ workers: 1 })
    try {
      // /sys takes no new files (EACCES, or EROFS where it is mounted read-only): a disk that will not be written.
      const error = await pool.transform(small, quick, { output: '/sys/imgpull-test.out' }).then(
        () => undefined,
        (e: unknown) => e,
      )
      assert.ok(error instanceof Error && !(error instanceof TransformError), String(error))
      assert.ok(['EACCES', 'EROFS', 'EPERM'].includes((error as { code?: string }).code ?? ''), String(error))
      // The worker is still there for the next image.
      assert.equal((await pool.transform(small, quick)).kept, false)
    } finally {
      await pool.close()
    }
  })
})

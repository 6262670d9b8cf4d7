import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { type Options, pull, type Result } from '../src/index.js'
import { boundPublishing, holdResults, type PublishBound } from '../src/pull.js'
import { CLI, cleanup, tempDir } from './support/cli.js'
import { type ImageServer, startImageServer } from './support/image-server.js'
import { until } from './support/wait.js'

// A run holds constant memory whatever its caller's pace: a caller slower than the transfers
// slows the reading of the input, it never makes results pile up.

let server: ImageServer
let dir: string
before(async () => {
  server = await startImageServer({ sizes: [100, 400], record: false })
  dir = await tempDir()
})
after(async () => {
  await server.close()
  await cleanup(dir)
})

/** A source of `urls` that counts how many the run has taken from it. */
function counted(urls: string[]) {
  const source = {
    taken: 0,
    async *[Symbol.asyncIterator]() {
      for (const url of urls) {
        source.taken++
        yield url
      }
    },
  }
  return source
}

test('a caller that stops taking results stops the reading of the input: results do not pile up without end', async () => {
  const out = join(dir, 'slow-caller')
  // Lines answered without a transfer (here refused: no URL) are read as fast as the list is: the
  // case where only the caller's pace can hold the reading back. The reader yields to the event
  // loop every 256 jobs, so it would read all of them within a few dozen turns.
  const lines = Array.from({ length: 3_000 }, (_, i) => `not a URL ${i}`)
  holdResults(20)
  try {
    const source = counted(lines)
    const results = pull(source, { out, report: false })[Symbol.asyncIterator]()
    try {
      assert.equal((await results.next()).value?.error, 'invalid-url')
      // The caller now takes nothing for a while (a slow database insert, a slow pipe).
      for (let turn = 0; turn < 200 && source.taken < lines.length; turn++) await new Promise(setImmediate)
      assert.ok(
        source.taken <= 40,
        `${source.taken} of ${lines.length} lines read while the caller took 1 result`,
      )
      let taken = 1
      for (let r = await results.next(); !r.done; r = await results.next()) {
        assert.equal(r.value.error, 'invalid-url')
        taken++
      }
      assert.equal(taken, lines.length)
    } finally {
      await results.return?.(undefined)
    }
  } finally {
    holdResults(2_000)
  }
  // Transfers go on at the caller's pace, none lost or held up for good.
  const urls = Array.from({ length: 300 }, (_, i) => server.url(`/slow-${i}.jpg`))
  holdResults(20)
  try {
    const source = counted(urls)
    let taken = 0
    for await (const r of pull(source, { out: join(dir, 'slow-transfers'), report: false, concurrency: 8 })) {
      assert.equal(r.status, 'ok', r.message)
      taken++
      if (taken % 50 === 0) for (let turn = 0; turn < 20; turn++) await new Promise(setImmediate)
    }
    assert.equal(taken, urls.length)
  } finally {
    holdResults(2_000)
  }
})

test('--json into a pipe read slowly: the run waits for the reader instead of holding every line it has not read', async () => {
  // `imgpull - --json | jq ...` with jq slower than the run: Node buffers a pipe's writes without
  // end, so each result's line stayed in memory until read (60,000 URLs: 75 MB more at the peak).
  const out = join(dir, 'json-pipe')
  const lines = Array.from({ length: 20_000 }, (_, i) => `ftp://example.invalid/${'x'.repeat(60)}/${i}.jpg`)
  const child = spawn(process.execPath, [CLI, '-', '-o', out, '--json', '--no-report'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  child.stdout.pause()
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (d) => {
    stderr += d
  })
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve))
  child.stdin.on('error', () => {})
  // Fed 100 lines at a time, each once the last is taken: what was written is what the child read
  // (and what the pipe holds).
  const input = `${lines.join('\n')}\n`
  let written = 0
  const feeding = (async () => {
    for (let i = 0; i < lines.length; i += 100) {
      const chunk = `${lines.slice(i, i + 100).join('\n')}\n`
      if (!child.stdin.write(chunk, () => (written += chunk.length))) await once(child.stdin, 'drain')
    }
    child.stdin.end()
  })().catch(() => {})
  // Nothing of stdout is read: a run that waits for its reader stops reading its input too, and
  // part of the input stays unread (its 2,000 results held, then the pipes' buffers).
  let last = -1
  let still = 0
  await until('the input read to its end, or the run waiting for its reader', () => {
    // Still for 300 ms once result lines have come (the run has begun: its start takes a while).
    still = written === last && child.stdout.readableLength > 0 ? still + 1 : 0
    last = written
    return written === input.length || still >= 30
  })
  const unread = input.length - written
  assert.ok(unread > 0, `the whole input was read while no result line was (stderr: ${stderr})`)
  // Once read, every line comes, and the run ends as usual.
  child.stdout.setEncoding('utf8')
  let stdout = ''
  child.stdout.on('data', (d) => {
    stdout += d
  })
  child.stdout.resume()
  await feeding
  assert.equal(await closed, 1, stderr)
  const results = stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
  assert.equal(results.filter((r) => r.error === 'invalid-url').length, lines.length)
  assert.ok(results.at(-1).summary, 'the summary comes last')
})

// 626256e: publishing (transform, stage, journal commit) frees its transfer slot at once, and
// nothing bounded how many finished files waited for it (1,438 at once, each body of a sample held
// in memory). Transfers wait while the bound is reached; those under way still land.

/**
 * Run `urls` with publishing bounded by `bound` and held at its gate until no transfer is under way
 * and the files waiting stay as many (nothing more to start), then released. `most`: the most files
 * that waited at once.
 */
async function heldPublishing(urls: string[], bound: Partial<PublishBound>, options: Options) {
  const waiting: (() => void)[] = []
  let open = false
  let most = 0
  boundPublishing({
    ...bound,
    gate: () =>
      open
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            waiting.push(resolve)
            most = Math.max(most, waiting.length)
          }),
  })
  try {
    const run = pull(urls, { report: false, threads: 0, ...options })
    const results: Result[] = []
    const taking = (async () => {
      for await (const r of run) results.push(r)
    })()
    // Held, the run comes to rest once begun: no transfer under way, no file more waiting, for 200 ms.
    let last = -1
    let still = 0
    await until('publishing held and no transfer under way', () => {
      still = waiting.length > 0 && waiting.length === last && run.stats.active === 0 ? still + 1 : 0
      last = waiting.length
      return still >= 20
    })
    const atRest = waiting.length
    open = true
    for (const release of waiting.splice(0)) release()
    await taking
    return { most, atRest, results }
  } finally {
    boundPublishing()
  }
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

// 4 files reach the bound; so do 4 bodies of 30,000 bytes (100 KB). Up to 2 more may be under way then.
for (const [what, bound, outputFormat, query] of [
  ['4 files', { files: 4 }, 'files', ''],
  ['100 KB of sample bodies', { bytes: 100_000 }, 'webdataset', '?size=30000'],
] as const) {
  test(`publishing held: no transfer starts while ${what} wait (the bound), and every file lands once it is released`, async () => {
    const out = join(dir, `publish-${outputFormat}`)
    const paths = Array.from({ length: 40 }, (_, i) => `/held-${i}.jpg${query}`)
    const concurrency = 3
    const { most, atRest, results } = await heldPublishing(
      paths.map((p) => server.url(p)),
      bound,
      { out, concurrency, outputFormat },
    )
    assert.ok(
      atRest >= 4 && most <= 4 + concurrency - 1,
      `${most} files waited to publish at once (at rest: ${atRest})`,
    )
    assert.deepEqual(
      results.map((r) => [r.status, r.message]),
      paths.map(() => ['ok', undefined]),
    )
    assert.deepEqual(results.map((r) => r.sha256).sort(), paths.map((p) => sha(server.bytes(p))).sort())
    for (const r of outputFormat === 'files' ? results : [])
      assert.equal(sha(await readFile(join(out, r.path!))), r.sha256, r.path)
  })
}

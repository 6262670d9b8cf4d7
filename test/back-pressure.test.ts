import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { pull } from '../src/index.js'
import { holdResults } from '../src/pull.js'
import { cleanup, tempDir } from './support/cli.js'
import { type ImageServer, startImageServer } from './support/image-server.js'

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

import assert from 'node:assert/strict'
import { getEventListeners } from 'node:events'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { pull } from '../src/index.js'
import { cleanup, tempDir } from './support/cli.js'
import { type ImageServer, startImageServer } from './support/image-server.js'

// imgpull as a library in a long-running process (a web server that pulls on request): what one
// run leaves on the process, and what a call refuses before it touches the disk.

let server: ImageServer
let dir: string
before(async () => {
  server = await startImageServer()
  dir = await tempDir()
})
after(async () => {
  await server.close()
  await cleanup(dir)
})

test('runs that share one shutdown signal leave no listener on it: ended, left early or failed (hunt68)', async () => {
  // Each run left its abort listeners on the caller's signal and drainSignal, holding the ended
  // run (engine, journal, scheduler) alive; from the eleventh Node warned of a leak.
  const stop = new AbortController()
  const drain = new AbortController()
  const warnings: Error[] = []
  const onWarning = (warning: Error) => warnings.push(warning)
  process.on('warning', onWarning)
  try {
    for (let k = 0; k < 12; k++) {
      const urls = [server.url(`/shared-${k}-a.jpg`), server.url(`/shared-${k}-b.jpg`)]
      const run = pull(urls, {
        out: join(dir, `shared-${k}`),
        signal: stop.signal,
        drainSignal: drain.signal,
      })
      if (k % 3 === 1) {
        for await (const _ of run) break // the caller leaves the loop early
      } else if (k % 3 === 2) {
        // A run that fails: its source throws.
        const failing = pull(
          (async function* () {
            yield urls[0]
            throw new Error('the source broke')
          })(),
          { out: join(dir, `shared-${k}`), signal: stop.signal, drainSignal: drain.signal },
        )
        await assert.rejects(async () => {
          for await (const _ of failing);
        }, /the source broke/)
      } else for await (const _ of run);
      assert.equal(getEventListeners(stop.signal, 'abort').length, 0, `run ${k}: signal`)
      assert.equal(getEventListeners(drain.signal, 'abort').length, 0, `run ${k}: drainSignal`)
    }
    // Warnings are emitted on the next tick.
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(
      warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message),
      [],
    )
  } finally {
    process.off('warning', onWarning)
  }
})

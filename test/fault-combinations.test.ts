import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { cleanup, tempDir } from './support/cli.js'
import { drawCases, fuzzRun } from './support/fault-fuzz.js'
import { type ImageServer, startImageServer } from './support/image-server.js'

// Faults two and three at a time, as real servers misbehave (scripts/fuzz-faults.ts runs the same
// check over many seeds): whatever they are, a kept file is one whole version the server served,
// a failure has a code its faults may give, a rerun touches no kept file and asks again only for
// passing failures, and nothing is left in the folder but kept files and imgpull's own state.

let server: ImageServer
let dir: string
before(async () => {
  server = await startImageServer({ record: false })
  dir = await tempDir()
})
after(async () => {
  await server.close()
  await cleanup(dir)
})

const show = (v: {
  invariant: number
  case: { kinds: string[]; path: string; query: string }
  what: string
}) => `[${v.invariant}] ${v.case.kinds.join('+')} ${v.case.path}?${v.case.query}: ${v.what}`

test('a fixed seed of fault combinations: every invariant holds for every URL, in a run and its rerun', async () => {
  const cases = drawCases(1120, 40)
  // Two retries: `times=2` still passes, and the backoff of faults that never pass stays short.
  const report = await fuzzRun(server, cases, join(dir, 'seed-1120'), { retries: 2 })
  assert.deepEqual(report.violations.map(show), [])
  // The draw is not all failures: most files come, through their faults.
  const kept = report.results.filter((r) => r.status === 'ok').length
  assert.ok(kept >= cases.length / 2, `${kept} of ${cases.length} kept`)
})

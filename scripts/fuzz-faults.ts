/**
 * A seeded fuzzer over the image server's faults in combination: for each seed it draws `--urls`
 * URLs, each with 2–3 compatible faults of test/support/image-server.ts (`times=1` or `2` on the
 * timed ones, so most can pass on a retry; `times=8` on some, outlasting the run, so that its
 * rerun resumes what it kept; one file in five of 100–600 KB, for several resumes), pulls them
 * with the library into a fresh folder against one server, pulls them again (a plain rerun), and
 * checks the invariants of test/support/fault-fuzz.ts: a kept file is one whole version the
 * server served; a failure has a code one of its faults may give; a rerun leaves kept files
 * untouched and asks again only for passing failures; nothing is left in the folder but kept
 * files and imgpull's own state; no file costs more than a few hundred requests.
 * Violations are printed with their URL's faults (replay one with `--only` and a seed, or its
 * query against the image server); exit 1 if any. `--messages` prints a failure message for each
 * code and combination of faults, to read whether each names its fault plainly.
 * test/fault-combinations.test.ts runs one fixed seed of 40 URLs in the suite.
 * `--threads N` carries the transfers on N transfer threads; `--tls h1` serves over HTTPS/1.1,
 * `--tls h2` offers HTTP/2 (where `close` and `every` mean what image-server.ts says they do there).
 * Run: node --import tsx scripts/fuzz-faults.ts [--seed 1] [--seeds 10] [--urls 100]
 *      [--only rotate,short,...] [--messages] [--threads 2] [--tls h1|h2]
 */
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { makeCerts, tlsPair } from '../test/support/certs.js'
import { tempDir } from '../test/support/cli.js'
import { drawCases, FAULTS, fuzzRun } from '../test/support/fault-fuzz.js'
import { startImageServer } from '../test/support/image-server.js'

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    seeds: { type: 'string', default: '10' },
    urls: { type: 'string', default: '100' },
    only: { type: 'string' },
    messages: { type: 'boolean', default: false },
    threads: { type: 'string', default: '0' },
    tls: { type: 'string' },
  },
})
const only = values.only?.split(',') ?? Object.keys(FAULTS)
for (const k of only)
  if (!FAULTS[k]) throw new TypeError(`--only: no fault named ${k} (${Object.keys(FAULTS).join(', ')})`)

if (values.tls && !['h1', 'h2'].includes(values.tls))
  throw new TypeError(`--tls: h1 or h2, not ${values.tls}`)
const dir = await tempDir('imgpull-fuzz-')
// `--tls h1|h2`: the server over HTTPS, HTTP/1.1 only or HTTP/2 offered (see `tls` in image-server.ts).
const certs = values.tls ? makeCerts(dir) : undefined
const tls = certs && { ...tlsPair(certs.good), http2: values.tls === 'h2' }
const options = { threads: Number(values.threads), ...(certs ? { caCert: certs.ca } : {}) }
let bad = 0
const samples = new Map<string, string>()
try {
  for (let seed = Number(values.seed); seed < Number(values.seed) + Number(values.seeds); seed++) {
    const server = await startImageServer({ record: false, seed, tls })
    const t0 = performance.now()
    try {
      const cases = drawCases(seed, Number(values.urls), only)
      const report = await fuzzRun(server, cases, join(dir, `seed-${seed}`), options)
      const ok = report.results.filter((r) => r.status === 'ok').length
      const rerunOk = report.rerun.filter((r) => r.status === 'ok').length
      console.log(
        `seed ${seed}: ${cases.length} URLs, ${ok} kept, ${cases.length - ok} failed, rerun kept ${rerunOk} more; ` +
          `${report.violations.length} violations (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
      )
      for (const v of report.violations) {
        bad++
        console.log(
          `  [${v.invariant}] ${v.case.kinds.join('+')}  ${v.case.path}?${v.case.query}\n      ${v.what}`,
        )
      }
      for (const r of report.results) {
        if (r.status !== 'failed') continue
        const kinds = report.cases.find((c) => r.job.url.includes(`${c.path}?`))?.kinds.join('+')
        if (!samples.has(`${r.error} ${kinds}`)) samples.set(`${r.error} ${kinds}`, r.message ?? '')
      }
    } finally {
      await server.close()
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true })
}
if (values.messages) for (const [key, message] of [...samples].sort()) console.log(`${key}\n    ${message}`)
process.exitCode = bad ? 1 : 0

/**
 * Peak memory and CPU of one command run on a long input, with Node flags of your choice: what the
 * README's Benchmark section gives for the heap's growth. Not part of `npm test`.
 *
 *   node --import tsx bench/memory.ts [--input list|table] [--rows 200000] [--out DIR] [--runs 2]
 *     [--sizes 100,400] [--ttfb 0] [--flags="--heap-growing-percent=0"] [--bin dist/imgpull.js [--bin OTHER/imgpull.js]]
 *     [-- extra imgpull arguments]
 *
 * Serves `rows` images (test/support/image-server.ts: tiny by default, 100–400 bytes, no latency;
 * `--sizes MIN,MAX` in bytes and `--ttfb MS`, 0–50 % more, for many-small's 20,000,200,000 and 40), writes a
 * URL list of them or a Parquet table (bench/make-table.ts, into WebDataset shards), then runs
 * `node FLAGS dist/imgpull.js INPUT -o OUT --quiet` under GNU time `runs` times, alternating with
 * the same run without FLAGS, and prints each run's peak RSS (MB), wall, user and system seconds.
 * Several `--bin`s (another build of imgpull, e.g. main's `dist/` copied to `dist-main/` beside
 * it: a build finds package.json in its parent folder) run in turn, one of each a round, on the
 * same input and server.
 * Needs `/usr/bin/time` (Debian: `time`) and a built `dist/`. `OUT` is removed before each run
 * (default: a folder under os.tmpdir()).
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { startImageServer } from '../test/support/image-server.js'
import { makeTable } from './make-table.js'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    input: { type: 'string', default: 'list' },
    rows: { type: 'string', default: '200000' },
    out: { type: 'string' },
    runs: { type: 'string', default: '2' },
    flags: { type: 'string', default: '' },
    sizes: { type: 'string', default: '100,400' },
    ttfb: { type: 'string', default: '0' },
    bin: { type: 'string', multiple: true, default: ['dist/imgpull.js'] },
  },
})
const rows = Number(values.rows)
const work = mkdtempSync(join(tmpdir(), 'imgpull-bench-memory-'))
const out = resolve(values.out ?? join(work, 'out'))
const [min, max] = values.sizes!.split(',').map(Number)
if (!(min > 0 && max >= min)) throw new Error(`--sizes takes MIN,MAX in bytes, got ${values.sizes}`)
const ttfb = Number(values.ttfb)
const server = await startImageServer({
  sizes: [min, max],
  ttfb,
  jitter: Math.round(ttfb / 2),
  record: false,
})
try {
  let input: string[]
  if (values.input === 'table') {
    const table = join(work, 'table.parquet')
    await makeTable(table, rows, { base: `${server.origin}/q` })
    input = [table, '--output-format', 'webdataset', '--caption-col', 'caption']
  } else {
    const list = join(work, 'list.txt')
    writeFileSync(
      list,
      `${Array.from({ length: rows }, (_, i) => `${server.origin}/q${i}.jpg`).join('\n')}\n`,
    )
    input = [list]
  }
  const flags = values.flags!.split(' ').filter(Boolean)
  console.log(
    `${rows.toLocaleString('en')} rows from a ${values.input} (images of ${min}–${max} bytes, ${ttfb} ms to first byte), node ${process.version}`,
  )
  const bins = values.bin!
  for (let run = 0; run < Number(values.runs); run++) {
    for (const [bin, these] of bins.flatMap((bin) =>
      (flags.length > 0 ? [flags, []] : [[]]).map((these) => [bin, these] as const),
    )) {
      rmSync(out, { recursive: true, force: true })
      const args = ['-f', '%M %e %U %S', process.execPath, ...these, resolve(bin)]
      const child = spawn('/usr/bin/time', [...args, ...input, '-o', out, '--quiet', ...positionals], {
        stdio: ['ignore', 'ignore', 'pipe'],
      })
      let err = ''
      child.stderr.on('data', (d) => (err += d))
      const code = await new Promise((r) => child.on('close', r))
      const lines = err.trim().split('\n')
      const [kb, wall, user, sys] = lines.at(-1)!.split(' ').map(Number)
      const label = `${bins.length > 1 ? `${bin} ` : ''}${these.length > 0 ? these.join(' ') : 'as the command runs'}`
      // A run that stopped (a build that cannot start: Node's error, exit 1; a usage or fatal error,
      // exit 2 or 3) measured nothing: said, not printed as a peak. Exit 1 alone is rows that failed.
      const thrown = lines.find((l) => /^\w*Error\b/.test(l))
      if (code !== 0 && (thrown !== undefined || code !== 1)) {
        console.log(`${label.padEnd(32)} failed (exit ${code}): ${thrown ?? lines.at(-3) ?? ''}`)
        continue
      }
      console.log(
        `${label.padEnd(32)} peak RSS ${(kb / 1024).toFixed(0)} MB, wall ${wall.toFixed(1)} s, user ${user.toFixed(1)} s, system ${sys.toFixed(1)} s${code === 1 ? ' (exit 1: some rows failed)' : ''}`,
      )
    }
  }
} finally {
  await server.close()
  rmSync(work, { recursive: true, force: true })
}

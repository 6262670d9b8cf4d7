import assert from 'node:assert/strict'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import Database from 'better-sqlite3'
import sharp from 'sharp'
import { hashKey } from '../src/plan/naming.js'
import { cleanup, listFiles, outputFiles, runCli, startCli, tempDir } from './support/cli.js'
import { type ImageServer, startImageServer } from './support/image-server.js'
import { seeded } from './support/images.js'
import { hyparquetRows, readTar, shardFiles } from './support/shards.js'
import { until } from './support/wait.js'

// Runs stopped at random moments (kill -9, SIGTERM, a second Ctrl-C) where today's publishing paths
// are busy: files taking their names many at a time on the linking thread (past a process's first
// 256), many WebDataset shards sealing, and resized images written into their parts. At every stop,
// whatever carries a final name is whole and journaled, and every journal `ok` has its file (at its
// name, or its verified part to take it); after a rerun, the outputs are exact, each once, nothing
// left in the work folder, and `imgpull status` agrees. The moments come from seeded generators: a
// failure names its seed, and `KILL_SEED=n` replays it.

let server: ImageServer
let dir: string
/** Real JPEGs by name (a resize needs decodable images), made once. */
const real = new Map<string, Buffer>()
/** Larger JPEGs of noise (some tens of ms of a worker each): a stop finds the workers busy. */
const noisy = new Map<string, Buffer>()

before(async () => {
  // Past 256 of them, so that the resized files take their names through the linking thread too.
  for (let i = 0; i < 300; i++) {
    const [w, h] = [120 + ((i * 37) % 200), 90 + ((i * 53) % 150)]
    const colour = { r: i % 256, g: (i * 7) % 256, b: 80 }
    real.set(
      `r-${i}`,
      await sharp({ create: { width: w, height: h, channels: 3, background: colour } })
        .jpeg({ quality: 80 })
        .toBuffer(),
    )
  }
  // Smaller than the resize asks for: kept as downloaded.
  real.set(
    'small',
    await sharp({ create: { width: 40, height: 30, channels: 3, background: '#08f' } })
      .jpeg()
      .toBuffer(),
  )
  server = await startImageServer({
    ttfb: 5,
    jitter: 20,
    sizes: [300, 3_000],
    body: (name) => real.get(name) ?? noisy.get(name),
  })
  dir = await tempDir()
})
after(async () => {
  await server.close()
  await cleanup(dir)
})

const seeds = process.env.KILL_SEED ? [Number(process.env.KILL_SEED)] : [1, 2]

interface Row {
  key: string
  url: string
  state: string
  path: string | null
  bytes: number | null
  sha256: string | null
  transformed: number | null
  error: string | null
}

function journalRows(out: string): Row[] {
  const db = new Database(join(out, '.imgpull', 'journal.db'), { readonly: true })
  try {
    return db.prepare('SELECT * FROM jobs').all() as Row[]
  } finally {
    db.close()
  }
}

const sha256 = async (data: Buffer) =>
  (await import('node:crypto')).createHash('sha256').update(data).digest('hex')

/** The part file of the job whose key is `key` (see planner.ts), and the transform stage's output beside it. */
const partOf = (out: string, key: string) => join(out, '.imgpull', 'parts', `${hashKey(key, 32)}.part`)

/**
 * What a stopped run must leave, before any rerun: every output file whole (`whole` says) and the
 * journal's `ok` at its name; every journal `ok` has its file at its name, or the verified file to
 * take it (the part, or the resized `.out` beside it) holding its recorded bytes.
 */
async function agreeAtTheStop(out: string, whole: (file: string, data: Buffer) => Promise<void>) {
  const rows = journalRows(out)
  const okByPath = new Map(rows.filter((r) => r.state === 'ok').map((r) => [r.path, r]))
  const files = await outputFiles(out)
  for (const f of files) {
    const data = await readFile(join(out, f))
    await whole(f, data)
    const row = okByPath.get(f)
    assert.ok(row, `${f} carries a final name but the journal has no ok for it`)
    assert.equal(data.length, row.bytes, `${f}: the journal's size`)
    assert.equal(await sha256(data), row.sha256, `${f}: the journal's sha256`)
  }
  const present = new Set(files)
  const parts = new Set(await readdir(join(out, '.imgpull', 'parts')).catch(() => []))
  for (const row of okByPath.values()) {
    if (present.has(row.path!)) continue
    const part = partOf(out, row.key)
    const file = row.transformed ? `${part}.out` : part
    const name = file.slice(file.lastIndexOf('/') + 1)
    assert.ok(parts.has(name), `${row.path} is journaled ok, but neither it nor its part is on the disk`)
    const data = await readFile(file)
    assert.equal(await sha256(data), row.sha256, `${row.path}: its part is not the journaled bytes`)
  }
}

/** After the rerun: every job ok once, its file exact, nothing left in the parts folder, status agrees. */
async function finished(out: string, count: number, whole: (file: string, data: Buffer) => Promise<void>) {
  const rows = journalRows(out)
  assert.equal(rows.length, count)
  assert.deepEqual(
    rows.filter((r) => r.state !== 'ok').map((r) => `${r.url}: ${r.state}`),
    [],
  )
  const files = await outputFiles(out)
  assert.deepEqual(files, rows.map((r) => r.path!).sort(), 'the files are the journal’s, each once')
  for (const f of files) await whole(f, await readFile(join(out, f)))
  assert.deepEqual(await readdir(join(out, '.imgpull', 'parts')).catch(() => []), [], 'no part or .out left')
  const status = await runCli(['status', out, '--json'])
  assert.equal(status.code, 0, status.stderr)
  const counts = JSON.parse(status.stdout).counts
  assert.equal(counts.ok, count, status.stdout)
  assert.equal(counts.failed ?? 0, 0, status.stdout)
}

async function writeList(name: string, paths: string[]): Promise<string> {
  const list = join(dir, `${name}.txt`)
  await writeFile(list, `${paths.map((p) => server.url(p)).join('\n')}\n`)
  return list
}

const exact = async (f: string, data: Buffer) =>
  assert.ok(data.equals(server.bytes(`/${f.replace(/\.jpg$/, '')}`)), `${f} is not the server's bytes`)

/** Start `args`, wait until `ready`, then a seeded pause, then `signal` (`times` over: a second one stops at once). */
async function stopAt(
  args: string[],
  ready: () => Promise<boolean>,
  pause: number,
  signal: NodeJS.Signals,
  times = 1,
) {
  const run = startCli(args)
  const ended = run.done.then(() => true)
  await until(
    'the moment to stop the run',
    async () => (await Promise.race([ended, sleep(0)])) || (await ready()),
  )
  await sleep(pause)
  for (let i = 0; i < times; i++) {
    if (i > 0) await sleep(5)
    run.child.kill(signal)
  }
  const r = await run.done
  if (signal !== 'SIGKILL' && r.code !== 0 && r.code !== 1) assert.equal(r.code, 130, r.stderr)
  return r
}

/** A whole JPEG resized to 64 px on its shorter side. */
const resized = async (f: string, data: Buffer) => {
  const meta = await sharp(data).metadata()
  assert.equal(meta.format, 'jpeg', f)
  assert.equal(Math.min(meta.width!, meta.height!), 64, `${f}: ${meta.width}x${meta.height}`)
  // Decodes to its end: not a file cut short.
  await sharp(data, { failOn: 'truncated' }).raw().toBuffer()
}

const fileCount = (out: string) => async () => (await outputFiles(out).catch(() => [])).length

for (const seed of seeds) {
  test(`kill -9 while files take their names through the linking thread (past 256 files), seed ${seed}`, async () => {
    const random = seeded(seed)
    const count = 1200
    const paths = Array.from({ length: count }, (_, i) => `/l${seed}-${i}`)
    const list = await writeList(`link-${seed}`, paths)
    const out = join(dir, `link-${seed}`)
    const args = [list, '-o', out, '--per-host', '48']
    for (let kill = 0; kill < 2; kill++) {
      const before = (await fileCount(out)()) || 0
      // The second process starts its count at 0: it reaches its own thread past its own 256th file.
      const at = before + 260 + Math.floor(random() * 300)
      const r = await stopAt(
        args,
        async () => (await fileCount(out)()) >= at,
        Math.floor(random() * 40),
        'SIGKILL',
      )
      if (r.signal !== 'SIGKILL') break // ended first: nothing to check at a stop
      await agreeAtTheStop(out, exact)
    }
    const rerun = await runCli(args)
    assert.equal(rerun.code, 0, rerun.stderr)
    await finished(out, count, exact)
  })

  test(`SIGTERM, then a second signal, while the linking thread holds files, seed ${seed}`, async () => {
    const random = seeded(100 + seed)
    const count = 1400
    const paths = Array.from({ length: count }, (_, i) => `/t${seed}-${i}`)
    const list = await writeList(`term-${seed}`, paths)
    const out = join(dir, `term-${seed}`)
    const args = [list, '-o', out, '--per-host', '48']
    // One stop: the run lets its batch land and ends with its files published and journaled.
    const at = 260 + Math.floor(random() * 300)
    const first = await stopAt(
      args,
      async () => (await fileCount(out)()) >= at,
      Math.floor(random() * 40),
      'SIGTERM',
    )
    assert.equal(first.code, 130, first.stderr)
    await agreeAtTheStop(out, exact)
    const ok = journalRows(out).filter((r) => r.state === 'ok')
    assert.deepEqual(
      await readdir(join(out, '.imgpull', 'parts')),
      [],
      'the files in the stopped batch took their names: no part is left for the next run',
    )
    assert.equal((await outputFiles(out)).length, ok.length, 'every journaled file is at its name')
    // A second signal stops at once: whatever it cuts is still whole or adoptable.
    const next = ok.length + 260 + Math.floor(random() * 100)
    await stopAt(args, async () => (await fileCount(out)()) >= next, Math.floor(random() * 40), 'SIGTERM', 2)
    await agreeAtTheStop(out, exact)
    const rerun = await runCli(args)
    assert.equal(rerun.code, 0, rerun.stderr)
    await finished(out, count, exact)
  })

  test(`kill -9 while many WebDataset shards seal, seed ${seed}`, async () => {
    const random = seeded(200 + seed)
    const rows = 240
    const path = (i: number) => (i % 37 === 5 ? `/w${seed}-${i}?status=404` : `/w${seed}-${i}`)
    const table = join(dir, `shards-${seed}.csv`)
    await writeFile(
      table,
      `url,caption\n${Array.from({ length: rows }, (_, i) => `${server.url(path(i))},caption ${i}`).join('\n')}\n`,
    )
    const shardFlags = '--output-format webdataset --shard-size 4 --caption-col caption --per-host 24'
    const args = (out: string) => [table, '-o', out, ...shardFlags.split(' ')]
    const out = join(dir, `shards-${seed}`)
    const seals = async () =>
      (await readdir(join(out, '.imgpull', 'shards')).catch(() => [])).filter((n) => n.endsWith('.seal.json'))
        .length
    for (const [signal, times] of [
      ['SIGKILL', 1],
      ['SIGTERM', 1],
      ['SIGTERM', 2],
      ['SIGKILL', 1],
    ] as const) {
      const at = (await seals()) + 1 + Math.floor(random() * 12)
      const r = await stopAt(
        args(out),
        async () => (await seals()) >= at,
        Math.floor(random() * 30),
        signal,
        times,
      )
      if (r.code === 1) break // ended first (its 404 rows)
      const work = await readdir(join(out, '.imgpull', 'shards'))
      if (signal === 'SIGTERM' && times === 1)
        assert.deepEqual(
          work.filter((n) => n.endsWith('.tmp')),
          [],
          'a clean stop leaves no output half-sealed',
        )
      // Every tar and Parquet in the folder is whole: a tar's end marker there, a Parquet read to its end.
      for (const f of await shardFiles(out)) {
        const data = await readFile(join(out, f))
        if (f.endsWith('.tar')) {
          assert.equal(data.length % 512, 0, `${f} cut`)
          assert.ok(
            data.subarray(-1024).every((b) => b === 0),
            `${f} has no end`,
          )
          assert.ok((await readTar(join(out, f))).length > 0, f)
        }
        if (f.endsWith('.parquet')) assert.ok((await hyparquetRows(join(out, f))).length > 0, f)
      }
    }
    const rerun = await runCli(args(out))
    assert.equal(rerun.code, 1, rerun.stderr) // the 404 rows
    const clean = join(dir, `shards-clean-${seed}`)
    assert.equal((await runCli(args(clean))).code, 1)
    assert.deepEqual(await shardFiles(out), await shardFiles(clean))
    const seen = new Map<string, number>()
    for (const f of await shardFiles(out)) {
      if (f.endsWith('.tar')) {
        assert.ok((await readFile(join(out, f))).equals(await readFile(join(clean, f))), `${f} differs`)
        for (const m of await readTar(join(out, f))) seen.set(m.name, (seen.get(m.name) ?? 0) + 1)
      }
      if (f.endsWith('.parquet'))
        assert.deepEqual(await hyparquetRows(join(out, f)), await hyparquetRows(join(clean, f)), `${f}: rows`)
    }
    assert.deepEqual(
      [...seen].filter(([, n]) => n !== 1),
      [],
      'each sample in exactly one tar',
    )
    const work = (await readdir(join(out, '.imgpull', 'shards'))).filter((n) => !n.endsWith('.seal.json'))
    assert.deepEqual(work, [], 'no staged sample, tar or rows file is left')
    const status = await runCli(['status', out, '--json'])
    const counts = JSON.parse(status.stdout).counts
    assert.equal(counts.ok + counts.failed, rows, status.stdout)
  })

  test(`kill -9 while resized images are written into their parts, seed ${seed}`, async () => {
    const random = seeded(300 + seed)
    const count = real.size
    const paths = [...real.keys()].map((n) => `/${n}`)
    const list = await writeList(`resize-${seed}`, paths)
    const out = join(dir, `resize-${seed}`)
    const args = [list, '-o', out, '--per-host', '16', '--resize', 'keep-ratio', '--size', '64']
    for (const signal of ['SIGKILL', 'SIGINT', 'SIGKILL'] as const) {
      const at = (await fileCount(out)()) + 1 + Math.floor(random() * 120)
      const r = await stopAt(
        args,
        async () => (await fileCount(out)()) >= at,
        Math.floor(random() * 40),
        signal,
        2,
      )
      if (r.code === 0) break // ended first: nothing to check at a stop
      await agreeAtTheStop(out, resized)
    }
    const rerun = await runCli(args)
    assert.equal(rerun.code, 0, rerun.stderr)
    await finished(out, count, resized)
    assert.deepEqual(
      (await listFiles(join(out, '.imgpull'))).filter((f) => /\.(part|out)$/.test(f)),
      [],
    )
  })
}

test('killed after a resized image was written into its part, before the journal said ok: the rerun leaves no .out behind, where it keeps the image as it came', async () => {
  // What a kill -9 leaves there: the transform stage renamed the verified part to `.out` and wrote
  // (some of) the new image into it, and the journal has no `ok` for the job. The rerun fetches it
  // again and, the image now small enough to keep (a new version at the URL), publishes the part:
  // the `.out`, which only a journaled `ok` ever publishes, was left in the work folder for good.
  const out = join(dir, 'stale-out')
  const transform = ['--resize', 'keep-ratio', '--size', '64', '--resize-only-if-bigger']
  const list = await writeList('stale-out', ['/r-1'])
  assert.equal((await runCli([list, '-o', out, ...transform])).code, 0)
  await writeFile(`${partOf(out, server.url('/small'))}.out`, real.get('r-2')!.subarray(0, 300))
  await writeList('stale-out', ['/r-1', '/small'])
  const again = await runCli([list, '-o', out, ...transform])
  assert.equal(again.code, 0, again.stderr)
  assert.ok((await readFile(join(out, 'small.jpg'))).equals(real.get('small')!), 'kept as it came')
  assert.deepEqual(await readdir(join(out, '.imgpull', 'parts')), [], 'no part or .out left')
})

test('a Ctrl-C in a terminal (SIGINT to the whole process group) while images are resized, once, then twice: no image failed, none fetched again from its first byte', async () => {
  // The terminal's signal reached the transform workers too, which died of it mid-image: the clean
  // stop journaled those images failed ("the image worker was killed by SIGINT") and deleted their
  // downloads, and the rerun fetched them again whole.
  for (let i = 0; i < 40; i++) {
    const noise = { type: 'gaussian', mean: 128, sigma: 40 } as const
    noisy.set(
      `g-${i}`,
      await sharp({ create: { width: 1200, height: 900, channels: 3, background: '#000', noise } })
        .jpeg()
        .toBuffer(),
    )
  }
  const list = await writeList(
    'group',
    [...noisy.keys()].map((n) => `/${n}`),
  )
  const out = join(dir, 'group')
  const args = [list, '-o', out, '--per-host', '8', '--resize', 'keep-ratio', '--size', '64']
  for (const times of [1, 2]) {
    const at = (await fileCount(out)()) + 3
    const run = startCli(args, { group: true })
    // The second run may have fewer than 3 images left to do (the first stop came late): it ends
    // first, and waiting for 3 more timed out.
    let ended = false
    void run.done.then(() => {
      ended = true
    })
    await until('some images resized, or the run ended', async () => ended || (await fileCount(out)()) >= at)
    for (let i = 0; i < times && !ended; i++) {
      if (i > 0) await sleep(5)
      try {
        process.kill(-run.child.pid!, 'SIGINT')
      } catch (error) {
        // Its process group gone: the run ended between the look and the signal.
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error
      }
    }
    const r = await run.done
    if (r.code === 0) break // ended first: nothing to check at a stop
    assert.equal(r.code, 130, r.stderr)
    const failed = journalRows(out).filter((row) => row.state === 'failed')
    assert.deepEqual(
      failed.map((row) => `${row.url}: ${row.error}`),
      [],
      r.stderr,
    )
    await agreeAtTheStop(out, resized)
  }
  // Downloads the stops left whole: the rerun may ask whether each is still current, never for it whole.
  const whole = new Set<string>()
  for (const row of journalRows(out)) {
    if (row.state === 'ok') continue
    const part = await readFile(partOf(out, row.key)).catch(() => undefined)
    const path = new URL(row.url).pathname
    if (part?.equals(server.bytes(path))) whole.add(path)
  }
  const from = server.log.length
  const rerun = await runCli(args)
  assert.equal(rerun.code, 0, rerun.stderr)
  await finished(out, noisy.size, resized)
  const again = server.log
    .slice(from)
    .filter((l) => !l.headers.range && whole.has(new URL(l.url, server.origin).pathname))
  assert.deepEqual(
    again.map((l) => l.url),
    [],
    'a download left whole is not fetched again from its first byte',
  )
})

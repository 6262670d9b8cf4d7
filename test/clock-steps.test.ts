import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import Database from 'better-sqlite3'
import { ownChild } from './support/children.js'
import { cleanup, outputFiles, runCli, tempDir } from './support/cli.js'
import { type ImageServer, startImageServer } from './support/image-server.js'

/**
 * This machine's clock stepped in the middle of a run (NTP, `date -s`, a VM resumed), as
 * libfaketime steps it for the CLI alone (`.ci/run` installs it): the run times its files on a
 * clock that does not step (src/utils/steady-clock.ts). The step comes while the server holds the
 * file's first answer, so it falls between the attempt's start and its answer, every time.
 */
const FAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1'

let dir: string
let server: ImageServer
/** The faketime offset file of the test running, and the offset its held path moves it to. */
const steps = new Map<string, { file: string; to: string }>()

before(async () => {
  dir = await tempDir('imgpull-clock-')
  server = await startImageServer({
    hold: (path) => {
      const step = steps.get(path)
      if (!step) return undefined
      steps.delete(path)
      return writeFile(step.file, `${step.to}\n`)
    },
  })
})
after(async () => {
  await server.close()
  await cleanup(dir)
})

/** Runs the CLI on `path` with this machine's clock stepped by `to` (`+1h`) at its first request. */
async function stepped(name: string, path: string, to: string, args: string[] = []) {
  const file = join(dir, `${name}.faketime`)
  await writeFile(file, '+0\n')
  // The server holds a path without its query.
  steps.set(path.split('?')[0]!, { file, to })
  const out = join(dir, name)
  const env = {
    LD_PRELOAD: FAKETIME,
    FAKETIME_TIMESTAMP_FILE: file,
    FAKETIME_NO_CACHE: '1',
    DONT_FAKE_MONOTONIC: '1',
  }
  const run = await runCli([server.url(path), '-o', out, ...args], { env })
  return { run, out }
}

/** The run's and its jobs' times as the journal keeps them (what the report and manifest are made from). */
function journalTimes(out: string) {
  const db = new Database(join(out, '.imgpull', 'journal.db'), { readonly: true })
  try {
    const run = db.prepare('SELECT started_at AS startedAt, ended_at AS endedAt FROM runs').get() as {
      startedAt: number
      endedAt: number
    }
    const jobs = db.prepare('SELECT state, total, finished_at AS finishedAt FROM jobs').all() as {
      state: string
      total: number
      finishedAt: number
    }[]
    return { run, jobs }
  } finally {
    db.close()
  }
}

// Needed, never skipped: a test that cannot run says so as a failure (`.ci/run` installs it).
before(() =>
  assert.ok(existsSync(FAKETIME), `libfaketime is not installed at ${FAKETIME} (apt-get install faketime)`),
)

test('the clock stepped an hour forward while a file waits out a 429: the file is retried, not failed as past --total-timeout', async () => {
  const path = '/forward.jpg?status=429&times=1&ra=1'
  const { run, out } = await stepped('forward', path, '+1h')
  assert.equal(run.code, 0, run.stderr)
  assert.deepEqual(await outputFiles(out), ['forward.jpg'])
  // The summary's time is the run's, not the step's: it said "in 1h00m".
  assert.doesNotMatch(run.stderr, /in \d+h/)
  const { run: times, jobs } = journalTimes(out)
  assert.ok(times.endedAt >= times.startedAt, `the run ends before it starts: ${JSON.stringify(times)}`)
  for (const job of jobs) assert.ok(job.total >= 0 && job.total < 600_000, `a file's time: ${job.total} ms`)
})

test("the clock stepped an hour back as a file is answered: the file is this run's, its time not negative, the run's end after its start", async () => {
  const path = '/back.jpg'
  const { run, out } = await stepped('back', path, '-1h')
  assert.equal(run.code, 0, run.stderr)
  assert.deepEqual(await outputFiles(out), ['back.jpg'])
  const { run: times, jobs } = journalTimes(out)
  assert.ok(times.endedAt >= times.startedAt, `the run ends before it starts: ${JSON.stringify(times)}`)
  assert.equal(jobs.length, 1)
  const [job] = jobs
  // The report's rule (reportItem): a file finished before its run began is an earlier run's.
  assert.ok(
    job!.finishedAt >= times.startedAt,
    `finished ${times.startedAt - job!.finishedAt} ms before its run began`,
  )
  assert.ok(job!.total >= 0, `a file's time: ${job!.total} ms`)
})

test("the clock stepped an hour back while an Unsplash run waits for its window's reset: the wait left is the window's, not an hour more", async () => {
  const file = join(dir, 'unsplash.faketime')
  await writeFile(file, '+0\n')
  const script = `import { waitForReset } from ${JSON.stringify(new URL('../src/sources/unsplash/rate-limit.ts', import.meta.url).href)}
await waitForReset(12_000, (line) => console.log(line))`
  const child = ownChild(
    spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      env: {
        ...process.env,
        LD_PRELOAD: FAKETIME,
        FAKETIME_TIMESTAMP_FILE: file,
        FAKETIME_NO_CACHE: '1',
        DONT_FAKE_MONOTONIC: '1',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  )
  const lines: string[] = []
  let buffered = ''
  // The clock steps back as the wait begins; the first countdown line says what is left.
  const said = new Promise<string>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      buffered += d
      for (let at = buffered.indexOf('\n'); at >= 0; at = buffered.indexOf('\n')) {
        const line = buffered.slice(0, at)
        buffered = buffered.slice(at + 1)
        lines.push(line)
        if (line.includes('waiting')) writeFile(file, '-1h\n').catch(reject)
        if (/left until the reset|window reset/.test(line)) resolve(line)
      }
    })
    child.once('exit', () => resolve(lines.at(-1) ?? ''))
  })
  try {
    const line = await said
    // 12 s waited in ticks: 10 s are left after the first (the wall clock said 1:00:10).
    assert.match(line, /: 0:1\d left until the reset|window reset/, lines.join('\n'))
  } finally {
    child.kill('SIGKILL')
  }
})

test("the clock stepped an hour back as a WebDataset shard's file is answered: the shard's _stats.json ends after it starts", async () => {
  const { run, out } = await stepped('shard', '/shard.jpg', '-1h', ['--output-format', 'webdataset'])
  assert.equal(run.code, 0, run.stderr)
  const stats = JSON.parse(await readFile(join(out, '00000_stats.json'), 'utf8')) as {
    successes: number
    start_time: number
    end_time: number
    duration: number
  }
  assert.equal(stats.successes, 1)
  assert.ok(stats.duration >= 0 && stats.end_time >= stats.start_time, JSON.stringify(stats))
})

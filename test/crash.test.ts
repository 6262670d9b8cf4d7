import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import {
  appendFile,
  link,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { hashKey } from '../src/plan/naming.js'
import { fileSizeLimit } from '../src/sinks/local-faults.js'
import { CLI, cleanup, count, outputFiles, runCli, startCli, tempDir } from './support/cli.js'
import { type ImageServer, startImageServer } from './support/image-server.js'
import { BODY_PATHS, resumeRange } from './support/resume.js'
import { growDisk, onSmallDisk, until } from './support/wait.js'

let server: ImageServer
let dir: string
before(async () => {
  // Slow enough that a run is still going when the test kills it.
  server = await startImageServer({ ttfb: 30, bandwidth: 400_000, sizes: [20_000, 200_000] })
  dir = await tempDir()
})
after(async () => {
  await server.close()
  await cleanup(dir)
})

/** Wait until the run has really started: its first file is there. */
async function firstFile(out: string) {
  for (let i = 0; i < 200; i++) {
    if ((await outputFiles(out).catch(() => [])).length > 0) return
    await sleep(25)
  }
  throw new Error(`no file appeared in ${out}`)
}

async function writeList(name: string, count: number): Promise<{ list: string; paths: string[] }> {
  const paths = Array.from({ length: count }, (_, i) => `/${name}-${i}`)
  const list = join(dir, `${name}.txt`)
  await writeFile(list, paths.map((p) => server.url(p)).join('\n'))
  return { list, paths }
}

/** A run that fills the disk: it stops with exit 3, saying so. */
async function runToFullDisk(args: string[]) {
  const r = await runCli(args)
  assert.equal(r.code, 3, r.stderr)
  assert.match(r.stderr, /no space left on device/)
  return r
}

async function assertExact(out: string, paths: string[]) {
  const files = await outputFiles(out)
  assert.deepEqual(files, paths.map((p) => `${p.slice(1)}.jpg`).sort())
  for (const p of paths) {
    assert.ok((await readFile(join(out, `${p.slice(1)}.jpg`))).equals(server.bytes(p)), `${p} differs`)
  }
  assert.deepEqual(await readdir(join(out, '.imgpull', 'parts')), [], 'no temporary files remain')
}

test('kill -9 mid-run, then rerun: every file exact, nothing complete fetched twice', async () => {
  const out = join(dir, 'crash')
  const { list, paths } = await writeList('crash', 300)
  const { child, done } = startCli([list, '-o', out, '--per-host', '24'])
  await firstFile(out)
  await sleep(800)
  child.kill('SIGKILL')
  const killed = await done
  assert.equal(killed.signal, 'SIGKILL')

  const survivors = await outputFiles(out)
  assert.ok(survivors.length > 0 && survivors.length < paths.length, `${survivors.length} done at the kill`)
  // Whatever carries a final name is already whole.
  for (const f of survivors) {
    assert.ok((await readFile(join(out, f))).equals(server.bytes(`/${f.replace(/\.jpg$/, '')}`)), f)
  }
  const before = new Map(paths.map((p) => [p, server.hits.get(p) ?? 0]))

  const rerun = await runCli([list, '-o', out, '--per-host', '24'])
  assert.equal(rerun.code, 0, rerun.stderr)
  for (const f of survivors) {
    const p = `/${f.replace(/\.jpg$/, '')}`
    assert.equal(server.hits.get(p), before.get(p), `${p} was complete but fetched again`)
  }
  await assertExact(out, paths)
  // "Already done" also counts what the journal had finished but the kill left without its name
  // (published from its part with no request; the next test): so at least the survivors, and
  // exactly the images the rerun did not ask for.
  const said = /([\d,]+) images?, .*?([\d,]+) already done/.exec(rerun.stderr)
  assert.ok(said, rerun.stderr)
  const [fetched, alreadyDone] = [count(said[1]), count(said[2])]
  assert.equal(fetched + alreadyDone, paths.length, rerun.stderr)
  assert.ok(
    alreadyDone >= survivors.length,
    `${alreadyDone} already done, ${survivors.length} files at the kill`,
  )
  const notAsked = paths.filter((p) => server.hits.get(p) === before.get(p))
  assert.equal(notAsked.length, alreadyDone, 'the images not asked for again are the ones said to be done')
})

test('killed between the journal and the name: the verified part takes its name on rerun, with no request', async () => {
  // What a kill -9 leaves when it lands after the journal said ok and before the file took its
  // name: the record, and the verified part under .imgpull/parts.
  const { list, paths } = await writeList('window', 3)
  const out = join(dir, 'window')
  assert.equal((await runCli([list, '-o', out])).code, 0)
  const partOf = (path: string) => join(out, '.imgpull', 'parts', `${hashKey(server.url(path), 32)}.part`)
  await rename(join(out, 'window-0.jpg'), partOf('/window-0'))
  // Another whose part does not hold the recorded bytes: fetched again, never published as it is.
  await rm(join(out, 'window-1.jpg'))
  await writeFile(partOf('/window-1'), Buffer.alloc(server.bytes('/window-1').length, 1))
  const before = server.log.length
  const again = await runCli([list, '-o', out])
  assert.equal(again.code, 0, again.stderr)
  assert.deepEqual(
    server.log.slice(before).map((r) => r.url),
    ['/window-1'],
    'only the image whose part was not its bytes is asked for',
  )
  await assertExact(out, paths)
})

test('killed between the name and removing the part, the file then edited in place: the rerun never writes through the part into it', async () => {
  // A kill -9 after `link(part, name)` and before `unlink(part)` leaves the part as a second name
  // of the published file. Edited in place since (another size), the job is fetched again: into a
  // part of its own, never through that second name into the edited file.
  const { list } = await writeList('linked', 1)
  const out = join(dir, 'linked')
  assert.equal((await runCli([list, '-o', out])).code, 0)
  const url = server.url('/linked-0')
  await link(join(out, 'linked-0.jpg'), join(out, '.imgpull', 'parts', `${hashKey(url, 32)}.part`))
  await appendFile(join(out, 'linked-0.jpg'), 'an edit')
  const edited = await readFile(join(out, 'linked-0.jpg'))
  const again = await runCli([list, '-o', out])
  assert.equal(again.code, 0, again.stderr)
  assert.ok((await readFile(join(out, 'linked-0.jpg'))).equals(edited), 'the edited file is left as it is')
  const [variant] = (await outputFiles(out)).filter((f) => f !== 'linked-0.jpg')
  assert.ok(
    (await readFile(join(out, variant))).equals(server.bytes('/linked-0')),
    'the image under a variant',
  )
  assert.deepEqual(await readdir(join(out, '.imgpull', 'parts')), [])
})

test('Ctrl-C stops cleanly (exit 130, says how to continue); a second one stops at once', async () => {
  const out = join(dir, 'sigint')
  const { list, paths } = await writeList('sigint', 200)
  const first = startCli([list, '-o', out, '--per-host', '8'])
  await firstFile(out)
  await sleep(300)
  first.child.kill('SIGINT')
  const stopped = await first.done
  assert.equal(stopped.code, 130, stopped.stderr)
  assert.match(stopped.stderr, /Stopping: finishing transfers in flight/)
  assert.match(stopped.stderr, /left for the next run/)
  assert.match(stopped.stderr, /Run the same command again to continue/)
  assert.deepEqual(await readdir(join(out, '.imgpull', 'parts')), [], 'in-flight transfers were finished')

  const sent = server.stats.requests
  const second = startCli([list, '-o', out, '--per-host', '8', '--grace', '30'])
  // Its handlers are set before its first request: a fixed sleep let a loaded machine's SIGINT
  // come before them, and Node's default action killed the run (exit code null).
  await until('the second run to send requests', () => server.stats.requests > sent)
  second.child.kill('SIGINT')
  await sleep(100)
  const t0 = performance.now()
  second.child.kill('SIGINT')
  const aborted = await second.done
  assert.equal(aborted.code, 130)
  assert.ok(performance.now() - t0 < 15_000, 'the second Ctrl-C does not wait for the 30 s grace period')

  const last = await runCli([list, '-o', out])
  assert.equal(last.code, 0, last.stderr)
  await assertExact(out, paths)
})

test('SIGTERM (systemd, docker stop, kill) is acknowledged as itself, not as a Ctrl-C; a second SIGTERM stops at once', async () => {
  // It said "press Ctrl-C again to stop now" to a stop that came from no keyboard.
  const out = join(dir, 'sigterm')
  const { list } = await writeList('sigterm', 200)
  const sent = server.stats.requests
  const run = startCli([list, '-o', out, '--per-host', '8', '--grace', '30'])
  await until('the run to send requests', () => server.stats.requests > sent)
  let stderr = ''
  run.child.stderr?.on('data', (d) => {
    stderr += d
  })
  run.child.kill('SIGTERM')
  await until('the stop to be acknowledged', () => /Stopping/.test(stderr))
  const t0 = performance.now()
  run.child.kill('SIGTERM')
  const stopped = await run.done
  assert.equal(stopped.code, 130, stopped.stderr)
  assert.ok(performance.now() - t0 < 15_000, 'the second SIGTERM does not wait for the 30 s grace period')
  assert.match(
    stopped.stderr,
    /^Stopping on SIGTERM: finishing transfers in flight \(up to 30 s\); a second SIGTERM or SIGINT stops now\.$/m,
  )
  assert.doesNotMatch(stopped.stderr, /Ctrl-C/)
})

test('disk full: the run stops with one clear error and leaves nothing corrupt', (t) =>
  onSmallDisk(t, join(dir, 'small-disk'), '1500k', async (mnt) => {
    const out = join(mnt, 'out')
    const { list } = await writeList('full', 60)
    const r = await runToFullDisk([list, '-o', out])
    assert.match(r.stderr, /files already saved are complete/)
    for (const f of await outputFiles(out)) {
      assert.ok(
        (await readFile(join(out, f))).equals(server.bytes(`/${f.replace(/\.jpg$/, '')}`)),
        `${f} corrupt`,
      )
    }
    // Transfers that ended while the run stopped are saved: the closing line counts them too.
    const saved = (await outputFiles(out)).length
    assert.match(
      r.stderr,
      new RegExp(`\\b${saved} images?, `),
      `${saved} files saved; the closing line: ${r.stderr}`,
    )
  }))

test('disk full on a long list: the closing line counts the lines never read, so its counts add up to the list', (t) =>
  onSmallDisk(t, join(dir, 'small-disk-long'), '1500k', async (mnt) => {
    // It said `17 images, …, 0 failed, 2037 left for the next run` of 20,000 lines: the rest of the
    // list, never read, was in no count (nor in --json's summary).
    const out = join(mnt, 'out')
    const { list } = await writeList('full-long', 5000)
    const r = await runToFullDisk([list, '-o', out])
    const line =
      /([\d,]+) images?, .*, ([\d,]+) failed(?:, ([\d,]+) left for the next run)?, ([\d,]+) not reached\n/.exec(
        r.stderr,
      )
    assert.ok(line, r.stderr)
    const [ok, failed, left, unread] = line.slice(1).map(count)
    assert.equal(ok + failed + left + unread, 5000, line[0])
    assert.ok(unread > 0, line[0])
    await rm(out, { recursive: true })
    const json = await runCli([list, '-o', out, '--json'])
    assert.equal(json.code, 3, json.stderr)
    const { summary } = JSON.parse(json.stdout.trim().split('\n').at(-1) as string)
    // --json lines apart from stderr leave it the progress, the list counted in the background as
    // without --json: the lines never read are in the summary's count too.
    const { ok: o, failed: f, interrupted: i, notRead } = summary
    assert.equal(o + f + i + notRead, 5000, json.stdout.slice(-400))
    assert.ok(notRead > 0, 'the rest of the list was not read')
  }))

test("disk full with --threads: the same clear stop (exit 3), not a crash from a thread's message", (t) =>
  onSmallDisk(t, join(dir, 'small-disk-threads'), '1500k', async (mnt) => {
    // the journal's batch commit failed first (bodies are written on the threads), and
    // the next write, made from a thread's message handler, threw out of it: a stack trace of
    // `SqliteError: database or disk is full`, exit 1.
    const out = join(mnt, 'out')
    const paths = Array.from({ length: 60 }, (_, i) => `/full-threads-${i}?size=40000`)
    const list = join(dir, 'full-threads.txt')
    await writeFile(list, paths.map((p) => server.url(p)).join('\n'))
    const r = await runToFullDisk([list, '-o', out, '--threads', '2'])
    assert.match(r.stderr, /no space left on device; stopped, files already saved are complete/)
    assert.doesNotMatch(r.stderr, /SqliteError|\n\s+at /)
    for (const f of await outputFiles(out))
      assert.ok(
        (await readFile(join(out, f))).equals(server.bytes(`/${f.replace(/\.jpg$/, '')}?size=40000`)),
        `${f} corrupt`,
      )
  }))

test("disk full: the message says what imgpull's own part files hold of the space", (t) =>
  onSmallDisk(t, join(dir, 'parts-disk'), '1000k', async (mnt) => {
    const out = join(mnt, 'out')
    const list = join(dir, 'parts-full.txt')
    await writeFile(list, `${server.url('/parts-huge?size=1400000')}\n`)
    const r = await runToFullDisk([list, '-o', out])
    // Its part stays for the rerun to resume: the message says so, and how much it holds.
    const m = /partial downloads in (\S+) hold ([\d.]+ [kM]B): a rerun resumes them/.exec(r.stderr)
    assert.ok(m, r.stderr)
    assert.equal(m[1], join(out, '.imgpull', 'parts'))
  }))

for (const [name, how] of Object.entries(BODY_PATHS))
  test(`disk full, then room made: the rerun resumes the part from its bytes on disk, not from byte 0 (${name})`, (t) =>
    onSmallDisk(
      t,
      join(dir, `resume-disk-${how.threads ?? how.outputFormat ?? 'main'}`),
      '1000k',
      async (mnt) => {
        // the validators were set in the journal's batch as the body first went to its part,
        // and its commit came after the part had filled the disk (SQLITE_FULL): the rerun found none
        // and fetched the file from byte 0, though the stop had said "a rerun resumes them".
        const fast = await startImageServer()
        t.after(() => fast.close())
        const out = join(mnt, 'out')
        const path = '/resume-after-full?size=1400000'
        const list = join(mnt, 'list.txt')
        await writeFile(list, `${fast.url(path)}\n`)
        const args = [list, '-o', out, ...(how.threads ? ['--threads', String(how.threads)] : [])]
        if (how.outputFormat) args.push('--output-format', how.outputFormat)
        const first = await runToFullDisk(args)
        assert.match(first.stderr, /no space left on device.*a rerun resumes them/)
        const parts = await readdir(join(out, '.imgpull', 'parts'))
        assert.equal(parts.length, 1, parts.join(', '))
        const kept = (await stat(join(out, '.imgpull', 'parts', parts[0]))).size
        assert.ok(kept > 100_000, `${kept} bytes kept`)
        growDisk(mnt)
        const sent = fast.log.length
        const second = await runCli(args)
        assert.equal(second.code, 0, second.stderr)
        assert.deepEqual(
          fast.log.slice(sent).map((r) => r.headers.range),
          [resumeRange(kept)],
          'one request, resuming the bytes on disk',
        )
        if (!how.outputFormat)
          assert.ok(
            (await readFile(join(out, 'resume-after-full.jpg'))).equals(fast.bytes(path)),
            'the file differs',
          )
      },
    ))

test('disk full while a file without validators came: its part goes, and the stop does not say a rerun resumes it', (t) =>
  onSmallDisk(t, join(dir, 'unproven-disk'), '1000k', async (mnt) => {
    // Only the run that fetched it could resume it (no ETag, no Last-Modified): a rerun fetches it
    // from byte 0, and the part held the full disk's space meanwhile.
    const fast = await startImageServer()
    t.after(() => fast.close())
    const out = join(mnt, 'out')
    const list = join(mnt, 'list.txt')
    await writeFile(list, `${fast.url('/unproven-full?size=1400000&lmonly=1&nolm=1')}\n`)
    const r = await runToFullDisk([list, '-o', out])
    assert.doesNotMatch(r.stderr, /a rerun resumes/)
    assert.deepEqual(await readdir(join(out, '.imgpull', 'parts')), [])
  }))

test('a write cut short by a file-size limit (ulimit -f) stops the run; no cut file is kept or called ok', async () => {
  // RLIMIT_FSIZE makes a write that crosses it return a short count, with no error (Node ignores
  // SIGXFSZ); only the next write fails (EFBIG). A body written in one go is the silent case.
  const out = join(dir, 'fsize')
  const paths = ['/fs-small?size=60000', '/fs-big?size=300000', '/fs-other?size=90000']
  const list = join(dir, 'fsize.txt')
  await writeFile(list, paths.map((p) => server.url(p)).join('\n'))
  const { code, stderr } = await runUnderFileLimit(200, [list, '-o', out])
  assert.equal(code, 3, stderr)
  assert.match(stderr, /file too large .*ulimit -f/)
  const files = await outputFiles(out)
  assert.ok(!files.includes('fs-big.jpg'), `the cut image was kept: ${files.join(', ')}`)
  for (const f of files) {
    const path = paths.find((p) => p.startsWith(`/${f.replace(/\.jpg$/, '')}?`))!
    assert.ok((await readFile(join(out, f))).equals(server.bytes(path)), `${f} differs from the server's`)
  }
})

/** The built CLI with `args` under `ulimit -f kib` (the limit on the size of a file it writes). */
async function runUnderFileLimit(
  kib: number,
  args: string[],
): Promise<{ code: number | null; stderr: string }> {
  const child = spawn('bash', ['-c', `ulimit -f ${kib}; exec "$0" "$@"`, process.execPath, CLI, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (d) => {
    stderr += d
  })
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  return { code, stderr }
}

test('a journal that grows past the limit on file sizes (ulimit -f) is said so, not as a journal to make writable; the rerun finishes', async () => {
  // SQLite says "disk I/O error" of its WAL's write cut short: it was said as `cannot write the
  // journal …: input/output error; make it writable, or run with --no-journal`.
  const out = join(dir, 'wal-limit')
  const list = join(dir, 'wal-limit.txt')
  await writeFile(list, Array.from({ length: 300 }, (_, i) => server.url(`/wl-${i}?size=2000`)).join('\n'))
  const { code, stderr } = await runUnderFileLimit(100, [list, '-o', out, '-q', '--no-report'])
  assert.equal(code, 3, stderr)
  assert.ok(
    stderr.includes(
      `imgpull: cannot write the journal ${join(out, '.imgpull', 'journal.db')}: file too large`,
    ),
    stderr,
  )
  assert.match(stderr, /raise the limit on file sizes \(ulimit -f\)/)
  const rerun = await runCli([list, '-o', out, '-q', '--no-report'])
  assert.equal(rerun.code, 0, rerun.stderr)
  assert.equal((await outputFiles(out)).filter((f) => f.startsWith('wl-')).length, 300)
})

test('fileSizeLimit reads the soft limit of /proc/self/limits', () => {
  const limits = (soft: string) =>
    `Limit                     Soft Limit           Hard Limit           Units\nMax file size             ${soft.padEnd(21)}unlimited            bytes\n`
  for (const [soft, limit] of [
    ['unlimited', undefined],
    ['153600', 153_600],
    ['0', 0],
  ] as const)
    assert.equal(fileSizeLimit(limits(soft)), limit, soft)
  assert.equal(fileSizeLimit(''), undefined)
})

test('a write without room in a .imgpull on another disk than the output folder names .imgpull, not the output folder', async () => {
  // A part file's write names no file: the output folder was named (`cannot write photos: file too
  // large…`, or `no space left on device`), whose disk had room, where `.imgpull` is a link to
  // another (a local disk beside an output folder on a network share or a memory card).
  const disks = ['/dev/shm', process.cwd()]
  const here = (await stat(dir)).dev
  const other = (await Promise.all(disks.map((d) => stat(d).catch(() => undefined)))).findIndex(
    (s) => s?.isDirectory() && s.dev !== here,
  )
  assert.ok(other >= 0, `a folder on another disk than ${dir}: one of ${disks.join(', ')}`)
  const work = await mkdtemp(join(disks[other], '.imgpull-test-work-'))
  try {
    const out = join(dir, 'linked-work')
    await mkdir(out)
    await symlink(work, join(out, '.imgpull'))
    const list = join(dir, 'linked-work.txt')
    await writeFile(list, server.url('/lw-big?size=300000'))
    const { code, stderr } = await runUnderFileLimit(200, [list, '-o', out, '--no-journal'])
    assert.equal(code, 3, stderr)
    assert.ok(stderr.includes(`imgpull: cannot write ${join(out, '.imgpull')}: file too large`), stderr)
  } finally {
    await rm(work, { recursive: true, force: true })
  }
})

test('a run killed while it wrote its manifest: the next run removes the half-written copy', async () => {
  const { list } = await writeList('tmpleft', 2)
  const out = join(dir, 'tmpleft')
  const first = await runCli([list, '-o', out])
  assert.equal(first.code, 0, first.stderr)
  // A process that writes the manifest's temporary file where a run does, then dies as a kill -9
  // would leave it (a manifest of millions of lines takes seconds to write).
  const layoutModule = new URL('../src/layout.ts', import.meta.url).href
  const script = `const { layout } = await import(${JSON.stringify(layoutModule)}); const { writeFileSync } = await import('node:fs'); writeFileSync(layout(${JSON.stringify(out)}).tmp('manifest.jsonl'), '{"url":"half a line')`
  const killed = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: 'inherit',
  })
  assert.equal(await new Promise((resolve) => killed.on('exit', resolve)), 0)
  const left = (await readdir(join(out, '.imgpull'))).filter((n) => n.endsWith('.tmp'))
  assert.equal(left.length, 1, 'the dead process left its temporary manifest')

  const rerun = await runCli([list, '-o', out])
  assert.equal(rerun.code, 0, rerun.stderr)
  assert.deepEqual(
    (await readdir(join(out, '.imgpull'))).filter((n) => n.endsWith('.tmp')),
    [],
    'no temporary file is left',
  )
})

test("a run the folder's lock refuses leaves the holder's temporary files alone, though their process looks ended from here", async () => {
  const { list } = await writeList('tmpheld', 40)
  const out = join(dir, 'tmpheld')
  const holder = startCli([list, '-o', out, '--per-host', '2'])
  await firstFile(out)
  // The holder's manifest being written by a process this run cannot see: same host name, another
  // PID namespace (a container on the host's network, a cloned machine over NFS). Its PID is one
  // that has no process here, as a PID of another namespace may not.
  const gone = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
  await new Promise((resolve) => gone.on('exit', resolve))
  const name = `manifest.jsonl.${hostname()}.${gone.pid}.tmp`
  await writeFile(join(out, '.imgpull', name), '{"url":"a line being written')
  const refused = await runCli([list, '-o', out])
  assert.equal(refused.code, 2, refused.stderr)
  assert.match(refused.stderr, /is in use by another imgpull run/)
  assert.ok(
    (await readdir(join(out, '.imgpull'))).includes(name),
    "the refused run removed the holder's temporary manifest",
  )
  holder.child.kill('SIGKILL')
  await holder.done
  // Under the lock, the next run removes it: no process of this host has that PID.
  const rerun = await runCli([list, '-o', out])
  assert.equal(rerun.code, 0, rerun.stderr)
  assert.ok(!(await readdir(join(out, '.imgpull'))).includes(name), 'the stale one is removed under the lock')
})

test('a run killed mid-write of its journal at rest (a rollback journal left hot): status and report read the folder, as they do after any kill', async () => {
  // At rest the journal is in rollback mode; a run killed as it opened it (its switch to WAL,
  // between writing journal.db-journal and removing it) left that file "hot", and `imgpull status`
  // and `report`, which open the journal read-only, failed with SQLITE_READONLY_ROLLBACK (exit 3)
  // until the next pull. A process that writes to the journal as a run does, SIGKILLed mid-write,
  // leaves that state.
  const { list } = await writeList('hot', 3)
  const out = join(dir, 'hot')
  assert.equal((await runCli([list, '-o', out])).code, 0)
  const journal = join(out, '.imgpull', 'journal.db')
  const script = `const Database = (await import('better-sqlite3')).default
const db = new Database(${JSON.stringify(journal)})
// More than its cache holds: SQLite syncs the rollback journal and writes pages into the journal
// file before the commit, the moment a kill leaves the rollback journal hot.
db.pragma('cache_size = 8')
db.exec('BEGIN IMMEDIATE')
db.prepare("UPDATE jobs SET state = 'pending'").run()
db.exec('CREATE TABLE filler (x BLOB)')
for (let i = 0; i < 100; i++) db.prepare('INSERT INTO filler VALUES (zeroblob(4000))').run()
process.stdout.write('mid-write\\n')
setInterval(() => {}, 1000)`
  const writer = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  await new Promise((resolve) => writer.stdout?.once('data', resolve))
  writer.kill('SIGKILL')
  await new Promise((resolve) => writer.on('exit', resolve))
  assert.ok((await stat(`${journal}-journal`)).size > 0, 'the killed writer left its rollback journal')

  const status = await runCli(['status', out, '--json'])
  assert.equal(status.code, 0, status.stderr)
  assert.deepEqual(JSON.parse(status.stdout).counts, { ok: 3 }, 'the write the kill cut is not seen')
  const report = await runCli(['report', out])
  assert.equal(report.code, 0, report.stderr)
  const failed = await runCli(['status', out, '--failed'])
  assert.equal(failed.code, 0, failed.stderr)
  assert.equal(failed.stdout, '')
})

test('disk full as the journal plans the list: the row whose plan the full disk refused is in the counts, which add up to the list', (t) =>
  onSmallDisk(t, join(dir, 'small-disk-plan'), '256k', async (mnt) => {
    // Long URLs fill the journal's pages before any image arrives: the full disk refuses a row's
    // plan, not a file. The row read but never planned was in no count (4,999 of 5,000).
    const out = join(mnt, 'out')
    const pad = 'x'.repeat(400)
    const list = join(dir, 'plan-full.txt')
    await writeFile(
      list,
      Array.from({ length: 3_000 }, (_, i) => server.url(`/plan-full-${i}?${pad}`)).join('\n'),
    )
    const r = await runToFullDisk([list, '-o', out])
    const line =
      /([\d,]+) images?, .*, ([\d,]+) failed(?:, ([\d,]+) left for the next run)?(?:, ([\d,]+) not reached)?\n/.exec(
        r.stderr,
      )
    assert.ok(line, r.stderr)
    const [ok, failed, left, unread] = line.slice(1).map(count)
    assert.equal(ok + failed + left + unread, 3_000, line[0])
  }))

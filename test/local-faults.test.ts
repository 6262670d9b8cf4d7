import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { pull, type Result } from '../src/index.js'
import { hashKey } from '../src/plan/naming.js'
import {
  fileSizeLimit,
  isFatalLocal,
  localFault,
  NO_INODES_WORDS,
  outOfInodes,
  tooLargeWords,
  tooLongWords,
} from '../src/sinks/local-faults.js'
import { CLI, cleanup, outputFiles, runCli, tempDir } from './support/cli.js'
import { type ImageServer, startImageServer } from './support/image-server.js'

let server: ImageServer
let dir: string
before(async () => {
  ;[server, dir] = await Promise.all([startImageServer({ record: false }), tempDir()])
})
after(() => Promise.all([server.close(), cleanup(dir)]))

const urls = (n: number) => Array.from({ length: n }, (_, i) => server.url(`/long${i}.jpg?size=2000`))

/** A path of `bytes` bytes under `base`, of names of at most 200 bytes. */
function pathOf(base: string, bytes: number): string {
  let path = base
  while (Buffer.byteLength(path) + 201 <= bytes) path += `/${'d'.repeat(200)}`
  const rest = bytes - Buffer.byteLength(path) - 1
  return rest > 0 ? `${path}/${'e'.repeat(rest)}` : path
}

test('a path too long is said with the limit it is over: a name over 255 bytes, or the whole path over 4095', () => {
  const cases: [string | undefined, RegExp][] = [
    [
      `/tmp/${'x'.repeat(300)}/a`,
      /^the name 'x{16}…' in it is 300 bytes, longer than a file system takes \(255\)$/,
    ],
    // Bytes, not characters: 128 two-byte letters are 256 bytes.
    [
      `/tmp/${'é'.repeat(128)}`,
      /^the name 'é{16}…' in it is 256 bytes, longer than a file system takes \(255\)$/,
    ],
    [pathOf('/tmp', 4200), /^its path is 4200 bytes, longer than the system takes \(4095\)$/],
    [`/tmp/${'x'.repeat(255)}`, /^its path is too long for this system$/],
    [undefined, /^its path is too long$/],
  ]
  for (const [path, words] of cases) assert.match(tooLongWords(path), words, String(path?.length))
})

test('an output folder with a name longer than a file system takes stops at start with one line naming the limit, not ENAMETOOLONG', async () => {
  const out = join(dir, 'x'.repeat(300))
  const r = await runCli([...urls(2), '-o', out, '--no-report'])
  assert.equal(r.code, 3, r.stderr)
  const lines = r.stderr.trim().split('\n')
  assert.equal(lines.length, 1, r.stderr)
  assert.match(
    lines[0] ?? '',
    /^imgpull: cannot create output folder \S+: the name 'x{16}…' in it is 300 bytes, longer than a file system takes \(255\); choose an output folder with a shorter path/,
  )
  assert.doesNotMatch(r.stderr, /ENAMETOOLONG|make it writable/)
})

test('an output folder whose part files would pass the longest path stops the run with one line, not each file failed as bad-name', async () => {
  // Room for the run's own parts folder (`.imgpull/parts/nojournal-HOST-PID-RANDOM`, a PID of up to
  // 7 digits), not for a part's name in it (32 hex digits and `.part`).
  const parts = `/.imgpull/parts/nojournal-${hostname()}-1234567-abcdef12`
  const out = pathOf(join(dir, 'deep'), 4095 - Buffer.byteLength(parts))
  const r = await runCli([...urls(6), '-o', out, '--no-journal', '--no-report', '--retries', '0'])
  assert.equal(r.code, 3, r.stderr)
  assert.doesNotMatch(r.stderr, /bad-name|ENAMETOOLONG/)
  const said = r.stderr.split('\n').filter((line) => line.startsWith('imgpull: '))
  assert.equal(said.length, 1, r.stderr)
  assert.match(
    said[0] ?? '',
    /: its path is 41\d\d bytes, longer than the system takes \(4095\); .*choose an output folder with a shorter path/,
  )
})

test('a disk that refused a write for want of room is out of inodes where they are the scarcer, not out of space', () => {
  // NLnetLabs/routinator#785, ipfs/kubo#3444: ENOSPC on a disk of many small files (a tmpfs
  // mounted with nr_inodes), `df -h` showing space left: "no space left on device" sent the user
  // to free space, where files were the want.
  for (const [disk, inodes] of [
    [{ files: 40, ffree: 0, blocks: 25_600, bavail: 25_000 }, true],
    // The run's temporaries are gone by the time the stop is said: a few inodes free again.
    [{ files: 40, ffree: 4, blocks: 25_600, bavail: 25_000 }, true],
    [{ files: 50_000_000, ffree: 20_000, blocks: 1e9, bavail: 4e8 }, true],
    [{ files: 1_000_000, ffree: 900_000, blocks: 768, bavail: 2 }, false],
    // A file too large for a small disk, its copy removed: both near whole again, and space it was.
    [{ files: 2_000_000, ffree: 1_999_996, blocks: 256, bavail: 256 }, false],
    // A small disk of few inodes, full of space.
    [{ files: 40, ffree: 30, blocks: 256, bavail: 0 }, false],
    [{ files: 1_000_000, ffree: 900_000, blocks: 768, bavail: 0 }, false],
    // Btrfs counts no inodes (0 of 0): out of space.
    [{ files: 0, ffree: 0, blocks: 768, bavail: 0 }, false],
    [undefined, false],
  ] as const)
    assert.equal(outOfInodes(disk), inodes, JSON.stringify(disk))
  // A disk with room for both, as this one: a want of room is said as space, as before.
  const full = localFault(Object.assign(new Error('write'), { code: 'ENOSPC' }), 'output', dir)
  assert.match(`${full.message}; ${full.hint}`, /: no space left on device; free some space/)
  assert.match(NO_INODES_WORDS, /^no free inodes left on device .*df -i/)
})

test('SQLite extended codes are taken for their family: a local fault, said in its words', () => {
  const fault = (code: string) => Object.assign(new Error('SQLite said so'), { code })
  for (const [code, fatal] of [
    ['SQLITE_READONLY_DIRECTORY', true],
    ['SQLITE_READONLY_DBMOVED', true],
    ['SQLITE_CORRUPT_INDEX', true],
    ['SQLITE_CANTOPEN_ISDIR', true],
    ['SQLITE_IOERR_SHMOPEN', true],
    ['SQLITE_FULL', true],
    ['SQLITE_BUSY', false],
    ['SQLITE_CONSTRAINT_UNIQUE', false],
    ['ECONNRESET', false],
  ] as const)
    assert.equal(isFatalLocal(fault(code)), fatal, code)
  const said = (code: string) => {
    const f = localFault(fault(code), 'journal', 'photos/.imgpull/journal.db')
    return `${f.message}; ${f.hint}`
  }
  assert.equal(
    said('SQLITE_READONLY_DIRECTORY'),
    'cannot write the journal photos/.imgpull/journal.db: its folder cannot be written to; make its folder writable, or run with `journal: false`',
  )
  // No limit on file sizes in this process: the file system's own is the one met, which another
  // disk's may not have (a limit of the process's would meet it there too: raised, not moved).
  assert.equal(fileSizeLimit(), undefined, 'the tests run without ulimit -f')
  assert.equal(
    said('EFBIG'),
    "cannot write the journal photos/.imgpull/journal.db: file too large for this file system or for the limit on file sizes (ulimit -f); choose an output folder with `out` on another disk (this one's file system takes no file so large)",
  )
  assert.equal(
    said('SQLITE_READONLY_RECOVERY'),
    'cannot write the journal photos/.imgpull/journal.db: it is read-only; make it writable, or run with `journal: false`',
  )
  assert.match(
    said('SQLITE_CORRUPT_INDEX'),
    /^cannot use the journal \S+: it is damaged; move \.imgpull\/ away/,
  )
  // fusefat, some FUSE and network file systems: writable, but no mmap for the WAL's -shm.
  assert.equal(
    said('SQLITE_IOERR_SHMOPEN'),
    'cannot write the journal photos/.imgpull/journal.db: its file system does not give the shared memory SQLite needs beside it (some FUSE and network file systems); choose an output folder on a local disk with `out`, or run with `journal: false`',
  )
})

test('a journal whose folder cannot be written to stops a rerun with one line naming it (exit 3), not SQLite’s bare words (exit 1)', async (t) => {
  // Root writes in a folder of mode 0555 all the same: its runs go without its rights over modes.
  const root = process.getuid?.() === 0
  const base = await mkdtemp(join(tmpdir(), 'imgpull-ro-journal-'))
  // Writable again first: a user's rm cannot empty a folder of mode 0555.
  t.after(async () => {
    await chmod(join(base, 'out', '.imgpull'), 0o755).catch(() => {})
    await rm(base, { recursive: true, force: true })
  })
  const out = join(base, 'out')
  const run = (list: string[]) => runAs({ modesBind: root }, [...list, '-o', out, '--no-report', '-q'])
  const first = await run(urls(2))
  assert.equal(first.code, 0, first.stderr)
  await chmod(join(out, '.imgpull'), 0o555)
  const rerun = await run(urls(3))
  assert.equal(rerun.code, 3, rerun.stderr)
  assert.equal(
    rerun.stderr.trim(),
    `imgpull: cannot write the journal ${join(out, '.imgpull', 'journal.db')}: its folder cannot be written to; make its folder writable, or run with --no-journal`,
  )
  assert.deepEqual(await outputFiles(out), ['long0.jpg', 'long1.jpg'])
})

/**
 * The built CLI with `args`, under `ulimit -f kib` (the limit on the size of a file it writes, in
 * KiB) where one is given; `modesBind`: without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH
 * (`setpriv`, capabilities(7)), so a folder's mode binds root as any owner's while it still reads
 * this checkout as its owner (another user could not read a checkout of mode 0700, as mktemp -d
 * makes). Not a user namespace (`unshare --user`): Docker's default seccomp profile refuses one
 * to root in a container ('unshare failed: Operation not permitted'), where a capability is
 * dropped by any process holding CAP_SETPCAP, as Docker's root does.
 */
function runAs(as: { modesBind?: boolean }, args: string[], kib?: number) {
  const limit = kib === undefined ? '' : `ulimit -f ${kib}; `
  const shell = ['bash', '-c', `${limit}exec "$0" "$@"`, process.execPath, CLI, ...args]
  const drop = '-dac_override,-dac_read_search'
  const [command, ...rest] = as.modesBind
    ? ['setpriv', `--inh-caps=${drop}`, `--bounding-set=${drop}`, '--', ...shell]
    : shell
  const child = spawn(command!, rest, { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (d) => {
    stderr += d
  })
  return new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stderr })),
  )
}

test("a manifest that meets the limit on file sizes (or a full disk) at the run's end is named, not the output folder; the one before is kept whole", async () => {
  // curl/curl#4937-like: a file the tool writes last, cut short. A write to a file already open
  // names none: the stop said `cannot write OUT: file too large …`, where every image was saved
  // and the manifest alone was met.
  const out = join(dir, 'manifest-limit')
  // Images, not failures: the limit must fall between the journal's size and the manifest's, and
  // a failure's journal row holds its URL in its message and its list line besides. The manifest
  // is only some 1.2 % larger: enough images that the gap holds the pages a rerun adds to the
  // journal (its host samples, four a second, more on a slow machine).
  const list = join(dir, 'manifest-limit.txt')
  await writeFile(list, Array.from({ length: 2000 }, (_, i) => server.url(`/ml${i}.jpg?size=300`)).join('\n'))
  assert.equal((await runCli([list, '-o', out, '-q'])).code, 0)
  // A first rerun, unlimited: on a loaded machine it grew the journal by four pages (16 KiB, seen
  // with 2,000 files and six busy loops beside it; none on a quiet one), past the limit below, and
  // a loaded CI's run stopped at the journal; the rerun after it grew it by none.
  assert.equal((await runCli([list, '-o', out, '-q'])).code, 0)
  const journal = (await stat(join(out, '.imgpull', 'journal.db'))).size
  const manifest = await readFile(join(out, 'manifest.jsonl'))
  // A limit three pages past the journal a rerun of saved images keeps, short of the manifest it
  // writes again.
  const kib = Math.ceil(journal / 1024) + 12
  assert.ok(kib * 1024 < manifest.length - 4096, `journal ${journal}, manifest ${manifest.length}`)
  const r = await runAs({}, [list, '-o', out, '-q'], kib)
  assert.equal(r.code, 3, r.stderr)
  assert.match(
    r.stderr,
    new RegExp(
      `^imgpull: cannot write ${join(out, 'manifest.jsonl').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: file too large for the limit on file sizes`,
      'm',
    ),
  )
  assert.ok(
    (await readFile(join(out, 'manifest.jsonl'))).equals(manifest),
    'the manifest before is kept whole',
  )
})

test('a write over the limit on file sizes names that limit, in bytes and in the blocks of ulimit -f', () => {
  for (const [limit, words] of [
    [204_800, 'file too large for the limit on file sizes, 204800 bytes (ulimit -f 200)'],
    [100_000, 'file too large for the limit on file sizes, 100000 bytes (ulimit -f)'],
    [undefined, 'file too large for this file system or for the limit on file sizes (ulimit -f)'],
  ] as const)
    assert.equal(tooLargeWords(limit), words, String(limit))
})

test('a run under a limit on file sizes stops with one line naming the limit; the rerun without it finishes', async () => {
  const out = join(dir, 'fsize')
  const list = [server.url('/fs-a.jpg?size=3000'), server.url('/fs-b.jpg?size=400000')]
  const r = await runAs({}, [...list, '-o', out, '--no-report', '-q'], 200)
  assert.equal(r.code, 3, r.stderr)
  assert.match(
    r.stderr.trim(),
    /^imgpull: cannot write \S+: file too large for the limit on file sizes, 204800 bytes \(ulimit -f 200\); stopped, .*raise the limit on file sizes/,
  )
  const rerun = await runCli([...list, '-o', out, '--no-report', '-q'])
  assert.equal(rerun.code, 0, rerun.stderr)
  assert.deepEqual(await outputFiles(out), ['fs-a.jpg', 'fs-b.jpg'])
})

// A folder at a part file's path (a script's `mkdir -p` of the wrong path): the file failed as
// `bad-name` with Node's `EISDIR: illegal operation on a directory`, as if its name were refused.
test("a folder standing at a file's part path is said to be one, not Node's EISDIR", async () => {
  const out = join(dir, 'part-folder')
  const url = server.url('/folder-part.jpg?size=2000')
  await mkdir(join(out, '.imgpull', 'parts', `${hashKey(url, 32)}.part`), { recursive: true })
  const results: Result[] = []
  for await (const r of pull([url], { out, retries: 0 })) results.push(r)
  assert.equal(results[0]?.status, 'failed')
  assert.doesNotMatch(results[0]?.message ?? '', /EISDIR|illegal operation/)
  assert.match(
    results[0]?.message ?? '',
    /\.part: a folder stands where imgpull keeps the file's partial download \(not made by imgpull: move it away\)$/,
  )
})

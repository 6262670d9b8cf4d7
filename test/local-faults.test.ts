import assert from 'node:assert/strict'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { tooLongWords } from '../src/sinks/local-faults.js'
import { cleanup, runCli, tempDir } from './support/cli.js'
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

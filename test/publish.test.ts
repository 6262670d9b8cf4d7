import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtemp, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { pull, type Result } from '../src/index.js'
import { publish } from '../src/sinks/files.js'
import { cleanup, tempDir } from './support/cli.js'
import { type ImageServer, startImageServer } from './support/image-server.js'
import { onSmallDisk, takeInodes } from './support/wait.js'

// A finished file takes its name by a hard link (it never replaces a file someone put there).
// Where none can be made (a file system without them, a folder on another disk), it is moved.

let server: ImageServer
let out: string
let other: string

before(async () => {
  server = await startImageServer()
  out = await tempDir()
  // A folder on another device than the output folder: memory, or the working folder.
  const dev = (await stat(out)).dev
  for (const base of ['/dev/shm', process.cwd(), '/var/tmp', '/tmp']) {
    const info = await stat(base).catch(() => undefined)
    if (info?.isDirectory() && info.dev !== dev) {
      other = await mkdtemp(join(base, 'imgpull-other-'))
      break
    }
  }
  assert.ok(other, 'no folder on another device than the temporary folder to test with')
})

after(async () => {
  await server.close()
  await cleanup(out, other)
})

test('a copy to a folder on another disk that finds no room names the file it makes, not its hidden name', async () => {
  // aria2/aria2#1278: a failed copy's leftovers and names are what users find; the stop said
  // `cannot write OUT/.big.jpg.imgpull-copy: file too large …` of OUT/big.jpg.
  const from = join(other, 'no-room.part')
  const to = join(out, 'no-room.jpg')
  await writeFile(from, Buffer.alloc(300_000, 1))
  const code = `import('${join(process.cwd(), 'src/utils/rename-into.ts')}').then((m) => m.renameInto(${JSON.stringify(from)}, ${JSON.stringify(to)})).catch((e) => { console.log(JSON.stringify({ code: e.code, dest: e.dest, path: e.path })) })`
  const shown = execFileSync(
    'bash',
    ['-c', 'ulimit -f 100; exec "$0" --import tsx -e "$1"', process.execPath, code],
    {
      encoding: 'utf8',
    },
  )
  const failure = JSON.parse(shown) as { code: string; dest?: string; path?: string }
  assert.equal(failure.code, 'EFBIG', shown)
  assert.equal(failure.dest, to, shown)
  assert.deepEqual(
    (await readdir(out)).filter((n) => n.includes('no-room')),
    [],
    'no copy left, hidden or not',
  )
})

test('a name in a folder on another disk (EXDEV): the file is copied there and renamed, never half a file under its name', async () => {
  await symlink(other, join(out, 'big'))
  // A file already there keeps its name and bytes: the job's file takes another.
  await writeFile(join(other, 'taken.jpg'), 'not ours')
  const urls = ['/one.jpg', '/two.jpg', '/taken.jpg'].map((p) => server.url(p))
  const results: Result[] = []
  for await (const r of pull(urls, { out, name: 'big/{name}{ext}', report: false, retries: 0 }))
    results.push(r)
  for (const r of results) {
    assert.equal(r.status, 'ok', r.message)
    assert.ok(
      (await readFile(join(out, r.path!))).equals(server.bytes(new URL(r.job.url).pathname)),
      r.job.url,
    )
  }
  assert.equal(await readFile(join(other, 'taken.jpg'), 'utf8'), 'not ours')
  assert.notEqual(results[2].path, 'big/taken.jpg')
  const left = await readdir(other)
  assert.deepEqual(
    left.filter((f) => f.includes('imgpull')),
    [],
    'no copy left under a hidden name',
  )
  assert.deepEqual(await readdir(join(out, '.imgpull', 'parts')).catch(() => []), [], 'no part left')
})

test('a disk out of inodes for the folder of a name: publish says ENOSPC, not ENOENT', (t) =>
  // Node's recursive mkdir gives ENOENT for a folder the disk has no room for (nodejs/node#42808),
  // which no run takes for the full disk it is.
  onSmallDisk(t, join(out, 'few-inodes'), { size: '1m', inodes: 8 }, async (mnt) => {
    const part = join(mnt, 'a.part')
    await writeFile(part, 'image')
    await takeInodes(mnt)
    await assert.rejects(publish(part, mnt, 'sub/folder/a.jpg', false), { code: 'ENOSPC' })
    assert.equal(await readFile(part, 'utf8'), 'image', 'the part is kept for the rerun')
  }))

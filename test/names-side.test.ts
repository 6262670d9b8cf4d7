import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { cleanup, outputFiles, runCli, tempDir } from './support/cli.js'
import { makeImage } from './support/images.js'

// Names side by side with curl, wget2 and aria2c (bench/misbehave-names.ts): what a list whose
// names collide leaves on disk, run after run.

/** A JPEG per path asked for: the path in a comment segment after its SOI, so every URL is its own image. */
function tagged(path: string): Buffer {
  const base = makeImage('names-side', 2_000)
  const text = Buffer.from(path)
  const head = Buffer.from([0xff, 0xfe, (text.length + 2) >> 8, (text.length + 2) & 255])
  return Buffer.concat([base.subarray(0, 2), head, text, base.subarray(2)])
}

let server: Server
let origin: string
let dir: string
/** Requests per path, in order. */
const asked: string[] = []
/** Paths answered with one image for all (a CDN giving the same bytes at two URLs). */
const SAME = new Set(['/same/a.jpg?x=1', '/same/a.jpg?x=2'])

before(async () => {
  dir = await tempDir()
  server = createServer((req, res) => {
    const path = req.url ?? '/'
    asked.push(path)
    if (path.startsWith('/gone/')) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found')
      return
    }
    const body = SAME.has(path) ? tagged('/same') : tagged(path)
    res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': String(body.length) }).end(body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`
})
after(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
  await cleanup(dir)
})

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

/** The output files and the distinct images among them. */
async function onDisk(out: string): Promise<{ files: string[]; images: number }> {
  const files = await outputFiles(out)
  const digests = new Set<string>()
  for (const f of files) digests.add(sha(await readFile(join(out, f))))
  return { files, images: digests.size }
}

async function pullList(name: string, paths: string[], out: string, ...extra: string[]) {
  const list = join(dir, `${name}.txt`)
  await writeFile(list, `${paths.map((p) => origin + p).join('\n')}\n`)
  const r = await runCli([list, '-o', out, '--no-report', ...extra])
  assert.equal(r.code, 0, r.stderr)
  return r
}

test('a rerun of a list in another order finds each image under the name an earlier run gave it, saving none twice', async () => {
  // One photo at three sizes and the same name in two cases: five images, four on one name. The
  // first run names them in list order (`photo.jpg`, then each a suffix); a rerun of the list
  // reversed (a list sorted anew, lines added at its top) plans the names the other way round.
  const paths = [
    '/p/photo.jpg?w=1600',
    '/p/photo.jpg?w=800',
    '/p/photo.jpg?w=400',
    '/C/Photo.jpg',
    '/C/photo.jpg',
  ]
  for (const journal of [['--no-journal'], []]) {
    const out = join(dir, `reorder${journal.length}`)
    await pullList('reorder', paths, out, ...journal)
    const first = await onDisk(out)
    assert.equal(first.files.length, 5)
    assert.equal(first.images, 5)
    // Without a journal (or with one made after, the first run having kept none): the second run
    // knows nothing of the first, and its names come from the list's order.
    await pullList('reorder-reversed', [...paths].reverse(), out, '--no-journal')
    const second = await onDisk(out)
    assert.deepEqual(
      second.files,
      first.files,
      `no image saved twice (${journal.join(' ') || 'journal'} first)`,
    )
    // A journal's rerun finds every file where the run before put it: nothing fetched again.
    if (!journal.length) {
      const before = asked.length
      await pullList('reorder', paths, out)
      assert.equal(asked.length, before, 'the journal finds every file')
      assert.deepEqual((await onDisk(out)).files, first.files)
    }
  }
})

test('two URLs of one image in one run are two files still, each under its own name', async () => {
  const out = join(dir, 'same-bytes')
  await pullList('same', [...SAME], out)
  const { files, images } = await onDisk(out)
  assert.equal(files.length, 2, files.join(' '))
  assert.equal(images, 1)
  const rows = (await readFile(join(out, 'manifest.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
  assert.equal(new Set(rows.map((r: { path: string }) => r.path)).size, 2)
})

test("a URL's folder named as one of imgpull's own files takes a _: the run's manifest and report are written, and a rerun finds the images", async () => {
  const out = join(dir, 'own-names')
  const paths = ['/manifest.jsonl/a.jpg', '/Report.HTML/b.jpg', '/report.html']
  const list = join(dir, 'own-names.txt')
  await writeFile(list, `${paths.map((p) => origin + p).join('\n')}\n`)
  const r = await runCli([list, '-o', out, '--name', '{path}{ext}'])
  assert.equal(r.code, 0, r.stderr)
  assert.doesNotMatch(r.stderr, /EISDIR/)
  const rows = (await readFile(join(out, 'manifest.jsonl'), 'utf8')).trim().split('\n')
  assert.equal(rows.length, 3)
  assert.match(await readFile(join(out, 'report.html'), 'utf8'), /imgpull/)
  const { files, images } = await onDisk(out)
  // `report.html` as a file takes its suffix, as it did (its extension is not known when it is planned).
  assert.deepEqual(files.slice(0, 2), ['Report.HTML_/b.jpg', 'manifest.jsonl_/a.jpg'])
  assert.match(files[2]!, /^report\.html-[0-9a-f]{8}\.jpg$/)
  assert.equal(images, 3)
  const before = asked.length
  const again = await runCli([list, '-o', out, '--name', '{path}{ext}'])
  assert.equal(again.code, 0, again.stderr)
  assert.equal(asked.length, before, 'the rerun finds every file')
})

test("a file of the folder's own one with the job's name on a Mac or a memory card (Cat.jpg, café decomposed) is not joined by it: the job takes its suffix", async () => {
  // On Linux both were kept side by side (cat.jpg beside the user's Cat.jpg), and the folder copied
  // to such a disk kept one of the two, or could not be copied there (sedwards2009/extraterm#130).
  const out = join(dir, 'fold-twins')
  await mkdir(out, { recursive: true })
  const mine = Buffer.from('my own photo')
  await writeFile(join(out, 'Cat.jpg'), mine)
  await writeFile(join(out, 'cafe\u0301.jpg'), mine)
  await pullList('fold-twins', ['/f/cat.jpg', '/f/caf%C3%A9.jpg'], out, '--no-journal')
  const { files } = await onDisk(out)
  assert.equal(files.length, 4, files.join(' '))
  assert.deepEqual(files.filter((f) => !/-[0-9a-f]{8}\.jpg$/.test(f)).sort(), ['Cat.jpg', 'cafe\u0301.jpg'])
  assert.deepEqual(await readFile(join(out, 'Cat.jpg')), mine)
  // A rerun without journal finds each image under its suffix: nothing saved twice.
  await pullList('fold-twins', ['/f/cat.jpg', '/f/caf%C3%A9.jpg'], out, '--no-journal')
  assert.deepEqual((await onDisk(out)).files, files)
})

test('a rerun without journal of a list whose dead link was taken out finds the image under the variant it had, saving it once', async () => {
  // The first run gave `photo.jpg` to a link that failed (404), and its neighbour `photo-….jpg`;
  // the user takes the dead link out of the list and runs it again: the neighbour is planned as
  // `photo.jpg` now, a name that is free.
  const out = join(dir, 'dead-link')
  const list = join(dir, 'dead-link.txt')
  await writeFile(list, `${origin}/gone/photo.jpg\n${origin}/kept/photo.jpg\n`)
  const first = await runCli([list, '-o', out, '--no-report', '--no-journal'])
  assert.equal(first.code, 1, first.stderr)
  const before = await onDisk(out)
  assert.equal(before.files.length, 1)
  assert.match(before.files[0]!, /^photo-[0-9a-f]{8}\.jpg$/)
  await pullList('dead-link-mended', ['/kept/photo.jpg'], out, '--no-journal')
  assert.deepEqual((await onDisk(out)).files, before.files)
  const rows = (await readFile(join(out, 'manifest.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
  assert.equal(rows.at(-1).path, before.files[0])
})

test('a name the file system refuses as too long is shortened, not failed, and a rerun finds it there', async () => {
  // A path over PATH_MAX (4,096 bytes) under a deep output folder: the ENAMETOOLONG that eCryptfs
  // (an encrypted home folder) and a Synology NAS's encrypted folders give past 143 bytes a name,
  // where imgpull's names go to 200. (SQLite opens no journal that deep: --no-journal.)
  let out = join(dir, 'deep')
  while (Buffer.byteLength(out) < 3_800) out = join(out, 'd'.repeat(200))
  out = join(out, 'e'.repeat(3_955 - Buffer.byteLength(out) - 1))
  await mkdir(out, { recursive: true })
  const long = 'n'.repeat(180)
  const folders = `${'a'.repeat(80)}/${'b'.repeat(80)}`
  const paths = [`/long/${long}.jpg`, `/${folders}/x.jpg`, '/long/short.jpg']
  const list = join(dir, 'deep.txt')
  await writeFile(list, `${paths.map((p) => origin + p).join('\n')}\n`)
  for (let run = 0; run < 2; run++) {
    const r = await runCli([list, '-o', out, '--no-report', '--no-journal', '--name', '{path}{ext}'])
    assert.equal(r.code, 0, r.stderr)
    assert.doesNotMatch(r.stderr, /bad-name|ENAMETOOLONG/)
    const { files, images } = await onDisk(out)
    assert.equal(images, 3)
    // The long name cut in its folder, with the job's suffix; the folders too long for any name
    // there: the job's hash at the top.
    assert.equal(files.length, 3, files.join(' '))
    const cut = files.find((f) => f.startsWith('long/n'))!
    assert.match(cut, /^long\/n{118}-[0-9a-f]{8}\.jpg$/)
    assert.ok(
      files.some((f) => /^[0-9a-f]{16}\.jpg$/.test(f)),
      files.join(' '),
    )
    assert.ok(files.includes('long/short.jpg'))
    const rows = (await readFile(join(out, 'manifest.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    assert.deepEqual(rows.map((r: { path: string }) => r.path).sort(), files)
  }
})

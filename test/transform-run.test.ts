import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { copyFile, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import sharp from 'sharp'
import { hashKey } from '../src/plan/naming.js'
import { imageFlags, sameImages } from '../src/sinks/folder-format.js'
import { fixturePath } from './fixtures/transform/index.js'
import { cleanup, outputFiles, runCli, tempDir } from './support/cli.js'
import { forgedGif, forgedTiff } from './support/forged-headers.js'
import { type ImageServer, startImageServer } from './support/image-server.js'
import { pngChunk as chunk } from './support/png-chunk.js'
import { type LocalServer, listenLocal } from './support/raw-server.js'

// The transform stage inside a run: what is published, what the manifest says, what a rerun does.

/**
 * SVGs whose XML entities grow: `levels` entities of `fan` references each to the one before, the
 * last drawn as text. Nine levels of ten is the "billion laughs" (3 GB of text); four (10,000
 * copies) pass libxml2's guard and took librsvg 63 s of text layout here.
 */
const tower = (levels: number, fan: number) => {
  let subset = '<!ENTITY lol0 "lol">'
  for (let i = 1; i <= levels; i++) subset += `\n<!ENTITY lol${i} "${`&lol${i - 1};`.repeat(fan)}">`
  return `<?xml version="1.0"?>\n<!DOCTYPE svg [\n${subset}\n]>\n<svg xmlns="http://www.w3.org/2000/svg" width="64" height="48"><text y="20">&lol${levels};</text></svg>`
}
const SVG_BOMBS: Record<string, string> = {
  'laughs.svg': tower(9, 10),
  'tower.svg': tower(4, 10),
  // One flat entity of 50 KB referred to 50,000 times: no nesting, 2.5 GB all the same.
  'flat.svg': `<!DOCTYPE svg [<!ENTITY a "${'x'.repeat(50_000)}">]><svg xmlns="http://www.w3.org/2000/svg" width="64" height="48"><text>${'&a;'.repeat(50_000)}</text></svg>`,
}

let files: LocalServer
let origin: string
const hits = new Map<string, number>()
let fakes: ImageServer
let dir: string
before(async () => {
  // Real images from the fixtures (the fault server's images are noise no decoder accepts).
  files = await listenLocal(
    createServer((req, res) => {
      const name = new URL(req.url ?? '/', 'http://x').pathname.slice(1)
      hits.set(name, (hits.get(name) ?? 0) + 1)
      try {
        const bomb = SVG_BOMBS[name]
        if (bomb) {
          res.writeHead(200, { 'content-length': Buffer.byteLength(bomb) }).end(bomb)
          return
        }
        if (name === 'peeks.svg') {
          // A hostile SVG that draws a file beside it: another download's part, in the parts folder.
          const svg = `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="64" height="48"><image xlink:href="other.png" width="64" height="48"/></svg>`
          res.writeHead(200, { 'content-length': svg.length }).end(svg)
          return
        }
        const body = name.startsWith('images/')
          ? readFileSync(new URL(`./fixtures/${name}`, import.meta.url))
          : readFileSync(fixturePath(name))
        res.writeHead(200, { 'content-length': body.length }).end(body)
      } catch {
        res.writeHead(404).end()
      }
    }),
  )
  origin = files.origin
  fakes = await startImageServer()
  dir = await tempDir()
})
after(async () => {
  await files.close()
  await fakes.close()
  await cleanup(dir)
})

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')
const manifest = async (out: string) =>
  (await readFile(join(out, 'manifest.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))

async function list(name: string, urls: string[]) {
  const file = join(dir, `${name}.txt`)
  await writeFile(file, urls.join('\n'))
  return file
}

test('resized and re-encoded on the pool: the file, its name, its size and the manifest agree', async () => {
  const out = join(dir, 'resized')
  const urls = ['photo-orient6-gps.jpg', 'alpha.png', 'photo.webp'].map((n) => `${origin}/${n}`)
  const r = await runCli([
    await list('resized', urls),
    '-o',
    out,
    '--resize',
    'keep-ratio',
    '--size',
    '64',
    '--encode',
    'webp',
  ])
  assert.equal(r.code, 0, r.stderr)
  assert.deepEqual(await outputFiles(out), ['alpha.webp', 'photo-orient6-gps.webp', 'photo.webp'])
  for (const line of await manifest(out)) {
    const file = await readFile(join(out, line.path))
    const meta = await sharp(file).metadata()
    assert.equal(meta.format, 'webp', line.path)
    assert.equal(Math.min(meta.width!, meta.height!), 64, `${line.path}: shortest side`)
    assert.deepEqual([line.width, line.height], [meta.width, meta.height])
    assert.equal(line.format, 'webp')
    assert.equal(line.transformed, true)
    assert.equal(line.bytes, file.length)
    assert.equal(line.sha256, sha(file), 'the hash is of the file kept')
    assert.ok(line.originalWidth > 64 && line.originalHeight > 64, 'the size as downloaded is kept too')
    assert.equal(meta.exif, undefined, `${line.path}: no EXIF (no GPS) left`)
  }
})

test('an image that needs no change is kept byte for byte, and the manifest says so', async () => {
  const out = join(dir, 'kept')
  const url = `${origin}/photo-orient6-gps.jpg`
  const r = await runCli([
    url,
    '-o',
    out,
    '--resize',
    'keep-ratio',
    '--size',
    '5000',
    '--resize-only-if-bigger',
  ])
  assert.equal(r.code, 0, r.stderr)
  const [line] = await manifest(out)
  assert.equal(line.transformed, false)
  assert.ok((await readFile(join(out, line.path))).equals(readFileSync(fixturePath('photo-orient6-gps.jpg'))))
})

test('a photo stored landscape with EXIF orientation 6 is portrait in the manifest with or without a transform option', async () => {
  // A plain download reported the stored 300x200 and the same photo under --min-size the shown
  // 200x300: a dataset built over both runs carried both; img2dataset (OpenCV) reports the shown one.
  const url = `${origin}/photo-orient6-gps.jpg`
  const sizes: number[][] = []
  for (const [name, options] of [
    ['plain', []],
    ['filtered', ['--min-size', '1']],
    ['shards', ['--output-format', 'webdataset']],
  ] as const) {
    const out = join(dir, `upright-${name}`)
    const r = await runCli([url, '-o', out, ...options])
    assert.equal(r.code, 0, r.stderr)
    const [line] = await manifest(out)
    sizes.push([line.width, line.height])
  }
  assert.deepEqual(sizes, [
    [200, 300],
    [200, 300],
    [200, 300],
  ])
})

test('a refused image is a permanent failure with its own code; a rerun does not fetch it again', async () => {
  const out = join(dir, 'refused')
  const file = await list('refused', [`${origin}/alpha.png`, `${origin}/wide.png`])
  const first = await runCli([file, '-o', out, '--max-aspect-ratio', '2'])
  assert.equal(first.code, 1, first.stderr)
  const lines = await manifest(out)
  const refused = lines.find((l) => l.status === 'failed')
  assert.equal(refused.error, 'bad-aspect-ratio')
  assert.match(refused.message, /\/wide\.png: \d+x\d+/)
  assert.deepEqual(await outputFiles(out), ['alpha.png'])
  const fetched = hits.get('wide.png')
  const again = await runCli([file, '-o', out, '--max-aspect-ratio', '2'])
  assert.equal(again.code, 1)
  assert.match(again.stderr, /1 skipped as permanently failed before/)
  assert.equal(hits.get('wide.png'), fetched, 'not fetched again')
})

test('--verify decode: a body whole in structure but not decodable fails as undecodable, nothing kept', async () => {
  const out = join(dir, 'decode')
  // The fault server's images are structurally whole JPEGs of noise: no decoder takes them.
  const r = await runCli([fakes.url('/noise'), '-o', out, '--verify', 'decode', '--retries', '0'])
  assert.equal(r.code, 1, r.stderr)
  const [line] = await manifest(out)
  assert.equal(line.error, 'undecodable')
  assert.match(line.message, /^http:\/\/127\.0\.0\.1:\d+\/noise: cannot decode/, 'the line names the image')
  assert.deepEqual(await outputFiles(out), [])
  const plain = await runCli([fakes.url('/noise'), '-o', join(dir, 'plain')])
  assert.equal(plain.code, 0, 'without --verify decode the structural check is what counts')
})

test('an SVG whose root comes after a long licence comment is decoded, resized and verified', async () => {
  // Its `<svg` is at byte 2,958: libvips tells an SVG file by its first 1,000 bytes only, and took
  // this one for "unsupported image format", so --verify decode and --resize refused a good image.
  const url = `${origin}/images/long-comment-bom.svg`
  const original = readFileSync(new URL('./fixtures/images/long-comment-bom.svg', import.meta.url))
  const verified = join(dir, 'svg-verified')
  const kept = await runCli([url, '-o', verified, '--verify', 'decode', '--retries', '0'])
  assert.equal(kept.code, 0, kept.stderr)
  const [line] = await manifest(verified)
  assert.equal(line.path, 'long-comment-bom.svg')
  assert.ok((await readFile(join(verified, line.path))).equals(original), 'kept byte for byte')
  const resized = join(dir, 'svg-resized')
  const made = await runCli([url, '-o', resized, '--resize', 'keep-ratio', '--size', '60', '--retries', '0'])
  assert.equal(made.code, 0, made.stderr)
  const [png] = await manifest(resized)
  assert.deepEqual([png.path, png.width, png.height], ['long-comment-bom.png', 80, 60])
})

test('an SVG is drawn from its bytes alone: a file beside its part (another download) never reaches the output', async () => {
  // Read by its path, librsvg resolves an <image> href against the part's folder, where other
  // downloads' parts are: a hostile SVG resized or re-encoded carried another image out in its pixels.
  const out = join(dir, 'peeks')
  await mkdir(join(out, '.imgpull', 'parts'), { recursive: true })
  await writeFile(join(out, '.imgpull', 'parts', 'other.png'), readFileSync(fixturePath('alpha.png')))
  const r = await runCli([`${origin}/peeks.svg`, '-o', out, '--encode', 'png', '--retries', '0'])
  assert.equal(r.code, 0, r.stderr)
  const [line] = await manifest(out)
  const { channels } = await sharp(join(out, line.path)).stats()
  assert.equal(channels.at(-1)?.max, 0, 'nothing drawn: every pixel transparent')
})

test('an SVG whose XML entities grow (a billion laughs) fails at once, said as such; flat entities as Illustrator writes them are drawn', async () => {
  const out = join(dir, 'laughs')
  const names = ['laughs.svg', 'tower.svg', 'flat.svg', 'images/illustrator.svg']
  const file = await list(
    'laughs',
    names.map((n) => `${origin}/${n}`),
  )
  // "At once" is proven by the words: the first two are refused by imgpull's own check, before
  // libvips (whose time under load is no test's business: speed lives in the bench).
  const r = await runCli([file, '-o', out, '--resize', 'keep-ratio', '--size', '60', '--retries', '0'])
  assert.equal(r.code, 1, r.stderr)
  const lines = new Map((await manifest(out)).map((l) => [l.url.slice(origin.length + 1), l]))
  const expected: Record<string, RegExp> = {
    'laughs.svg':
      /laughs\.svg: cannot decode: an SVG with XML entity expansion: its entity "lol9" is built of other entities and expands to 3000000000 characters \(a "billion laughs"\); not rendered$/,
    'tower.svg':
      /tower\.svg: cannot decode: an SVG with XML entity expansion: its entity "lol4" is built of other entities and expands to 30000 characters/,
    'flat.svg':
      /flat\.svg: cannot decode: an SVG with XML entity expansion: libxml2 stopped it \(Maximum entity amplification factor exceeded\); not rendered$/,
  }
  for (const [name, message] of Object.entries(expected)) {
    const line = lines.get(name)
    assert.equal(line?.error, 'undecodable', name)
    assert.match(line.message, message)
    assert.ok(!line.message.includes('\n'), 'one line')
  }
  assert.equal(
    lines.get('images/illustrator.svg')?.status,
    'ok',
    JSON.stringify(lines.get('images/illustrator.svg')),
  )
})

test('a format this libvips cannot read is named in the failure, not called an unsupported file', async () => {
  // libvips' words alone, 'Input file contains unsupported image format', read as a broken file.
  const out = join(dir, 'unread')
  const names = [
    'images/v3.bmp',
    'images/three-sizes.ico',
    'images/bare.jxl',
    'images/plain.jp2',
    'images/plain.j2c',
  ]
  const file = await list(
    'unread',
    names.map((n) => `${origin}/${n}`),
  )
  const r = await runCli([file, '-o', out, '--verify', 'decode', '--retries', '0'])
  assert.equal(r.code, 1, r.stderr)
  const messages = Object.fromEntries((await manifest(out)).map((l) => [l.url.split('/').pop(), l.message]))
  for (const [file, format] of [
    ['v3.bmp', 'BMP'],
    ['three-sizes.ico', 'ICO'],
    ['bare.jxl', 'JPEG XL'],
    ['plain.jp2', 'JPEG 2000'],
    ['plain.j2c', 'JPEG 2000'],
  ]) {
    assert.match(
      messages[file],
      new RegExp(`cannot decode: ${format} is not read by the libvips sharp ships`),
      file,
    )
  }
  const plain = await runCli([file, '-o', join(dir, 'unread-plain')])
  assert.equal(plain.code, 0, 'kept as they came without --verify decode')
})

test('killed between the journal and the name of a resized image: the rerun publishes it from its output, with no request', async () => {
  // What a kill -9 leaves when it lands after the journal said ok and before the resized image
  // took its name: the record, the pool's output and the downloaded part under .imgpull/parts.
  // And one killed just after its name was taken: the output's copy and the part are left over.
  const out = join(dir, 'resized-window')
  const names = ['wide.png', 'alpha.png', 'photo.webp']
  const urls = names.map((n) => `${origin}/${n}`)
  const file = await list('resized-window', urls)
  const args = [file, '-o', out, '--resize', 'keep-ratio', '--size', '16', '--encode', 'jpg']
  assert.equal((await runCli(args)).code, 0)
  const parts = join(out, '.imgpull', 'parts')
  const partOf = (url: string) => join(parts, `${hashKey(url, 32)}.part`)
  const made = await readFile(join(out, 'wide.jpg'))
  await rename(join(out, 'wide.jpg'), `${partOf(urls[0])}.out`)
  await writeFile(partOf(urls[0]), readFileSync(fixturePath('wide.png')))
  await copyFile(join(out, 'alpha.jpg'), `${partOf(urls[1])}.out`)
  await writeFile(partOf(urls[1]), readFileSync(fixturePath('alpha.png')))
  const asked = names.map((n) => hits.get(n))
  const again = await runCli(args)
  assert.equal(again.code, 0, again.stderr)
  assert.match(again.stderr, /3 already done/)
  assert.deepEqual(
    names.map((n) => hits.get(n)),
    asked,
    'nothing asked for again',
  )
  assert.deepEqual(await outputFiles(out), ['alpha.jpg', 'photo.jpg', 'wide.jpg'])
  assert.ok((await readFile(join(out, 'wide.jpg'))).equals(made))
  assert.deepEqual(await readdir(parts), [], 'no part or output left over')
})

test('a rerun into a folder of files asking for another --resize or --encode is refused before a request: never images of two sizes side by side', async () => {
  const out = join(dir, 'other-options')
  const file = await list('other-options', [`${origin}/alpha.png`, `${origin}/photo.webp`])
  const first = await runCli([`${origin}/alpha.png`, '-o', out])
  assert.equal(first.code, 0, first.stderr)
  const fetched = hits.get('photo.webp') ?? 0
  const resized = await runCli([
    file,
    '-o',
    out,
    '--resize',
    'keep-ratio',
    '--size',
    '32',
    '--encode',
    'webp',
  ])
  assert.equal(resized.code, 2, resized.stderr)
  assert.match(
    resized.stderr,
    /holds images as downloaded \(no --resize, --encode or --quality\), where this run asks for images made with --resize keep-ratio --size 32 --encode webp: images already there are not made again/,
  )
  assert.equal(hits.get('photo.webp') ?? 0, fetched, 'nothing fetched')
  assert.deepEqual(await outputFiles(out), ['alpha.png'])
  // Its record removed (a clean-up of *.json) or damaged (cut by a power loss) beside the journal:
  // the journal's copy holds. It was taken for a folder of an earlier version, the run made its
  // images resized beside the ones as downloaded (mikf/gallery-dl#5419).
  const record = join(out, '.imgpull', 'files.json')
  for (const lost of [() => rm(record), () => writeFile(record, '{"form')]) {
    await lost()
    const again = await runCli([file, '-o', out, '--resize', 'keep-ratio', '--size', '32'])
    assert.equal(again.code, 2, again.stderr)
    assert.match(
      again.stderr,
      /holds images as downloaded \(no --resize, --encode or --quality\), where this run asks/,
    )
    assert.equal(hits.get('photo.webp') ?? 0, fetched, 'nothing fetched')
  }
  // A run with the folder's options writes it again.
  assert.equal((await runCli([file, '-o', out])).code, 0)
  assert.equal(JSON.parse(await readFile(record, 'utf8')).images, '')
  // A folder whose runs kept nothing yet takes the new options.
  const empty = join(dir, 'other-options-failed')
  assert.equal((await runCli([`${origin}/none.png`, '-o', empty])).code, 1)
  const later = await runCli([`${origin}/alpha.png`, '-o', empty, '--resize', 'keep-ratio', '--size', '32'])
  assert.equal(later.code, 0, later.stderr)
  const [kept] = (await manifest(empty)).filter((l) => l.status === 'ok')
  assert.equal(Math.min(kept.width, kept.height), 32)
})

test('the options a folder records count --background where it shows, in one spelling, and --keep-metadata where images are written', () => {
  const cases: [Parameters<typeof imageFlags>[0], string][] = [
    [{ resize: 'border', size: 32, background: '#000000' }, '--resize border --size 32 --background #000000'],
    [
      { resize: 'border', size: 32, background: 'rgba(0,0,0,0.5)' },
      '--resize border --size 32 --background #00000080',
    ],
    [{ encode: 'jpg', background: 'Black' }, '--encode jpg --background #000000'],
    [{ encode: 'jpg', background: 'white' }, '--encode jpg'],
    [{ encode: 'jpg', background: '#FFF' }, '--encode jpg'],
    [
      { resize: 'keep-ratio', size: 64, encode: 'webp', background: '#000000' },
      '--resize keep-ratio --size 64 --encode webp',
    ],
    [{ encode: 'webp', keepMetadata: true }, '--encode webp --keep-metadata'],
    [{ resize: 'center-crop', size: 8, keepMetadata: true }, '--resize center-crop --size 8 --keep-metadata'],
    [{ verifyDecode: true, keepMetadata: true }, ''],
  ]
  for (const [spec, flags] of cases) assert.equal(imageFlags(spec), flags, JSON.stringify(spec))
})

test('a rerun asking for another --background, or leaving --keep-metadata out, is refused: never two paddings, or GPS kept in some images only', async () => {
  const out = join(dir, 'other-background')
  const file = await list('other-background', [`${origin}/alpha.png`, `${origin}/photo.webp`])
  const border = ['--resize', 'border', '--size', '32']
  const first = await runCli([`${origin}/alpha.png`, '-o', out, ...border, '--background', '#000000'])
  assert.equal(first.code, 0, first.stderr)
  const fetched = hits.get('photo.webp') ?? 0
  const white = await runCli([file, '-o', out, ...border])
  assert.equal(white.code, 2, white.stderr)
  assert.match(
    white.stderr,
    /holds images made with --resize border --size 32 --background #000000, where this run asks for images made with --resize border --size 32: images already there are not made again/,
  )
  assert.equal(hits.get('photo.webp') ?? 0, fetched, 'nothing fetched')
  const black = await runCli([file, '-o', out, ...border, '--background', 'black'])
  assert.equal(black.code, 0, `the same colour, spelt otherwise: ${black.stderr}`)
  assert.deepEqual(await outputFiles(out), ['alpha.png', 'photo.webp'])

  const kept = join(dir, 'other-metadata')
  const photos = await list('other-metadata', [`${origin}/photo-orient6-gps.jpg`, `${origin}/photo.webp`])
  const withGps = await runCli([
    `${origin}/photo-orient6-gps.jpg`,
    '-o',
    kept,
    '--encode',
    'webp',
    '--keep-metadata',
  ])
  assert.equal(withGps.code, 0, withGps.stderr)
  const stripped = await runCli([photos, '-o', kept, '--encode', 'webp'])
  assert.equal(stripped.code, 2, stripped.stderr)
  assert.match(
    stripped.stderr,
    /holds images made with --encode webp --keep-metadata, where this run asks for images made with --encode webp:/,
  )
  assert.deepEqual(await outputFiles(kept), ['photo-orient6-gps.webp'])
})

test('sameImages: a record before --background and --keep-metadata were recorded agrees with any of them', () => {
  const cases: [recorded: string, version: number | undefined, run: string, same: boolean][] = [
    ['--resize border --size 32', undefined, '--resize border --size 32 --background #000000', true],
    ['--resize border --size 32', undefined, '--resize border --size 32', true],
    ['--encode webp', undefined, '--encode webp --keep-metadata', true],
    ['--encode jpg', undefined, '--encode jpg --background #ff0000 --keep-metadata', true],
    ['--resize border --size 32', undefined, '--resize border --size 64 --background #000000', false],
    ['--resize border --size 32', undefined, '--background #000000', false],
    // Recorded since: the record says what the images were made with.
    ['--resize border --size 32', 2, '--resize border --size 32 --background #000000', false],
    ['--encode webp --keep-metadata', 2, '--encode webp', false],
    ['--encode webp --keep-metadata', 2, '--encode webp --keep-metadata', true],
  ]
  for (const [recorded, version, run, same] of cases)
    assert.equal(sameImages(recorded, version, run), same, `${recorded} (${version}) / ${run}`)
})

test('a folder recorded before --background was (no imagesVersion) takes a rerun with it, and records it from then on', async () => {
  const border = ['--resize', 'border', '--size', '32', '--background', '#000000']
  for (const [name, options, record] of [
    ['files', [], (images: string) => ({ format: 'files', images })],
    [
      'shards',
      ['--output-format', 'webdataset', '--shard-size', '10'],
      (images: string) => ({ format: 'webdataset', shardSize: 10, images }),
    ],
  ] as const) {
    const out = join(dir, `old-record-${name}`)
    const first = await runCli([`${origin}/alpha.png`, '-o', out, ...options, ...border])
    assert.equal(first.code, 0, first.stderr)
    // The record as a run before dde74a6 wrote it: --background was not in it.
    const path = join(out, '.imgpull', name === 'files' ? 'files.json' : 'dataset.json')
    await writeFile(path, `${JSON.stringify(record('--resize border --size 32'))}\n`)
    const again = await runCli([
      `${origin}/photo.webp`,
      '-o',
      out,
      ...options,
      ...border.slice(0, 4),
      '--background',
      'black',
    ])
    assert.equal(again.code, 0, `${name}: ${again.stderr}`)
    const written = JSON.parse(await readFile(path, 'utf8'))
    assert.equal(written.images, '--resize border --size 32 --background #000000', name)
    assert.equal(written.imagesVersion, 2, name)
    // Recorded now: another colour is refused as any other option.
    const white = await runCli([`${origin}/photo.webp`, '-o', out, ...options, ...border.slice(0, 4)])
    assert.equal(white.code, 2, `${name}: ${white.stderr}`)
    assert.match(
      white.stderr,
      /holds (WebDataset shards of )?images made with --resize border --size 32 --background #000000, where this run asks for images made with --resize border --size 32:/,
    )
  }
})

test('an image over --max-pixels by its header is refused as its head arrives, not after its whole body', async () => {
  // 20000x20000 by its header, 4 MB of noise after it, sent 64 KB every 100 ms: 6.4 s in all.
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(20000, 0)
  ihdr.writeUInt32BE(20000, 4)
  ihdr.set([8, 2, 0, 0, 0], 8) // 8-bit RGB
  const noise = 4 * 1024 * 1024
  const png = Buffer.concat([
    Buffer.from('89504e470d0a1a0a', 'hex'),
    chunk('IHDR', ihdr),
    chunk('IDAT', randomBytes(noise)),
    chunk('IEND', Buffer.alloc(0)),
  ])
  // An AVIF as sharp writes it (its meta box first), its ispe saying 20000x20000.
  const avif = Buffer.from(
    await sharp({ create: { width: 300, height: 200, channels: 3, background: '#f00' } })
      .avif()
      .toBuffer(),
  )
  const ispe = avif.indexOf('ispe')
  avif.writeUInt32BE(20000, ispe + 8)
  avif.writeUInt32BE(20000, ispe + 12)
  const bodies: Record<string, Buffer> = {
    'huge.png': png,
    // A GIF's logical screen of 100x100 over a first frame of 20000x20000: libnsgif widens it.
    'huge.gif': forgedGif({ width: 100, height: 100 }, [{ width: 20000, height: 20000, data: noise }]),
    'huge-le.tif': forgedTiff({ width: 20000, height: 20000, little: true, type: 'long', data: noise }),
    'huge-be.tif': forgedTiff({ width: 20000, height: 20000, little: false, type: 'short', data: noise }),
    'huge.avif': Buffer.concat([avif, randomBytes(noise)]),
  }
  const sent = new Map<string, number>()
  const server = await listenLocal(
    createServer(async (req, res) => {
      const name = req.url!.slice(1)
      const body = bodies[name]
      res.writeHead(200, { 'content-length': body.length })
      for (let at = 0; at < body.length && !res.destroyed; at += 64 * 1024) {
        res.write(body.subarray(at, at + 64 * 1024))
        sent.set(name, at + 64 * 1024)
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      res.end()
    }),
  )
  try {
    for (const name of Object.keys(bodies)) {
      const url = server.url(`/${name}`)
      const out = join(dir, `header-${name}`)
      const r = await runCli([url, '-o', out, '--max-pixels', '1000000'])
      assert.equal(r.code, 1, r.stderr)
      const [line] = await manifest(out)
      assert.equal(line.error, 'too-many-pixels', name)
      assert.ok(
        line.message.endsWith(
          `${name}: 20000x20000 is more than 1000000 pixels (its header says so: not fetched further)`,
        ),
        line.message,
      )
      const bytes = sent.get(name)!
      assert.ok(
        bytes < 1024 * 1024,
        `${name}: ${bytes} bytes of ${bodies[name].length} sent before the refusal`,
      )
      assert.deepEqual(await readdir(join(out, '.imgpull', 'parts')), [], `${name}: no part left`)
    }
  } finally {
    await server.close()
  }
})

test('a failure of a limit is judged against the limit as it is now: loosened, the image is fetched again; as strict, skipped', async () => {
  // Before: --min-size 250 refused the 200x300 photo (too-small), and the rerun with --min-size
  // 150 skipped it as "permanently failed before"; so did --max-size raised past a too-large file,
  // and a plain download after --verify decode failed an image a plain download keeps.
  for (const [label, name, strict, stricter, loose, code] of [
    [
      'min-size',
      'photo-orient6-gps.jpg',
      ['--min-size', '250'],
      ['--min-size', '280'],
      ['--min-size', '150'],
      'too-small',
    ],
    [
      'max-size',
      'photo-orient6-gps.jpg',
      ['--max-size', '1KB'],
      ['--max-size', '512B'],
      ['--max-size', '1MB'],
      'too-large',
    ],
    [
      'verify',
      'images/plain-64x64.heic',
      ['--verify', 'decode'],
      ['--verify', 'decode', '--min-size', '1'],
      [],
      'undecodable',
    ],
  ] as const) {
    const url = `${origin}/${name}`
    const out = join(dir, `limit-${label}`)
    const r = await runCli([url, '-o', out, ...strict])
    assert.equal(r.code, 1, r.stderr)
    assert.equal((await manifest(out))[0].error, code)
    for (const [args, fetched] of [
      [strict, false],
      [stricter, false],
      [loose, true],
    ] as const) {
      const before = hits.get(name) ?? 0
      const again = await runCli([url, '-o', out, ...args])
      assert.equal(again.code, fetched ? 0 : 1, `${label} ${args}: ${again.stderr}`)
      assert.equal((hits.get(name) ?? 0) > before, fetched, `${label} ${args}: fetched`)
    }
    assert.equal((await manifest(out))[0].status, 'ok')
  }
})

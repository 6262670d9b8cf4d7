import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import zlib from 'node:zlib'
import sharp from 'sharp'
import { completenessCheck, type Verdict } from '../src/verify/complete/index.js'
import { NO_EOI } from '../src/verify/complete/jpeg.js'
import { jpegScansWhole } from '../src/verify/complete/jpeg-scans.js'
import { NO_IEND } from '../src/verify/complete/png.js'
import { FileCheck } from '../src/verify/file-check.js'
import { readBackFile } from '../src/verify/read-back.js'
import { sniff } from '../src/verify/sniff.js'
import { STRIP_TO_END } from '../src/verify/tiff.js'
import { apng } from './support/apng.js'
import {
  bmpAround,
  box,
  dimsOf,
  type Format,
  makeImage,
  makeTiff,
  metaLast,
  motionPhoto,
  truncatedCopy,
  u32,
  withMpf,
} from './support/images.js'

const DIR = new URL('./fixtures/images/', import.meta.url)
const fixture = (name: string): Buffer => readFileSync(new URL(name, DIR))
const NAMES = readdirSync(DIR)
  .filter((name) => name !== 'biome.json')
  .sort()

/** Feeds `body` to a fresh check in the chunks `split` makes (whole by default), then ends it. */
async function judge(ext: string, body: Uint8Array, split: (body: Uint8Array) => Uint8Array[] = (b) => [b]) {
  const check = completenessCheck(ext)
  for (const chunk of split(body)) check.update(chunk)
  return check.end(async (offset, length) => body.subarray(offset, Math.min(offset + length, body.length)))
}

const every = (size: number) => (body: Uint8Array) => {
  const chunks: Uint8Array[] = []
  for (let at = 0; at < body.length; at += size) chunks.push(body.subarray(at, at + size))
  return chunks
}

/** Seeded uneven splits: chunk sizes from 1 to 300 bytes. */
const uneven = (seed: number) => (body: Uint8Array) => {
  const chunks: Uint8Array[] = []
  let s = seed
  for (let at = 0; at < body.length; ) {
    s = (s * 1103515245 + 12345) & 0x7fffffff
    const size = 1 + (s % 300)
    chunks.push(body.subarray(at, at + size))
    at += size
  }
  return chunks
}

const NO_TRAILER = 'GIF ends without its trailer'
/** A GIF's graphic control extension: introducer, label, block size 4 (then 4 bytes and a terminator). */
const CONTROL = Buffer.from([0x21, 0xf9, 0x04])
const complete = (verdict: Verdict, what: string) =>
  assert.equal(verdict.complete, true, `${what}: ${verdict.complete ? '' : verdict.reason}`)
/** Truncated; or a GIF cut between blocks, whole only when the transfer's framing says it ended there. */
const truncated = (verdict: Verdict, what: string) => {
  if (verdict.complete && verdict.unchecked === NO_TRAILER) return
  assert.equal(verdict.complete, false, `${what} judged whole`)
  if (!verdict.complete) assert.equal(verdict.kind, 'truncated', `${what}: ${verdict.reason}`)
}
const corrupt = (verdict: Verdict, what: string) => {
  assert.equal(verdict.complete, false, `${what} judged whole`)
  if (!verdict.complete) assert.equal(verdict.kind, 'corrupt', `${what}: ${verdict.reason}`)
}

test('every real image is whole, however its bytes are split into chunks', async () => {
  for (const name of NAMES) {
    const file = fixture(name)
    const ext = (await sniff(file))!.ext
    const whole = await judge(ext, file)
    complete(whole, name)
    for (const split of [every(1), every(2), every(3), every(7), every(64), uneven(1), uneven(2)]) {
      assert.deepEqual(await judge(ext, file, split), whole, name)
    }
  }
})

/** Whether an SVG cut after `text` is whole: the root closed and only whitespace or whole comments after it. */
function svgWholeAt(text: string, rootEnd: number): boolean {
  const t = text.trimEnd()
  return t.length >= rootEnd && (t.endsWith('</svg>') || t.endsWith('-->'))
}

test('a real image cut anywhere before its structure ends is truncated, never whole, never called corrupt', async () => {
  for (const name of NAMES) {
    if (name === 'bare.jxl') continue // see 'a bare JPEG XL codestream'
    const file = fixture(name)
    const ext = (await sniff(file))!.ext
    const text = file.toString('latin1')
    const rootEnd = text.lastIndexOf('</svg>') + 6
    // A JPEG cut in its end-of-image marker, after its last scan: whole, but unchecked.
    const scansEnd = ext === 'jpg' ? file.length - 2 : file.length
    // A PNG whose IEND follows its last IDAT, cut just before IEND or inside it: whole, but unchecked.
    for (let cut = 0; cut < file.length; cut++) {
      const verdict = await judge(ext, file.subarray(0, cut))
      if (ext === 'svg' && svgWholeAt(text.slice(0, cut), rootEnd)) complete(verdict, `${name} cut at ${cut}`)
      else if (ext === 'png' && cut >= file.length - 12 && idatLast(file))
        assert.equal(verdict.complete && verdict.unchecked, NO_IEND, `${name} cut at ${cut}`)
      else if (cut >= scansEnd)
        assert.equal(verdict.complete && verdict.unchecked, NO_EOI, `${name} cut at ${cut}`)
      else truncated(verdict, `${name} cut at ${cut}`)
    }
  }
})

test('issue 10, case 3: a JPEG that stops at 55 % with no length to check is truncated', async () => {
  const image = makeImage('issue-10-case-3', 200_000)
  const verdict = await judge('jpg', truncatedCopy(image, 110_000), every(16 * 1024))
  assert.deepEqual(verdict, { complete: false, kind: 'truncated', reason: 'JPEG has no end-of-image marker' })
})

/** An RGB PNG of noise from `seed` (mulberry32): the same bytes on every run, unlike libvips' own noise. */
async function noisePng(seed: number, width: number, height: number): Promise<Buffer> {
  const random = () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const pixels = Buffer.from(Array.from({ length: width * height * 3 }, () => Math.round(random() * 255)))
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer()
}

test('a sequential JPEG without its end-of-image marker: whole but unchecked when its last scan holds every MCU; cut in a scan or zero-filled, truncated', async () => {
  // Browsers, libjpeg and Pillow show such a file whole; it was truncated, however it came.
  // Noise from a seeded generator (mulberry32), not libvips' own, which differs on every run: one
  // run in about six drew an image where the assertions below do not hold. They are the walk's
  // limits, not kept as tests: with NOISE_SEED=8 or 13 the CMYK file's zeros after a cut decode to
  // exactly its last MCU (judged whole, unchecked: never kept without a marked end), with 16 its
  // whole last scan is judged cut (3 seeds of 1-30).
  const noise = await noisePng(Number(process.env.NOISE_SEED ?? 7), 101, 67)
  const made = {
    '4:2:0, partial MCUs': await sharp(noise).jpeg().toBuffer(),
    '4:4:4': await sharp(noise).jpeg({ chromaSubsampling: '4:4:4' }).toBuffer(),
    grey: await sharp(noise).grayscale().jpeg().toBuffer(),
    cmyk: await sharp(noise).toColourspace('cmyk').jpeg().toBuffer(),
  }
  const files: [string, Buffer][] = [
    ...['baseline.jpg', 'restart.jpg', 'exif-thumbnail.jpg'].map((n): [string, Buffer] => [n, fixture(n)]),
    ...Object.entries(made),
  ]
  for (const [name, file] of files) {
    const noEoi = file.subarray(0, file.length - 2)
    const { width, height } = (await judge('jpg', file)) as { width: number; height: number }
    for (const body of [noEoi, file.subarray(0, file.length - 1)]) {
      for (const split of [(b: Uint8Array) => [b], every(7), uneven(3)]) {
        assert.deepEqual(
          await judge('jpg', body, split),
          { complete: true, width, height, unchecked: NO_EOI },
          name,
        )
      }
    }
    for (const cut of [noEoi.length - 1, noEoi.length - 2, Math.floor(noEoi.length * 0.9), 700]) {
      truncated(await judge('jpg', noEoi.subarray(0, cut)), `${name} cut at ${cut}`)
      // Zeros where the rest was (a preallocated file written only so far) decode as codes, but
      // run on past the last MCU.
      const filled = Buffer.concat([noEoi.subarray(0, cut), Buffer.alloc(noEoi.length - cut)])
      truncated(await judge('jpg', filled), `${name} zero-filled from ${cut}`)
    }
    // Bytes after the last scan that are not its end marker's: nothing says where the image ends.
    truncated(await judge('jpg', Buffer.concat([noEoi, Buffer.from('\n')])), `${name} and a newline`)
  }
  const progressive = fixture('progressive.jpg')
  assert.deepEqual(
    await judge('jpg', progressive.subarray(0, progressive.length - 2)),
    { complete: true, width: 64, height: 48, unchecked: NO_EOI },
    'a progressive JPEG',
  )
})

/** Progressive JPEGs from libjpeg-turbo's and mozjpeg's scan scripts, small enough to cut everywhere. */
async function progressiveJpegs(): Promise<[string, Buffer][]> {
  const noise = await noisePng(11, 37, 29)
  return [
    // ImageMagick's (libjpeg's scan script), and jpegtran's with a restart marker every MCU row.
    ['progressive.jpg', fixture('progressive.jpg')],
    ['progressive-restart.jpg', fixture('progressive-restart.jpg')],
    ['4:2:0, partial MCUs', await sharp(noise).jpeg({ progressive: true }).toBuffer()],
    ['mozjpeg', await sharp(noise).jpeg({ progressive: true, mozjpeg: true }).toBuffer()],
    ['4:4:4', await sharp(noise).jpeg({ progressive: true, chromaSubsampling: '4:4:4' }).toBuffer()],
    ['grey', await sharp(noise).grayscale().jpeg({ progressive: true }).toBuffer()],
    ['cmyk', await sharp(noise).toColourspace('cmyk').jpeg({ progressive: true }).toBuffer()],
  ]
}

// a progressive JPEG whose writer left out its end-of-image marker was truncated on every
// attempt and rerun, its length met, where browsers and libvips show it and curl and wget2 keep it.
test('a progressive JPEG without its end-of-image marker: whole but unchecked when its scans bring every coefficient to its last bit; cut anywhere else, between two scans too, truncated', async () => {
  for (const [name, file] of await progressiveJpegs()) {
    assert.ok(file.includes(Buffer.from([0xff, 0xc2])), `${name} is progressive (SOF2)`)
    const { width, height } = (await judge('jpg', file)) as { width: number; height: number }
    const noEoi = file.subarray(0, file.length - 2)
    for (const split of [(b: Uint8Array) => [b], every(7), uneven(3)]) {
      assert.deepEqual(
        await judge('jpg', noEoi, split),
        { complete: true, width, height, unchecked: NO_EOI },
        name,
      )
    }
    // Every cut: only the body that lacks the marker (or its second byte) is whole without it.
    let wholes = 0
    for (let cut = 0; cut <= file.length; cut++) {
      const verdict = await judge('jpg', file.subarray(0, cut))
      if (cut === file.length) assert.deepEqual(verdict, { complete: true, width, height }, name)
      else if (cut >= noEoi.length)
        assert.equal(verdict.complete && verdict.unchecked, NO_EOI, `${name} cut at ${cut}`)
      else truncated(verdict, `${name} cut at ${cut}`)
      if (verdict.complete) wholes++
    }
    assert.equal(wholes, 3, name)
    // Cut between two scans (where one scan's data ends, before the next one's tables and header),
    // every MCU of the last scan is there, but some coefficient is short of its last bit: named
    // here, though every cut above is one of them too.
    const ends: number[] = []
    const SOS = Buffer.from([0xff, 0xda])
    for (let at = file.indexOf(SOS); at !== -1; at = file.indexOf(SOS, at + 2)) {
      let end = at + 2 + file.readUInt16BE(at + 2)
      while (!(file[end] === 0xff && file[end + 1] !== 0 && (file[end + 1] & 0xf8) !== 0xd0)) end++
      ends.push(end)
    }
    assert.ok(ends.length >= 3, `${name}: ${ends.length} scans`)
    for (const end of ends.slice(0, -1))
      truncated(await judge('jpg', file.subarray(0, end)), `${name} cut after the scan ending at ${end}`)
    assert.equal(ends.at(-1), noEoi.length, name)
    // Zeros where the rest was (a preallocated file written only so far).
    for (const cut of [Math.floor(noEoi.length * 0.5), Math.floor(noEoi.length * 0.9), noEoi.length - 10]) {
      const filled = Buffer.concat([noEoi.subarray(0, cut), Buffer.alloc(noEoi.length - cut)])
      truncated(await judge('jpg', filled), `${name} zero-filled from ${cut}`)
    }
    truncated(await judge('jpg', Buffer.concat([noEoi, Buffer.from('\n')])), `${name} and a newline`)
  }
})

// A JPEG cut between two scans and closed with an end-of-image marker (a proxy or tool that
// "repairs" a cut file, as Pillow closes one: python-pillow/Pillow#3023) was kept whole by a plain
// download: libjpeg decodes it without a warning, grey (libjpeg-turbo/libjpeg-turbo#343), and only
// --verify decode and the transform options refused it. The scan headers show it where a component
// is never sent: a sequential file's scans of one component each, a progressive one's DC sent a
// component a scan (cjpeg -scans: 0: 0-0; 1: 0-0; 2: 0-0; 0: 1-63).
const SCRIPTS = new URL('./fixtures/jpeg-scripts/', import.meta.url)

test('a JPEG cut between two scans and closed with an end-of-image marker is truncated where some component is never sent', async () => {
  const EOI = Buffer.from([0xff, 0xd9])
  const SOS = Buffer.from([0xff, 0xda])
  const separate = readFileSync(new URL('./fixtures/transform/non-interleaved.jpg', import.meta.url))
  const dcApart = readFileSync(new URL('dc-apart.jpg', SCRIPTS))
  for (const [name, file, shortScans] of [
    ['non-interleaved.jpg', separate, 2],
    ['dc-apart.jpg', dcApart, 2],
  ] as const) {
    complete(await judge('jpg', file), name)
    const second = file.indexOf(SOS, file.indexOf(SOS) + 2)
    const third = file.indexOf(SOS, second + 2)
    const starts = [second, third].slice(0, shortScans)
    for (const at of starts) {
      const verdict = await judge('jpg', Buffer.concat([file.subarray(0, at), EOI]), uneven(at))
      truncated(verdict, `${name} cut before the scan at ${at}, an end-of-image marker after it`)
      assert.match(
        verdict.complete ? '' : verdict.reason,
        /^a JPEG whose scans never send component [23] of 3 \(a file cut between scans and closed with an end marker: a viewer shows it [^)]+\), its end-of-image marker at byte \d+$/,
      )
    }
  }
})

// A progressive JPEG need not bring every coefficient to its last bit: libjpeg's encoder writes a scan
// script that leaves the chroma's AC a bit short, or sends only the chroma's DC (jcmaster.c's
// validate_script asks only that each component's DC be sent), and its decoder reads it without a
// word. Such files, cjpeg's own, were truncated ("a progressive JPEG whose scans leave component 2's
// coefficients 1-63 short of their last bit").
test("a progressive JPEG whose scan script leaves coefficients short of their last bit, or sends only a component's DC, is whole", async () => {
  for (const name of ['chroma-unrefined.jpg', 'chroma-dc-only.jpg', 'dc-apart.jpg']) {
    const file = readFileSync(new URL(name, SCRIPTS))
    assert.ok(file.includes(Buffer.from([0xff, 0xc2])), `${name} is progressive (SOF2)`)
    complete(await judge('jpg', file), name)
    complete(await judge('jpg', file, uneven(5)), name)
  }
})

test('the walk of a progressive JPEG never throws, and never takes a cut body, or one with bytes flipped in its scans, for whole', async () => {
  // Seeded cuts, and cuts with bytes flipped anywhere (headers too: a frame may then say anything),
  // as hostile or broken files bring them.
  let seed = 5
  const next = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    return seed % n
  }
  for (const [name, file] of await progressiveJpegs()) {
    const noEoi = file.subarray(0, file.length - 2)
    const firstScan = file.indexOf(Buffer.from([0xff, 0xda]))
    for (let trial = 0; trial < 300; trial++) {
      const cut = 2 + next(noEoi.length - 3)
      const body = Buffer.from(noEoi.subarray(0, cut))
      assert.equal(jpegScansWhole(body), false, `${name} cut at ${cut}`)
      const anywhere = Buffer.from(noEoi)
      for (let k = 0; k <= next(4); k++) anywhere[next(anywhere.length)] ^= 1 << next(8)
      assert.equal(typeof jpegScansWhole(anywhere), 'boolean', `${name} flipped`)
      assert.equal(
        typeof jpegScansWhole(anywhere.subarray(0, cut)),
        'boolean',
        `${name} flipped, cut at ${cut}`,
      )
      // A cut body whose scan data has bytes flipped: still cut.
      for (let k = 0; k <= next(4); k++) body[firstScan + next(Math.max(1, cut - firstScan))] ^= 1 << next(8)
      assert.equal(jpegScansWhole(body), false, `${name} cut at ${cut}, scan bytes flipped`)
    }
  }
})

/**
 * A progressive greyscale JPEG made by hand to spend the walk: a DC scan (one bit a block), then
 * every AC coefficient in a scan of its own, first to bit 13 and refined a bit at a time to bit 0
 * (882 scans), each an end-of-band run of 32,767 blocks coded in 15 bits (a code of one bit for
 * EOB14, and 14 bits of 1s), as often as the blocks need.
 */
function spendingJpeg(side: number): Buffer {
  const blocks = (side / 8) ** 2
  const segment = (marker: number, data: number[]) => Buffer.from([0xff, marker, 0, data.length + 2, ...data])
  const bits = (count: number, bit: (i: number) => number) => {
    const out: number[] = []
    for (let i = 0; i < count; i += 8) {
      let v = 0
      for (let j = i; j < i + 8; j++) v = (v << 1) | (j < count ? bit(j) : 1)
      out.push(v)
      if (v === 0xff) out.push(0)
    }
    return Buffer.from(out)
  }
  const runs = Math.ceil(blocks / 32767)
  const run = bits(runs * 15, (i) => (i % 15 === 0 ? 0 : 1))
  const parts = [
    Buffer.from([0xff, 0xd8]),
    segment(0xc2, [8, side >> 8, side & 255, side >> 8, side & 255, 1, 1, 0x11, 0]),
    segment(0xc4, [0x00, 1, ...Array(15).fill(0), 0x00]), // DC: one code, a difference of 0
    segment(0xc4, [0x10, 1, ...Array(15).fill(0), 0xe0]), // AC: one code, EOB14
    segment(0xda, [1, 1, 0x00, 0, 0, 0x00]),
    bits(blocks, () => 0),
  ]
  for (let k = 1; k <= 63; k++)
    for (const ah of [0, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1])
      parts.push(segment(0xda, [1, 1, 0x00, k, k, (ah << 4) | (ah === 0 ? 13 : ah - 1)]), run)
  return Buffer.concat(parts)
}

test('the walk of a progressive JPEG is bounded: a frame of more blocks than it can hold, or scans that would visit them more than 2^26 times, leave it refused', () => {
  // The same scans over 1,024 blocks: whole (903,168 visits).
  assert.equal(jpegScansWhole(spendingJpeg(256)), true)
  // Over 262,144 blocks (under the 8 million kept), 231 million visits: refused by the visit
  // bound alone, not walked (walked whole, the same scans are whole, as over 1,024 blocks).
  assert.equal(jpegScansWhole(spendingJpeg(4096)), false)
  // 65535 × 65535: 67 million blocks, where 8 million is the most kept (64 MB); and a frame of
  // more blocks than its body has bits, as each block's DC takes one at least.
  const huge = spendingJpeg(256)
  huge.writeUInt16BE(65535, huge.indexOf(Buffer.from([0xff, 0xc2])) + 5)
  huge.writeUInt16BE(65535, huge.indexOf(Buffer.from([0xff, 0xc2])) + 7)
  assert.equal(jpegScansWhole(Buffer.concat([huge, Buffer.alloc(9_000_000)])), false)
  const tall = spendingJpeg(256)
  tall.writeUInt16BE(8192, tall.indexOf(Buffer.from([0xff, 0xc2])) + 5)
  assert.equal(jpegScansWhole(tall), false)
})

// A camera's web server that closes a frame cut short with an end-of-image marker (an IoT camera's
// JPEG sent over a link that lost its last packets, 'so I just add 0xFF 0xD9 at the end':
// brendan-duncan/image#230; Pillow does the same to a truncated file, python-pillow/Pillow#3023):
// the marker followed a scan, so it was whole, and libjpeg fills the rest grey ('premature end').
// Where the file sets a restart interval (DRI, as cameras do), its scans must hold one restart marker
// after every interval but the last (ITU-T T.81 §B.2.4.4): a scan cut and closed holds fewer. This is
// read from the markers alone, for Huffman, arithmetic and progressive files alike.
test('a JPEG with restart intervals, cut in a scan and closed with an end-of-image marker, is truncated', async () => {
  const eoi = Buffer.from([0xff, 0xd9])
  const sosMarker = Buffer.from([0xff, 0xda])
  for (const [name, intervals] of [
    ['restart.jpg', 3],
    ['progressive-restart.jpg', 0],
  ] as const) {
    const file = fixture(name)
    complete(await judge('jpg', file), name)
    const rsts: number[] = []
    for (let at = file.indexOf(0xff); at !== -1; at = file.indexOf(0xff, at + 1))
      if ((file[at + 1] & 0xf8) === 0xd0) rsts.push(at)
    assert.ok(rsts.length >= 2, name)
    // Cut before a scan's last restart marker, closed: fewer markers than its intervals. (Cut
    // before its first, none: as a writer that sets an interval and writes no markers, let go.)
    const cuts = rsts.filter(
      (at, k) => k > 0 && rsts[k - 1] < at - 3 && file.lastIndexOf(sosMarker, at) < rsts[k - 1],
    )
    assert.ok(cuts.length >= 1, name)
    for (const rst of cuts) {
      const cut = Buffer.concat([file.subarray(0, rst - 3), eoi])
      const verdict = await judge('jpg', cut)
      assert.equal(verdict.complete, false, `${name} cut at ${rst - 3} and closed`)
      assert.match(
        (verdict as { reason: string }).reason,
        /^JPEG scan \d+ ends at byte \d+ after \d+ of its \d+ restart intervals$/,
      )
      for (const split of [every(1), every(7)])
        assert.deepEqual(await judge('jpg', cut, split), verdict, name)
    }
    if (intervals)
      assert.deepEqual(await judge('jpg', Buffer.concat([file.subarray(0, rsts[1] - 3), eoi])), {
        complete: false,
        kind: 'truncated',
        reason: `JPEG scan 1 ends at byte ${rsts[1] - 3} after 2 of its ${intervals} restart intervals`,
      })
    // Cut in the last interval, nothing shows it (as in a file without restart intervals).
    complete(
      await judge('jpg', Buffer.concat([file.subarray(0, file.length - 3), eoi])),
      `${name} cut in its last interval`,
    )
  }
})

test("an EXIF thumbnail's end-of-image marker inside APP1 does not end the JPEG", async () => {
  const file = fixture('exif-thumbnail.jpg')
  const app1 = file.indexOf(Buffer.from([0xff, 0xe1]))
  const thumbnailEnd = file.indexOf(Buffer.from([0xff, 0xd9])) + 2
  assert.ok(app1 > 0 && thumbnailEnd <= app1 + 2 + file.readUInt16BE(app1 + 2), 'the first FFD9 lies in APP1')
  truncated(await judge('jpg', file.subarray(0, thumbnailEnd)), 'cut after the thumbnail')
  assert.deepEqual(await judge('jpg', file), { complete: true, width: 64, height: 48 })
})

test('bytes after a whole structure: allowed where the format is read to a marker or by offsets', async () => {
  const junk = Buffer.from('trailing bytes: <html>not part of the image</html>')
  const jpeg = fixture('baseline.jpg')
  const motionVideo = Buffer.concat([
    box('ftyp', Buffer.from('mp42'), u32(0), Buffer.from('isom')),
    box('mdat', junk),
  ])
  const allowed: [string, string, Buffer][] = [
    ['a second image (MPF) after a JPEG', 'jpg', Buffer.concat([jpeg, fixture('progressive.jpg')])],
    ['a motion-photo video after a JPEG', 'jpg', Buffer.concat([jpeg, motionVideo])],
    ['zero padding after a JPEG', 'jpg', Buffer.concat([jpeg, Buffer.alloc(4096)])],
    ['bytes after PNG IEND', 'png', Buffer.concat([fixture('rgba.png'), junk])],
    ['bytes after the GIF trailer', 'gif', Buffer.concat([fixture('animated.gif'), junk])],
    ['bytes after the WebP RIFF size', 'webp', Buffer.concat([fixture('lossy.webp'), junk])],
    ['bytes after a TIFF', 'tif', Buffer.concat([fixture('two-pages.tif'), junk])],
    ['bytes after BMP pixels', 'bmp', Buffer.concat([fixture('v3.bmp'), junk])],
    ['bytes after ICO images', 'ico', Buffer.concat([fixture('three-sizes.ico'), junk])],
    ['whitespace and a comment after the SVG root', 'svg', Buffer.from('<svg></svg>\n<!-- x -->\n\n')],
    ['a processing instruction after the SVG root', 'svg', Buffer.from('<svg></svg><?pi x?>')],
    ['a whole free box after an AVIF', 'avif', Buffer.concat([fixture('plain.avif'), box('free', junk)])],
    ['a whole free box after a JP2', 'jp2', Buffer.concat([fixture('plain.jp2'), box('free', junk)])],
  ]
  for (const [what, ext, body] of allowed) complete(await judge(ext, body), what)
  // A JPEG's bytes after EOI are whole, but where they end nothing in the file says: `unchecked`,
  // for a body whose end the transfer did not mark (see FileCheck.finish).
  assert.deepEqual(await judge('jpg', Buffer.concat([jpeg, motionVideo])), {
    complete: true,
    width: 64,
    height: 48,
    unchecked: `${motionVideo.length} bytes follow the JPEG's end-of-image marker`,
  })
  const mpf = withMpf(jpeg, fixture('progressive.jpg'))
  assert.deepEqual(await judge('jpg', Buffer.concat([mpf, junk])), {
    complete: true,
    width: 64,
    height: 48,
    unchecked: `${junk.length} bytes follow the images the JPEG's MPF index lists`,
  })
  assert.deepEqual(await judge('jpg', jpeg), { complete: true, width: 64, height: 48 })
  // Boxes must walk to the end: what follows the last box is a box cut short; but in a HEIF whose
  // items all lie before it, bytes that are no box are let go, whole but unchecked (see below).
  for (const name of ['plain.avif', 'grid-300x40.heic', 'container.jxl', 'plain.jp2']) {
    const ext = (await sniff(fixture(name)))!.ext
    const verdict = await judge(ext, Buffer.concat([fixture(name), junk]))
    if (ext === 'avif' || ext === 'heic')
      assert.deepEqual(
        verdict,
        { ...(await judge(ext, fixture(name))), unchecked: `${junk.length} bytes follow the last box` },
        `${name} + junk`,
      )
    else truncated(verdict, `${name} + junk`)
  }
  // Fewer bytes than a box header (a newline a script printed after the file) are no box's content:
  // whole, as libheif and browsers read the file, but unchecked, as bytes after a JPEG's EOI are.
  for (const name of [
    'plain.avif',
    'grid-300x40.heic',
    'container.jxl',
    'recompressed-jpeg.jxl',
    'plain.jp2',
  ]) {
    const file = fixture(name)
    const ext = (await sniff(file))!.ext
    const whole = await judge(ext, file)
    assert.equal(whole.complete && whole.unchecked, undefined, name)
    for (const tail of ['\n', '\r\n', '\0\0\0\0\0\0\0']) {
      for (const split of [(b: Uint8Array) => [b], every(1), uneven(7)]) {
        assert.deepEqual(
          await judge(ext, Buffer.concat([file, Buffer.from(tail, 'latin1')]), split),
          { ...whole, unchecked: `${tail.length} bytes follow the last box` },
          `${name} + ${JSON.stringify(tail)}`,
        )
      }
    }
  }
  // A box cut inside its header after an image that is not all there is still cut.
  const heic = fixture('grid-64x48.heic')
  const mdat = heic.indexOf(Buffer.from('mdat')) - 4
  assert.ok(mdat > 0)
  for (const n of [1, 4, 7])
    truncated(await judge('heic', heic.subarray(0, mdat + n)), `mdat header cut at ${n}`)
  // XML allows nothing but comments, processing instructions and whitespace after the root.
  corrupt(await judge('svg', Buffer.from('<svg></svg>\ntext')), 'text after the SVG root')
  corrupt(await judge('svg', Buffer.from('<svg></svg><svg></svg>')), 'a second root')
})

test("a JPEG whose MPF index lists an image after EOI: whole, but unchecked while the body stops short of that image's end", async () => {
  const primary = fixture('baseline.jpg')
  const secondary = fixture('progressive.jpg')
  const file = withMpf(primary, secondary)
  const primaryEnd = file.length - secondary.length
  for (const split of [(b: Uint8Array) => [b], every(1), every(3), every(7), uneven(5)]) {
    assert.deepEqual(await judge('jpg', file, split), { complete: true, width: 64, height: 48 })
    for (const cut of [primaryEnd, primaryEnd + 1, file.length - 1]) {
      assert.deepEqual(await judge('jpg', file.subarray(0, cut), split), {
        complete: true,
        width: 64,
        height: 48,
        unchecked: `JPEG's MPF index lists images to byte ${file.length}, past the body's ${cut}`,
      })
    }
    truncated(await judge('jpg', file.subarray(0, primaryEnd - 1), split), 'cut before the primary EOI')
  }
  // An index it cannot read (no byte order) says nothing: the JPEG is whole at its EOI, as before.
  const unreadable = Buffer.from(file)
  unreadable.write('XX', 10, 'latin1')
  complete(await judge('jpg', unreadable.subarray(0, primaryEnd)), 'an unreadable MPF index')
  // Another APP2 (an ICC profile) before it is passed over.
  const icc = Buffer.concat([Buffer.from([0xff, 0xe2, 0, 20]), Buffer.from('ICC_PROFILE\0'), Buffer.alloc(6)])
  const withIcc = Buffer.concat([primary.subarray(0, 2), icc, withMpf(primary, secondary).subarray(2)])
  const cut = withIcc.length - 100
  const verdict = await judge('jpg', withIcc.subarray(0, cut), every(5))
  assert.equal(
    verdict.complete && verdict.unchecked,
    `JPEG's MPF index lists images to byte ${withIcc.length}, past the body's ${cut}`,
  )
})

test('a motion photo or an Ultra HDR JPEG whose XMP lists items after EOI: whole where they end, unchecked short of it or past it', async () => {
  // A Pixel's motion photo (Motion Photo format 1.0): the video follows the still image, its length
  // in the XMP's Container:Directory. Cut at the still's end marker it was whole, and kept from a
  // connection that closed there, the video lost; whole, read to the close, it was unchecked.
  const primary = fixture('baseline.jpg')
  const gainMap = fixture('progressive.jpg')
  const video = Buffer.concat([
    box('ftyp', Buffer.from('mp42'), u32(0), Buffer.from('isom')),
    box('mdat', Buffer.alloc(3000, 9)),
  ])
  const mpfAndGainMap = withMpf(primary, gainMap)
  const files: [string, Buffer, number][] = [
    ['a motion photo', motionPhoto(primary, [video]), video.length],
    ['a MicroVideo 1 motion photo', motionPhoto(primary, [video], { micro: true }), video.length],
    ['an Ultra HDR motion photo', motionPhoto(primary, [gainMap, video]), gainMap.length + video.length],
    // Its gain map listed in an MPF index too: a cut past it is still short of the video.
    [
      'an Ultra HDR motion photo with an MPF index',
      motionPhoto(mpfAndGainMap.subarray(0, -gainMap.length), [gainMap, video]),
      gainMap.length + video.length,
    ],
  ]
  const size = { width: 64, height: 48 }
  for (const [name, file, after] of files) {
    const eoi = file.length - after
    for (const split of [(b: Uint8Array) => [b], every(1), every(7), uneven(9)]) {
      assert.deepEqual(await judge('jpg', file, split), { complete: true, ...size }, name)
      for (const cut of [eoi, eoi + 1, file.length - video.length, file.length - 1]) {
        assert.deepEqual(
          await judge('jpg', file.subarray(0, cut), split),
          {
            complete: true,
            ...size,
            unchecked: `JPEG's XMP container directory lists items to byte ${file.length}, past the body's ${cut}`,
          },
          `${name} cut at ${cut}`,
        )
      }
      truncated(await judge('jpg', file.subarray(0, eoi - 1), split), `${name} cut before its EOI`)
      assert.deepEqual(
        await judge('jpg', Buffer.concat([file, Buffer.from('\n\n')]), split),
        {
          complete: true,
          ...size,
          unchecked: "2 bytes follow the items the JPEG's XMP container directory lists",
        },
        `${name} and two newlines`,
      )
    }
  }
  // A directory it cannot read (an item after the primary without a length) says nothing: as before.
  const unread = motionPhoto(primary, [video])
  const at = unread.indexOf(`Item:Length="${video.length}"`)
  unread.write(`Item:Lenxth="${video.length}"`, at, 'latin1')
  assert.deepEqual(await judge('jpg', unread), {
    complete: true,
    ...size,
    unchecked: `${video.length} bytes follow the JPEG's end-of-image marker`,
  })
  complete(await judge('jpg', unread.subarray(0, unread.length - video.length)), 'unread directory, at EOI')
})

test('JPEG: fill bytes, restart markers and byte stuffing; a broken structure is corrupt', async () => {
  const file = fixture('baseline.jpg')
  // FF fill bytes may precede any marker (T.81 B.1.1.2).
  const filled = Buffer.concat([file.subarray(0, 2), Buffer.from([0xff, 0xff, 0xff]), file.subarray(2)])
  complete(await judge('jpg', filled, every(1)), 'fill before APP0')
  const sos = file.indexOf(Buffer.from([0xff, 0xda]))
  const eoi = file.length - 2
  const scan = (data: number[]) =>
    Buffer.concat([file.subarray(0, sos + 14), Buffer.from(data), file.subarray(eoi)])
  complete(
    await judge('jpg', scan([1, 0xff, 0, 2, 0xff, 0xd0, 3, 0xff, 0xff, 0xd7, 4]), every(1)),
    'stuffing and RSTn',
  )
  const broken: [string, Buffer][] = [
    ['no start-of-image', file.subarray(2)],
    ['EOI before any scan', Buffer.concat([file.subarray(0, sos), Buffer.from([0xff, 0xd9])])],
    [
      'a scan before any frame header',
      Buffer.from([0xff, 0xd8, 0xff, 0xda, 0, 8, 1, 1, 0, 0, 63, 0, 1, 2, 0xff, 0xd9]),
    ],
    ['a segment length under 2', Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 1, 0xff, 0xd9])],
    ['a second start-of-image in the scan', scan([1, 2, 0xff, 0xd8, 3])],
  ]
  for (const [what, body] of broken) corrupt(await judge('jpg', body), what)
})

test('JPEG: bytes between segments are passed over to the next marker, as libjpeg passes them', async () => {
  // libjpeg warns "Corrupt JPEG data: N extraneous bytes before marker 0xdb" and decodes the whole
  // image; browsers, Pillow and libvips (failOn 'error') show it. Writers and webcams leave them.
  const file = fixture('baseline.jpg')
  const dqt = file.indexOf(Buffer.from([0xff, 0xdb]))
  const between = (junk: number[]) =>
    Buffer.concat([file.subarray(0, dqt), Buffer.from(junk), file.subarray(dqt)])
  const cases: [string, Buffer][] = [
    ['a stray byte before DQT', between([0x00])],
    ['18 bytes before DQT', between([...Buffer.from('not a marker here')])],
    ['a stuffed zero (FF 00) before DQT', between([0xff, 0x00])],
    ['a stray byte after SOI', Buffer.concat([file.subarray(0, 2), Buffer.from([0x0a]), file.subarray(2)])],
  ]
  for (const [what, body] of cases) {
    for (const split of [(b: Uint8Array) => [b], every(1), every(3), uneven(4)]) {
      assert.deepEqual(await judge('jpg', body, split), { complete: true, width: 64, height: 48 }, what)
    }
  }
  // Zeros where the rest of the file belongs are still no end.
  truncated(await judge('jpg', Buffer.concat([file.subarray(0, dqt), Buffer.alloc(4096)])), 'zero-filled')
})

test('a bare JPEG 2000 codestream: its tile-parts walked by their lengths to the end marker', async () => {
  // plain.j2c is plain.jp2's jp2c box alone: SOC, SIZ, COD, QCD, COM, one tile-part, EOC.
  const file = fixture('plain.j2c')
  assert.deepEqual(await judge('j2c', file), { complete: true, width: 64, height: 48 })
  const sot = file.indexOf(Buffer.from([0xff, 0x90, 0, 10]))
  const psot = file.readUInt32BE(sot + 6)
  const edited = (edit: (b: Buffer) => void) => {
    const b = Buffer.from(file)
    edit(b)
    return b
  }
  // Psot 0: the last tile-part runs to EOC (A.4.2), whole where the body ends in it.
  const toEoc = edited((b) => b.writeUInt32BE(0, sot + 6))
  complete(await judge('j2c', toEoc), 'Psot 0')
  truncated(await judge('j2c', toEoc.subarray(0, -1)), 'Psot 0, cut in EOC')
  truncated(await judge('j2c', toEoc.subarray(0, -100)), 'Psot 0, cut in its data')
  // Two tile-parts of one tile, the first's length shortened and a second SOT before the rest.
  const first = 200
  const second = Buffer.concat([Buffer.from([0xff, 0x90, 0, 10, 0, 0]), Buffer.alloc(4), Buffer.from([1, 2])])
  second.writeUInt32BE(psot - first + 12, 6)
  const two = Buffer.concat([file.subarray(0, sot + first), second, file.subarray(sot + first)])
  two.writeUInt32BE(first, sot + 6)
  two[sot + 11] = 2 // TNsot: two tile-parts
  assert.deepEqual(await judge('j2c', two), { complete: true, width: 64, height: 48 })
  // Bytes after EOC are kept, unlooked at, as after a JPEG's end marker.
  const after = await judge('j2c', Buffer.concat([file, Buffer.from('\r\n')]))
  assert.equal(after.complete && after.unchecked, "2 bytes follow the JPEG 2000 codestream's end marker")
  for (const [what, body] of [
    ['a tile-part longer than the body', edited((b) => b.writeUInt32BE(psot + 1, sot + 6))],
    ['no EOC after the last tile-part', file.subarray(0, -2)],
  ] as const)
    truncated(await judge('j2c', body), what)
  for (const [what, body] of [
    ['a tile-part followed by no marker', edited((b) => b.writeUInt32BE(psot - 1, sot + 6))],
    ['a SOT segment of 12 bytes', edited((b) => b.writeUInt16BE(12, sot + 2))],
    ['a tile-part of 13 bytes', edited((b) => b.writeUInt32BE(13, sot + 6))],
    [
      'COD before SIZ',
      Buffer.concat([
        file.subarray(0, 2),
        file.subarray(2 + 49, 2 + 49 + 14),
        file.subarray(2, 2 + 49),
        file.subarray(2 + 63),
      ]),
    ],
    ['a main header segment of length 1', edited((b) => b.writeUInt16BE(1, 2 + 49 + 2))],
  ] as const)
    corrupt(await judge('j2c', body), what)
})

// A JP2 whose jp2c box holds bytes after its codestream's end marker (zeros or a newline a writer
// pads it with; a JPX stream cut out of a PDF: SerenityOS/serenity#26274), which OpenJPEG passes
// over as after a bare codestream's: it was `truncated` ('codestream has no end marker'); its
// codestream is walked to the marker now. Without it, or cut in a tile-part, truncated as before.
test('a JP2 whose jp2c box pads its codestream after the end marker is whole; a codestream cut short is not', async () => {
  const file = fixture('plain.jp2')
  const at = file.indexOf('jp2c') - 4
  assert.equal(file.readUInt32BE(at), file.length - at) // the last box
  const padded = (codestream: Buffer, pad: Buffer, size0 = false) => {
    const b = Buffer.concat([
      file.subarray(0, at),
      Buffer.from(u32(size0 ? 0 : 8 + codestream.length + pad.length)),
    ])
    return Buffer.concat([b, Buffer.from('jp2c'), codestream, pad])
  }
  const codestream = file.subarray(at + 8)
  for (const pad of [Buffer.alloc(3), Buffer.from('\n')])
    assert.deepEqual(await judge('jp2', padded(codestream, pad)), { complete: true })
  // A box that runs to the end: where its bytes end, nothing says, as after a bare codestream.
  const verdict = await judge('jp2', padded(codestream, Buffer.alloc(3), true))
  assert.equal(verdict.complete && verdict.unchecked, "3 bytes follow the JPEG 2000 codestream's end marker")
  for (const [what, body] of [
    ['no end marker, padded', padded(codestream.subarray(0, -2), Buffer.alloc(3))],
    ['cut in its tile-part, padded', padded(codestream.subarray(0, -100), Buffer.alloc(3))],
    ['cut in its tile-part, a box to the end', padded(codestream.subarray(0, -100), Buffer.alloc(0), true)],
  ] as const)
    assert.deepEqual(
      await judge('jp2', body),
      { complete: false, kind: 'truncated', reason: 'JPEG 2000 codestream has no end marker' },
      what,
    )
})

test('PNG, GIF: broken structures are corrupt', async () => {
  const png = fixture('rgba.png')
  const withoutIdat = Buffer.concat([
    png.subarray(0, 33),
    Buffer.from([0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0, 0, 0, 0]),
  ])
  corrupt(await judge('png', withoutIdat), 'no IDAT')
  const huge = Buffer.from(png)
  huge.writeUInt32BE(0x80000000, 33)
  corrupt(await judge('png', huge), 'a chunk length over 2^31-1')
  corrupt(await judge('png', Buffer.concat([png.subarray(0, 8), png.subarray(33)])), 'IHDR not first')
  // Apple's CgBI PNG (an iOS app bundle's): refused, and said so, not as a PNG whose IHDR is lost.
  const cgbi = Buffer.concat([
    png.subarray(0, 8),
    pngChunk('CgBI', Buffer.from([0x50, 0, 0x20, 2])),
    png.subarray(8),
  ])
  const verdict = await judge('png', cgbi)
  corrupt(verdict, 'a CgBI chunk before IHDR')
  assert.match(verdict.complete ? '' : verdict.reason, /Apple's CgBI variant/)
  const gif = fixture('animated.gif')
  corrupt(
    await judge('gif', Buffer.concat([gif.subarray(0, 13 + 768), Buffer.from([0x3b])])),
    'a trailer and no image',
  )
  corrupt(
    await judge('gif', Buffer.concat([gif.subarray(0, 13 + 768), Buffer.from([0x99, 0x3b])])),
    'an unknown block',
  )
})

test('GIF: without its trailer, whole but unchecked between blocks; a NUL in its place ends it', async () => {
  const gif = fixture('animated.gif')
  assert.equal(gif.at(-1), 0x3b)
  const bare = gif.subarray(0, gif.length - 1)
  const size = { width: 64, height: 48 }
  assert.deepEqual(await judge('gif', bare), { complete: true, ...size, unchecked: NO_TRAILER })
  for (const split of [every(1), every(7), uneven(3)])
    assert.deepEqual(await judge('gif', bare, split), { complete: true, ...size, unchecked: NO_TRAILER })
  // Cut inside the last image's data: truncated, framing or not.
  assert.deepEqual(await judge('gif', gif.subarray(0, gif.length - 3)), {
    complete: false,
    kind: 'truncated',
    reason: 'GIF ends before its trailer',
  })
  // Browsers and Go's image/gif take a NUL where the trailer belongs as the end (golang/go#38854).
  assert.deepEqual(await judge('gif', Buffer.concat([bare, Buffer.from([0x00])])), {
    complete: true,
    ...size,
  })
  assert.deepEqual(await judge('gif', Buffer.concat([bare, Buffer.from([0x00, 0x3b, 0x00])])), {
    complete: true,
    ...size,
  })
  // Cut right after a graphic control extension: the image it introduces never came (GIF89a §23),
  // so no end that could be one (it was whole but unchecked, kept where a length was met).
  const controls: number[] = []
  for (let at = gif.indexOf(CONTROL); at !== -1; at = gif.indexOf(CONTROL, at + 1)) controls.push(at + 8)
  assert.ok(controls.length > 1, 'one graphic control extension a frame')
  // The first frame's comes before any image: a GIF ending there was never whole.
  for (const at of controls.slice(1)) {
    for (const body of [
      gif.subarray(0, at),
      // A comment between the extension and its image changes nothing.
      Buffer.concat([gif.subarray(0, at), Buffer.from([0x21, 0xfe, 2, 0x68, 0x69, 0])]),
    ]) {
      for (const split of [(b: Uint8Array) => [b], every(1), uneven(3)])
        assert.deepEqual(
          await judge('gif', body, split),
          {
            complete: false,
            kind: 'truncated',
            reason: 'GIF ends after a graphic control extension, before the image it introduces',
          },
          `cut after the extension ending at ${at}`,
        )
    }
    // Its image whole after it: an end between blocks, as before.
    const image = controls.find((c) => c > at)
    if (image)
      assert.deepEqual(
        await judge('gif', gif.subarray(0, image - 8)),
        { complete: true, ...size, unchecked: NO_TRAILER },
        `cut before the extension at ${image - 8}`,
      )
  }
  // Zero-filled from a block on (a file preallocated and never written): no end, corrupt.
  corrupt(
    await judge('gif', Buffer.concat([bare, Buffer.alloc(5000)]), every(64)),
    'zeros after the last block',
  )
  corrupt(
    await judge('gif', Buffer.concat([gif.subarray(0, 13 + 768), Buffer.from([0x00, 0x3b])])),
    'a NUL before any image',
  )
})

test('GIF: NULs where a block belongs, after an image, are passed over; running to the end, corrupt', async () => {
  // Writers leave NULs between blocks and before the trailer (golang/go#38853: a traffic camera's
  // GIF ends 00 00 3B); Chromium, Firefox and Pillow show such a GIF. More than one was corrupt.
  const gif = fixture('animated.gif')
  const frames = 4119 // the second frame's graphic control extension
  assert.deepEqual([...gif.subarray(frames, frames + 2)], [0x21, 0xf9])
  const size = { width: 64, height: 48 }
  const nuls = (n: number, at: number, rest = gif.subarray(at)) =>
    Buffer.concat([gif.subarray(0, at), Buffer.alloc(n), rest])
  const end = gif.length - 1
  const cases: [string, Buffer, Verdict][] = [
    ['two before the trailer', nuls(2, end), { complete: true, ...size }],
    ['nine before the trailer', nuls(9, end), { complete: true, ...size }],
    ['one between frames', nuls(1, frames), { complete: true, ...size }],
    ['three between frames', nuls(3, frames), { complete: true, ...size }],
    [
      'between frames, no trailer',
      nuls(2, frames, gif.subarray(frames, end)),
      { complete: true, ...size, unchecked: NO_TRAILER },
    ],
    [
      'between frames, cut in the next',
      nuls(2, frames, gif.subarray(frames, end - 2)),
      { complete: false, kind: 'truncated', reason: 'GIF ends before its trailer' },
    ],
    ['one last, no trailer', nuls(1, end, Buffer.alloc(0)), { complete: true, ...size }],
    [
      'two last, no trailer',
      nuls(2, end, Buffer.alloc(0)),
      {
        complete: false,
        kind: 'corrupt',
        reason: `GIF is zero-filled from byte ${end}, where a block belongs`,
      },
    ],
    [
      'between frames, zero-filled after',
      nuls(40, frames, Buffer.alloc(0)),
      {
        complete: false,
        kind: 'corrupt',
        reason: `GIF is zero-filled from byte ${frames}, where a block belongs`,
      },
    ],
    [
      'then a byte no block begins with',
      nuls(2, end, Buffer.from('\n')),
      { complete: false, kind: 'corrupt', reason: `GIF has a block of unknown kind 0xa at byte ${end + 2}` },
    ],
  ]
  for (const [name, body, verdict] of cases)
    for (const split of [(b: Uint8Array) => [b], every(1), uneven(5)])
      assert.deepEqual(await judge('gif', body, split), verdict, name)
})

test('GIF: the size is the logical screen, grown to hold the first image, as browsers show it', async () => {
  const gif = fixture('animated.gif') // a 64x48 screen, the first image 64x48 at 0,0
  const descriptor = gif.indexOf(0x2c, 13 + 768)
  assert.equal(gif.readUInt16LE(descriptor + 5), 64)
  /** The GIF with its logical screen and its first image's place changed. */
  const variant = (screen: [number, number], at: [number, number]) => {
    const b = Buffer.from(gif)
    b.writeUInt16LE(screen[0], 6)
    b.writeUInt16LE(screen[1], 8)
    b.writeUInt16LE(at[0], descriptor + 1)
    b.writeUInt16LE(at[1], descriptor + 3)
    return b
  }
  // What Chromium's img.naturalWidth x naturalHeight gives for each.
  const table: [string, Buffer, number, number][] = [
    ['as written', gif, 64, 48],
    ['a screen of 0x0 (writers that leave it out)', variant([0, 0], [0, 0]), 64, 48],
    ['a 1x1 screen', variant([1, 1], [0, 0]), 64, 48],
    ['a screen wider than the image, not as tall', variant([100, 10], [0, 0]), 100, 48],
    ['the first image placed at 5,7 on its screen', variant([64, 48], [5, 7]), 69, 55],
    ['a larger screen holds the image', variant([200, 100], [5, 7]), 200, 100],
  ]
  for (const [what, body, width, height] of table) {
    for (const split of [(b: Uint8Array) => [b], every(1), uneven(6)])
      assert.deepEqual(await judge('gif', body, split), { complete: true, width, height }, what)
    const check = new FileCheck('none', undefined)
    check.update(body)
    await check.identify()
    const result = await check.finish(async () => new Uint8Array(0))
    assert.ok(result.ok)
    assert.deepEqual([result.checked.width, result.checked.height], [width, height], what)
  }
})

test("PNG: a critical or APNG chunk whose CRC fails is corrupt; another chunk's is let go, as libpng lets it", async () => {
  const png = fixture('rgba.png')
  const idat = png.indexOf(Buffer.from('IDAT'))
  const flipped = Buffer.from(png)
  flipped[idat + 10] ^= 0x01 // one bit of the compressed data
  assert.deepEqual(await judge('png', flipped, every(7)), {
    complete: false,
    kind: 'corrupt',
    reason: `PNG chunk IDAT fails its CRC (at byte ${idat + 4 + png.readUInt32BE(idat - 4)})`,
  })
  // IEND's CRC covers no data: a wrong one damages nothing (libvips reads the file).
  const iend = Buffer.from(png)
  iend[iend.length - 1] ^= 0xff
  complete(await judge('png', iend), 'a wrong IEND CRC')
  // A text chunk with a wrong CRC after IHDR: dropped by libpng with a warning, the image shown.
  /** A chunk with a CRC of 0, which none of these has. */
  const chunk = (type: string, data: string) => {
    const out = Buffer.alloc(12 + data.length)
    out.writeUInt32BE(data.length, 0)
    out.write(type + data, 4, 'latin1')
    return out
  }
  const after = (c: Buffer) => Buffer.concat([png.subarray(0, 33), c, png.subarray(33)])
  complete(await judge('png', after(chunk('tEXt', 'a\u0000bc')), every(3)), 'a bad CRC in tEXt')
  corrupt(await judge('png', after(chunk('fdAT', '\u0000\u0000\u0000\u0001'))), 'a bad fdAT CRC')
})

/** Whether a PNG's last chunk before IEND is an IDAT. */
function idatLast(png: Buffer): boolean {
  let last = ''
  for (let at = 8; at + 12 <= png.length; at += 12 + png.readUInt32BE(at)) {
    const type = png.toString('latin1', at + 4, at + 8)
    if (type === 'IEND') break
    last = type
  }
  return last === 'IDAT'
}

/** A PNG of `rows` rows of noise, its image data in IDAT chunks of `size` bytes; IEND left out. */
function pngWithoutIend(rows: number, size: number): Buffer {
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(64, 0)
  ihdr.writeUInt32BE(rows, 4)
  ihdr.set([8, 2, 0, 0, 0], 8) // 8-bit RGB, not interlaced
  const raw = Buffer.alloc(rows * (1 + 64 * 3))
  let seed = 1
  for (let i = 0; i < raw.length; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0
    raw[i] = i % (1 + 64 * 3) === 0 ? 0 : seed >>> 24
  }
  const data = zlib.deflateSync(raw)
  const idats: Buffer[] = []
  for (let at = 0; at < data.length; at += size) idats.push(pngChunk('IDAT', data.subarray(at, at + size)))
  return Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), pngChunk('IHDR', ihdr), ...idats])
}

// An APNG cut between two frames and closed with IEND (a proxy or a tool that "repairs" a cut
// file, as Pillow closes one: python-pillow/Pillow#3023), every CRC right, was kept whole, by
// --verify decode too: libvips decodes its default image only.
test('APNG with fewer frames than its acTL declares, closed with IEND, is truncated; whole, it is whole', async () => {
  const IEND = pngChunk('IEND', Buffer.alloc(0))
  const still = await sharp({ create: { width: 16, height: 16, channels: 4, background: '#f00' } })
    .png()
    .toBuffer()
  const frame = await sharp({ create: { width: 8, height: 8, channels: 4, background: '#00f' } })
    .png()
    .toBuffer()
  for (const shown of [true, false]) {
    const file = apng(still, frame, { shown })
    complete(await judge('png', file), `shown ${shown}`)
    const lastControl = file.lastIndexOf(Buffer.from('fcTL')) - 4
    const verdict = await judge('png', Buffer.concat([file.subarray(0, lastControl), IEND]), every(5))
    truncated(verdict, `shown ${shown}, cut before its last frame`)
    assert.equal(
      verdict.complete ? '' : verdict.reason,
      `APNG ends after ${shown ? 1 : 0} of the ${shown ? 2 : 1} frames its acTL chunk declares: cut between two frames and closed with IEND`,
    )
  }
})

// A PNG cut between two IDAT chunks and closed with IEND (a proxy or a tool that "repairs" a cut
// file, as Pillow closes one: python-pillow/Pillow#3023), every CRC right, was kept whole by a plain
// download; libvips fails it under --verify decode.
test('PNG cut between two IDAT chunks and closed with IEND: truncated where its zlib stream does not end; a whole one whose last IDAT is the longest is inflated and kept', async () => {
  const IEND = pngChunk('IEND', Buffer.alloc(0))
  const file = pngWithoutIend(150, 4096)
  const starts: number[] = []
  for (let at = 8; at < file.length; at += 12 + file.readUInt32BE(at))
    if (file.toString('latin1', at + 4, at + 8) === 'IDAT') starts.push(at)
  assert.ok(starts.length >= 3, `${starts.length} IDAT chunks`)
  complete(await judge('png', Buffer.concat([file, IEND])), 'the whole PNG')
  for (const [k, at] of starts.slice(1).entries()) {
    const verdict = await judge('png', Buffer.concat([file.subarray(0, at), IEND]), uneven(at))
    truncated(verdict, `cut after IDAT ${k + 1}, IEND after it`)
    assert.match(
      verdict.complete ? '' : verdict.reason,
      /^PNG's image data \(its zlib stream\) stops without its end at byte \d+, after \d IDAT chunks?, and IEND follows: cut between two IDAT chunks and closed$/,
    )
  }
  // The same stream in two chunks, the second the longer: inflated, and whole.
  const one = pngWithoutIend(100, 1 << 20)
  const data = one.subarray(8 + 25 + 8, one.length - 4)
  const split = Math.floor(data.length / 3)
  const longLast = Buffer.concat([
    one.subarray(0, 8 + 25),
    pngChunk('IDAT', data.subarray(0, split)),
    pngChunk('IDAT', data.subarray(split)),
    IEND,
  ])
  complete(await judge('png', longLast), 'a whole PNG whose last IDAT is the longest')
})

test('PNG without IEND: whole but unchecked when its last IDAT is whole and its image data ends; a cut between IDATs is truncated', async () => {
  // encoders that leave IEND out (tinia#57, pbPlots#29) made files libvips, browsers,
  // curl and wget2 take, refused on every attempt even when the answer's length was met.
  const png = pngWithoutIend(40, 1000)
  assert.ok(png.length > 3000, 'several IDAT chunks')
  for (const split of [(b: Uint8Array) => [b], every(7), uneven(3)])
    assert.deepEqual(await judge('png', png, split), { complete: true, unchecked: NO_IEND })
  await sharp(png).raw().toBuffer() // libvips decodes it
  // Cut at the end of an earlier IDAT (its CRC whole): the zlib stream has not ended.
  for (let at = 8 + 25; at < png.length; at += 12 + png.readUInt32BE(at)) {
    if (at === 8 + 25) continue
    truncated(await judge('png', png.subarray(0, at)), `cut after the IDAT ending at ${at}`)
  }
  truncated(await judge('png', png.subarray(0, png.length - 1)), 'cut in the last CRC')
  const badCrc = Buffer.from(png)
  badCrc[badCrc.length - 1] ^= 0xff
  truncated(await judge('png', badCrc), 'the last IDAT failing its CRC')
  // An APNG's frames may follow its default image: no IEND, no proof of its end.
  const apng = Buffer.concat([png.subarray(0, 33), pngChunk('acTL', Buffer.alloc(8)), png.subarray(33)])
  truncated(await judge('png', apng), 'an APNG without IEND')
})

test("PNG cut inside IEND: judged as one without IEND (whole but unchecked), only where the bytes are IEND's", async () => {
  // stb_image measured a PNG without IEND's CRC (nothings/stb#835), so PNGs cut out of
  // other files lack its last 4 bytes; libvips reads them. They were truncated on every attempt.
  const png = pngWithoutIend(40, 1000)
  const iend = pngChunk('IEND', Buffer.alloc(0))
  for (let part = 1; part < 12; part++) {
    const body = Buffer.concat([png, iend.subarray(0, part)])
    for (const split of [(b: Uint8Array) => [b], every(1), every(7), uneven(3)])
      assert.deepEqual(
        await judge('png', body, split),
        { complete: true, unchecked: NO_IEND },
        `${part} bytes`,
      )
    await sharp(body).raw().toBuffer() // libvips decodes it
    // Its CRC is not checked whole (it covers no data), nor in part.
    if (part > 8) {
      const other = Buffer.from(body)
      other[other.length - 1] ^= 0xff
      assert.deepEqual(
        await judge('png', other),
        { complete: true, unchecked: NO_IEND },
        `${part} bytes, CRC off`,
      )
    }
    // Not IEND's length and type (from the first byte that differs): the start of another
    // chunk, which may hold more; or an IEND that declares data.
    if (part >= 4) {
      const text = Buffer.concat([png, pngChunk('tEXt', Buffer.from('a')).subarray(0, part)])
      truncated(await judge('png', text), `${part} bytes of a tEXt chunk`)
      const long = Buffer.concat([png, Buffer.from([0, 0, 0, 1]), iend.subarray(4, part)])
      truncated(await judge('png', long), `${part} bytes of an IEND that declares data`)
    }
  }
  // IEND after an earlier IDAT (the last one gone): the zlib stream has no end.
  const lastIdat = (() => {
    let at = 8
    let start = 8
    for (; at < png.length; at += 12 + png.readUInt32BE(at)) start = at
    return start
  })()
  for (let part = 1; part < 12; part++) {
    truncated(
      await judge('png', Buffer.concat([png.subarray(0, lastIdat), iend.subarray(0, part)])),
      `IEND after an earlier IDAT, ${part} bytes`,
    )
    const badCrc = Buffer.concat([png, iend.subarray(0, part)])
    badCrc[png.length - 1] ^= 0xff
    // Once IEND's length and type are in, the CRC before them is checked as the walk goes: corrupt.
    ;(part < 8 ? truncated : corrupt)(
      await judge('png', badCrc),
      `the last IDAT failing its CRC, ${part} bytes of IEND`,
    )
  }
  const apng = Buffer.concat([
    png.subarray(0, 33),
    pngChunk('acTL', Buffer.alloc(8)),
    png.subarray(33),
    iend.subarray(0, 8),
  ])
  truncated(await judge('png', apng), 'an APNG cut in IEND')
})

test("PNG with ancillary chunks after its image data (ImageMagick's dates), without IEND or cut inside it: whole but unchecked; cut in them, truncated", async () => {
  // such a PNG lacking IEND, or its last 4 bytes as stb_image measured it
  // (nothings/stb#835), was truncated on every attempt and rerun; libvips reads it.
  const png = pngWithoutIend(40, 1000)
  const texts = [
    pngChunk('tEXt', Buffer.from('date:create\u00002024-01-01T00:00:00+00:00', 'latin1')),
    pngChunk('tEXt', Buffer.from('date:modify\u00002024-01-01T00:00:00+00:00', 'latin1')),
    pngChunk('tIME', Buffer.from([7, 232, 1, 1, 0, 0, 0])),
  ]
  const iend = pngChunk('IEND', Buffer.alloc(0))
  const file = Buffer.concat([png, ...texts, iend])
  await sharp(file).raw().toBuffer()
  // Every boundary between the chunks after the last IDAT, and every byte of IEND.
  const ends = texts.map((_, k) => png.length + texts.slice(0, k + 1).reduce((n, c) => n + c.length, 0))
  const textEnd = ends[ends.length - 1]
  for (const at of [...ends, ...Array.from({ length: 11 }, (_, k) => textEnd + 1 + k)]) {
    const body = file.subarray(0, at)
    for (const split of [(b: Uint8Array) => [b], every(7), uneven(3)])
      assert.deepEqual(
        await judge('png', body, split),
        { complete: true, unchecked: NO_IEND },
        `cut at ${at}`,
      )
    await sharp(body).raw().toBuffer() // libvips decodes it
  }
  complete(await judge('png', file), 'whole')
  // Cut inside a chunk after the image data: truncated, at every byte (but its first 1 to 3, a
  // length's zeros, which may be IEND's, as after an IDAT).
  const starts = [png.length, ...ends]
  for (let at = png.length + 1; at < textEnd; at++)
    if (!starts.some((start) => at >= start && at - start <= 3))
      truncated(await judge('png', file.subarray(0, at)), `cut at ${at}`)
  // A text chunk whose CRC is wrong (its bytes not what was written), a critical chunk after the
  // image data, a chunk type that is no letters, an earlier IDAT's cut, an APNG: truncated.
  const badCrc = Buffer.from(file.subarray(0, textEnd))
  badCrc[png.length + 10] ^= 1
  truncated(await judge('png', badCrc), 'a text chunk failing its CRC')
  const plte = Buffer.concat([png, texts[0], pngChunk('PLTE', Buffer.alloc(3))])
  truncated(await judge('png', plte), 'PLTE after the image data')
  truncated(
    await judge('png', Buffer.concat([png, pngChunk('t\u0000XT', Buffer.alloc(3))])),
    'a type of no letters',
  )
  let lastIdat = 8
  for (let at = 8; at < png.length; at += 12 + png.readUInt32BE(at)) lastIdat = at
  truncated(
    await judge('png', Buffer.concat([png.subarray(0, lastIdat), ...texts])),
    'text after an earlier IDAT',
  )
  const apng = Buffer.concat([
    png.subarray(0, 33),
    pngChunk('acTL', Buffer.alloc(8)),
    png.subarray(33),
    ...texts,
  ])
  truncated(await judge('png', apng), 'an APNG')
})

/** A PNG chunk of `type` around `data`, its CRC right. */
function pngChunk(type: string, data: Buffer): Buffer {
  const out = Buffer.alloc(12 + data.length)
  out.writeUInt32BE(data.length, 0)
  out.write(type, 4, 'latin1')
  data.copy(out, 8)
  out.writeUInt32BE(zlib.crc32(out.subarray(4, 8 + data.length)), 8 + data.length)
  return out
}

test('WebP: RIFF size against what arrived, chunks walked to the RIFF end', async () => {
  const odd = makeImage('odd', 10_001, 'webp')
  assert.equal(odd.readUInt32LE(4) % 2, 1, 'an odd RIFF size: the last pad byte left out')
  complete(await judge('webp', odd), 'odd size without its pad byte')
  truncated(await judge('webp', odd.subarray(0, odd.length - 1)), 'odd size, one byte short')
  const file = fixture('lossy.webp')
  const overrun = Buffer.from(file)
  overrun.writeUInt32LE(file.length, 16)
  corrupt(await judge('webp', overrun), 'a chunk running past the RIFF end')
  const first = Buffer.from(file)
  first.write('ICCP', 12, 'latin1')
  corrupt(await judge('webp', first), 'a first chunk that is not VP8, VP8L or VP8X')
})

/** `file` with its RIFF size made `over` bytes larger than the bytes after it. */
function riffOver(file: Buffer, over: number): Buffer {
  const out = Buffer.from(file)
  out.writeUInt32LE(file.length - 8 + over, 4)
  return out
}

// A PNG preallocated and cut (lingochamp/FileDownloader#543): zeros where a chunk belongs were said
// to be a chunk named by four NULs that fails its CRC ('PNG chunk \x00\x00\x00\x00 fails ...').
test('PNG: zeros where a chunk belongs are a file zero-filled, and said so', async () => {
  const png = fixture('rgba.png')
  assert.equal(png.subarray(37, 41).toString('latin1'), 'IDAT')
  assert.equal(png.subarray(7408, 7412).toString('latin1'), 'IEND')
  const zeroFrom = (at: number) => Buffer.concat([png.subarray(0, at), Buffer.alloc(png.length - at)])
  for (const [at, from] of [
    [33, 33],
    [37, 37],
    [7404, 7404],
  ])
    for (const split of [(b: Uint8Array) => [b], every(7)])
      assert.deepEqual(await judge('png', zeroFrom(at), split), {
        complete: false,
        kind: 'corrupt',
        reason: `PNG is zero-filled from byte ${from}, where a chunk belongs`,
      })
})

// A WebP preallocated and cut (zeros to its length, lingochamp/FileDownloader#543; as the TIFF and ICO below): zeros where a chunk
// header belongs were walked as empty chunks to the RIFF end, so the file was whole, or said to hold
// stray bytes. A FourCC is four ASCII letters (RFC 9649 §2.3): a header of zeros names none.
// Zeros at the end of a WebP's image data are no sign of a file zero-filled, lossless or lossy: a
// lossless one (VP8L) of a screenshot whose lower part is one colour, made at libwebp's fastest
// method (sharp's effort 0, cwebp -z 0), codes each pixel of it with the prefix codes' shortest
// (all-zero) code, and ends in about a million zero bytes; a flat lossy image's (VP8) ends in many
// too. Both are whole: a check of zeros there (tried, and taken out) refused such a good file.
test('WebP: image data that ends in many zero bytes of its own (a flat lower part, lossless at effort 0; a flat lossy image) is whole', async () => {
  const [width, height] = [800, 600]
  const pixels = Buffer.alloc(width * height * 3, 255)
  // The top quarter noise, the rest white: a page's screenshot.
  for (let i = 0; i < (width * height * 3) / 4; i++) pixels[i] = (Math.imul(i, 2654435761) >>> 24) & 255
  const screenshot = await sharp(pixels, { raw: { width, height, channels: 3 } })
    .webp({ lossless: true, effort: 0 })
    .toBuffer()
  assert.equal(screenshot.toString('latin1', 12, 16), 'VP8L')
  assert.ok(
    screenshot.subarray(-4096).every((b) => b === 0),
    'the lossless data ends in zeros',
  )
  complete(await judge('webp', screenshot), 'a lossless screenshot made at effort 0')
  const flatLossy = await sharp({ create: { width: 400, height: 400, channels: 4, background: '#fff' } })
    .webp()
    .toBuffer()
  assert.ok(flatLossy.subarray(-16).every((b) => b === 0))
  complete(await judge('webp', flatLossy), 'a flat lossy WebP')
})

test('WebP: zeros where a chunk header belongs are a file zero-filled, corrupt and said so', async () => {
  const zeroFrom = (name: string, at: number) => {
    const body = fixture(name)
    return Buffer.concat([body.subarray(0, at), Buffer.alloc(body.length - at)])
  }
  const grown = Buffer.concat([fixture('alpha.webp'), Buffer.alloc(16)])
  grown.writeUInt32LE(grown.length - 8, 4)
  const cases: [string, Buffer, number, string?][] = [
    // Zeros from inside the VP8 chunk's size: a shorter chunk, then zeros to the RIFF end (was whole).
    ['lossy, its VP8 size half zeroed', zeroFrom('lossy.webp', 17), 20, 'its VP8 frame header'],
    // An animation zeroed after its first frame (was 'stray bytes before its RIFF end').
    ['animated, from its first frame', zeroFrom('animated.webp', 300), 656],
    // Zeros after the image inside the RIFF size, where its metadata chunks would be (was whole).
    ['alpha, zeros in the RIFF size after it', grown, 806],
  ]
  for (const [name, body, at, where = 'a chunk'] of cases)
    for (const split of [(b: Uint8Array) => [b], every(5)])
      assert.deepEqual(
        await judge('webp', body, split),
        {
          complete: false,
          kind: 'corrupt',
          reason: `WebP is zero-filled from byte ${at}, where ${where} belongs`,
        },
        name,
      )
})

// A WebP preallocated and cut where its image chunk's data begins (aria2's --file-allocation writes
// the whole length as zeros first, aria2/aria2#1006): its RIFF size and chunk headers whole, the
// frame header zeros, it was kept whole, where libwebp refuses it ('unable to parse image',
// lovell/sharp#4325). Zeros further on, in the coded data, are a flat image's own as often (above).
test('WebP: a VP8 or VP8L chunk whose frame header is zeros, or no frame header libwebp reads, is corrupt', async () => {
  const zeroFrom = (name: string, at: number) => {
    const body = fixture(name)
    return Buffer.concat([body.subarray(0, at), Buffer.alloc(body.length - at)])
  }
  const patched = (name: string, at: number, bytes: number[]) => {
    const body = Buffer.from(fixture(name))
    body.set(bytes, at)
    return body
  }
  const cases: [string, Buffer, string][] = [
    [
      'lossy',
      zeroFrom('lossy.webp', 20),
      'WebP is zero-filled from byte 20, where its VP8 frame header belongs',
    ],
    [
      'lossless',
      zeroFrom('lossless.webp', 20),
      'WebP is zero-filled from byte 20, where its VP8L frame header belongs',
    ],
    [
      'alpha, after its ALPH chunk',
      zeroFrom('alpha.webp', 56),
      'WebP is zero-filled from byte 56, where its VP8 frame header belongs',
    ],
    [
      'lossy, zeros from inside the start code',
      zeroFrom('lossy.webp', 24),
      'WebP VP8 frame header at byte 20 has no start code (9D 01 2A)',
    ],
    [
      'lossy, of width 0',
      patched('lossy.webp', 26, [0, 0]),
      'WebP VP8 frame header at byte 20 has a size of 0',
    ],
    [
      'lossy, an inter frame',
      patched('lossy.webp', 20, [0xd1]),
      'WebP VP8 frame header at byte 20 is no key frame',
    ],
    [
      'lossy, a first partition past its chunk',
      patched('lossy.webp', 20, [0xf0, 0xff, 0xff]),
      "WebP VP8 frame header at byte 20 has a first partition of 524287 bytes, past its chunk's 740",
    ],
    [
      'lossless, version 1',
      patched('lossless.webp', 24, [fixture('lossless.webp')[24] | 0x20]),
      'WebP VP8L frame header at byte 20 has version 1, not 0',
    ],
  ]
  for (const [name, body, reason] of cases)
    for (const split of [(b: Uint8Array) => [b], every(3)])
      assert.deepEqual(await judge('webp', body, split), { complete: false, kind: 'corrupt', reason }, name)
})

// An animated WebP preallocated and cut inside a frame (aria2's --file-allocation writes the whole
// length as zeros first, aria2/aria2#1006): the ANMF chunks' headers and the RIFF size whole, the
// chunks inside a frame (ALPH, VP8, VP8L) were not walked, so zeros where a frame's chunk or its
// frame header belongs were kept whole, where libwebp's demuxer refuses the file or its decoder the
// frame. Each frame's chunks are walked as a still file's are (checked on 446 animations sharp and
// ImageMagick wrote, 1,468 frames: lossy at quality 1 to 100, lossless at effort 0 to 6, near-lossless,
// with alpha, flat and 1x1: none refused).
test('WebP: an animation zero-filled inside a frame, where its chunk or frame header belongs, is corrupt', async () => {
  const [width, height] = [32, 24]
  const pixels = Buffer.alloc(width * height * 2 * 4)
  for (let i = 0; i < pixels.length; i++) pixels[i] = (Math.imul(i, 2654435761) >>> 24) & 255
  const animation = (options: { lossless?: boolean; quality?: number }) =>
    sharp(pixels, { raw: { width, height: height * 2, channels: 4, pageHeight: height } })
      .webp({ ...options, delay: [100, 100] })
      .toBuffer()
  // Where frame 2's first chunk begins: past its ANMF chunk's header (8 bytes) and frame header (16).
  const second = (body: Buffer) => body.indexOf('ANMF', body.indexOf('ANMF') + 1) + 24
  const zeroFrom = (body: Buffer, at: number) =>
    Buffer.concat([body.subarray(0, at), Buffer.alloc(body.length - at)])
  const fixtureAnimation = fixture('animated.webp')
  const lossless = await animation({ lossless: true })
  const alpha = await animation({ quality: 80 })
  const alphaVp8 = alpha.indexOf('VP8 ', second(alpha))
  assert.equal(lossless.toString('latin1', second(lossless), second(lossless) + 4), 'VP8L')
  assert.equal(alpha.toString('latin1', second(alpha), second(alpha) + 4), 'ALPH')
  for (const [name, body] of [
    ['lossless', lossless],
    ['lossy with alpha', alpha],
  ] as const)
    complete(await judge('webp', body), `a whole ${name} animation`)
  const cases: [string, Buffer, string][] = [
    [
      'frame 2 zeros from its chunk',
      zeroFrom(fixtureAnimation, 680),
      "WebP is zero-filled from byte 680, where frame 2's chunk belongs",
    ],
    [
      'frame 2 zeros from its VP8 frame header',
      zeroFrom(fixtureAnimation, 688),
      "WebP is zero-filled from byte 688, where frame 2's VP8 frame header belongs",
    ],
    [
      'frame 2 VP8 start code zeroed',
      zeroFrom(fixtureAnimation, 691),
      "WebP frame 2's VP8 frame header at byte 688 has no start code (9D 01 2A)",
    ],
    [
      'lossless, frame 2 zeros from its VP8L frame header',
      zeroFrom(lossless, second(lossless) + 8),
      `WebP is zero-filled from byte ${second(lossless) + 8}, where frame 2's VP8L frame header belongs`,
    ],
    [
      'lossy with alpha, frame 2 zeros from its ALPH chunk',
      zeroFrom(alpha, second(alpha)),
      `WebP is zero-filled from byte ${second(alpha)}, where frame 2's chunk belongs`,
    ],
    [
      'lossy with alpha, frame 2 zeros from its VP8 chunk, after its ALPH',
      zeroFrom(alpha, alphaVp8),
      `WebP is zero-filled from byte ${alphaVp8}, where frame 2's chunk belongs`,
    ],
  ]
  for (const [name, body, reason] of cases)
    for (const split of [(b: Uint8Array) => [b], every(5)])
      assert.deepEqual(await judge('webp', body, split), { complete: false, kind: 'corrupt', reason }, name)
})

test('WebP: a still image whose RIFF size runs past the body is whole where its image chunk ends', async () => {
  // Chromium draws these whole (its demuxer reads a body shorter than its RIFF size as partial); peers keep them.
  for (const name of ['lossy.webp', 'lossless.webp', 'alpha.webp']) {
    for (const over of [1, 2, 7, 8, 100, 0xfffffff6 - (fixture(name).length - 8)]) {
      const verdict = await judge('webp', riffOver(fixture(name), over), uneven(over))
      assert.equal(
        verdict.complete,
        true,
        `${name}, RIFF size ${over} over: ${verdict.complete ? '' : verdict.reason}`,
      )
      assert.match(
        verdict.unchecked ?? '',
        /ends after its image, \d+ bytes before the end its RIFF header declares/,
      )
    }
  }
  // Not where more was announced or may follow: an animation's next frame, EXIF or XMP after the image.
  const animated = fixture('animated.webp')
  truncated(await judge('webp', riffOver(animated, 100)), 'an animation whose RIFF size runs past it')
  const exif = Buffer.from(fixture('alpha.webp'))
  assert.equal(exif.toString('latin1', 12, 16), 'VP8X')
  exif[20]! |= 0x08
  truncated(await judge('webp', riffOver(exif, 100)), 'a still that announces EXIF, without it')
  // A body cut inside the image chunk, or bytes too few for a chunk before the RIFF end, as before.
  const lossy = fixture('lossy.webp')
  truncated(await judge('webp', riffOver(lossy, 100).subarray(0, lossy.length - 10)), 'cut inside the image')
  const stray = Buffer.concat([riffOver(lossy, 3), Buffer.from([1, 2, 3])])
  corrupt(await judge('webp', stray), 'three stray bytes before the RIFF end')
  corrupt(await judge('webp', riffOver(lossy, -2)), 'a RIFF size short of the image chunk')
})

test('HEIF/AVIF: item data within the body, even behind an mdat of size 0; 64-bit box sizes', async () => {
  for (const name of ['plain.avif', 'grid.avif', 'grid-300x40.heic']) {
    const file = Buffer.from(fixture(name))
    const mdat = file.lastIndexOf(Buffer.from('mdat')) - 4
    file.writeUInt32BE(0, mdat) // runs to the end of the file
    const ext = (await sniff(file))!.ext
    complete(await judge(ext, file), `${name} with mdat size 0`)
    for (const cut of [file.length - 1, mdat + 9, mdat + 8]) {
      truncated(await judge(ext, file.subarray(0, cut)), `${name} with mdat size 0, cut at ${cut}`)
    }
  }
  const large = Buffer.concat([
    Buffer.from(u32(1)),
    Buffer.from('free'),
    Buffer.alloc(4),
    Buffer.from(u32(40)),
    Buffer.alloc(24),
  ])
  const avif = Buffer.concat([fixture('plain.avif'), large])
  complete(await judge('avif', avif, every(5)), 'a box with a 64-bit size')
  truncated(await judge('avif', avif.subarray(0, avif.length - 1)), 'a box with a 64-bit size, cut')
})

// An AVIF whose mdat box is shorter than its iloc extents say, another box after it (a box cut
// short and its size made to fit, the file padded out: aria2/aria2#1006), was kept whole: the
// extents lay within the file, the next box's header read as the item's data.
test('HEIF/AVIF: an item whose data runs past the end of the mdat box it starts in, into another box, is corrupt', async () => {
  for (const name of ['plain.avif', 'grid.avif', 'cropped.avif']) {
    const file = fixture(name)
    const mdat = file.indexOf(Buffer.from('mdat')) - 4
    const size = file.readUInt32BE(mdat)
    const short = Math.floor(size * 0.6)
    const cut = Buffer.from(file.subarray(0, mdat + short))
    cut.writeUInt32BE(short, mdat)
    const free = Buffer.alloc(size - short, 0xaa)
    free.writeUInt32BE(free.length, 0)
    free.write('free', 4)
    const verdict = await judge('avif', Buffer.concat([cut, free]), uneven(short))
    corrupt(verdict, name)
    assert.match(
      verdict.complete ? '' : verdict.reason,
      /^HEIF item \d+'s data runs from byte \d+ to byte \d+, past the end of its mdat box \(byte \d+\): a box cut short, another after it$/,
    )
    // A free box after a whole mdat changes nothing.
    complete(await judge('avif', Buffer.concat([file, free])), `${name} and a free box`)
  }
})

test('HEIF/AVIF: the verdict carries the primary item size; a broken meta box is corrupt', async () => {
  const sizes: Record<string, [number, number]> = {
    'grid-300x40.heic': [300, 40],
    'grid-64x48.heic': [64, 48],
    'grid.avif': [128, 128],
    'rotated.avif': [48, 64],
    'cropped.avif': [60, 40],
  }
  for (const [name, [width, height]] of Object.entries(sizes)) {
    assert.deepEqual(await judge((await sniff(fixture(name)))!.ext, fixture(name)), {
      complete: true,
      width,
      height,
    })
  }
  const noPrimary = Buffer.from(fixture('plain.avif'))
  noPrimary.write('pitx', noPrimary.indexOf(Buffer.from('pitm')), 'latin1')
  corrupt(await judge('avif', noPrimary), 'no pitm')
  const broken = Buffer.from(fixture('plain.avif'))
  const iloc = broken.indexOf(Buffer.from('iloc')) - 4
  broken.writeUInt32BE(1000, iloc)
  corrupt(await judge('avif', broken), 'iloc larger than meta')
})

// Zeros where a box of the meta box belongs (a file preallocated and cut, or a block zeroed on
// disk: lingochamp/FileDownloader#543, as the PNG, WebP and TIFF above): read as a box of size 0
// running to its parent's end, they hid the boxes under them, and the file was kept as whole.
test('HEIF/AVIF: zeros where a box inside the meta box belongs are corrupt, and said so', async () => {
  for (const [name, ext] of [
    ['plain.avif', 'avif'],
    ['plain-64x64.heic', 'heic'],
  ]) {
    // Its handler type zeroed: libheif refuses the file ("no pict handler").
    const noHandler = Buffer.from(fixture(name))
    const pict = noHandler.indexOf(Buffer.from('pict'))
    noHandler.fill(0, pict, pict + 4)
    assert.deepEqual(await judge(ext, noHandler), {
      complete: false,
      kind: 'corrupt',
      reason: `HEIF meta box is malformed: zeros where its handler type belongs, at byte ${pict}`,
    })
    for (const type of ['iinf', 'iprp', 'ipma', 'iref', 'infe']) {
      const file = Buffer.from(fixture(name))
      const at = file.indexOf(Buffer.from(type)) - 4
      if (at < 0) continue
      file.fill(0, at, at + 16)
      const verdict = await judge(ext, file)
      assert.equal(verdict.complete, false, `${name} ${type}`)
      assert.match(
        (verdict as { reason: string }).reason,
        new RegExp(`^HEIF meta box is malformed: zeros where a box belongs, at byte ${at}$`),
        `${name} ${type}`,
      )
    }
  }
})

// A file preallocated and cut (aria2's --file-allocation writes the whole length as zeros first:
// aria2/aria2#1006), its length met: zeros from the cut to the end. Cut in the mdat's data, the
// boxes still walked to the end, every item within them: kept whole, where libheif fails it
// ("Corrupt frame detected"). Cut before the mdat's header, its zeros read as a box of size 0
// that ran to the end: kept whole too. Zeros appended after a whole file are still let go.
test("HEIF/AVIF: zeros from a cut to the end, in an item's coded data or where a box belongs, are corrupt", async () => {
  for (const [name, ext, coded] of [
    ['plain.avif', 'avif', 'av01'],
    ['plain-64x64.heic', 'heic', 'hvc1'],
    ['grid.avif', 'avif', 'av01'],
  ]) {
    const file = fixture(name)
    const mdat = file.indexOf(Buffer.from('mdat')) - 4
    const zeroFrom = (at: number) => Buffer.concat([file.subarray(0, at), Buffer.alloc(file.length - at)])
    for (const at of [mdat + 40, file.length - 16]) {
      const verdict = await judge(ext, zeroFrom(at))
      assert.equal(verdict.complete, false, `${name} zeros from ${at}`)
      assert.match(
        (verdict as { reason: string }).reason,
        new RegExp(
          `^HEIF item \\d+'s ${coded} data is zeros from byte \\d+ to its end \\(byte \\d+\\): zero-filled$`,
        ),
        `${name} zeros from ${at}`,
      )
    }
    for (const at of [mdat - 6, mdat])
      assert.deepEqual(
        await judge(ext, zeroFrom(at)),
        {
          complete: false,
          kind: 'corrupt',
          reason: `HEIF has zeros where a box belongs, at byte ${mdat}: zero-filled`,
        },
        `${name} zeros from ${at}`,
      )
    const padded = await judge(ext, Buffer.concat([file, Buffer.alloc(300)]))
    assert.equal(padded.complete && padded.unchecked, '300 bytes follow the last box', name)
  }
  const plain = Buffer.from(fixture('plain.avif'))
  await assert.rejects(sharp(plain.fill(0, 400)).raw().toBuffer())
})

test('JPEG XL: a container to its last codestream part; a bare codestream is whole but unchecked', async () => {
  const file = fixture('container.jxl')
  const at = file.indexOf(Buffer.from('jxlc')) - 4
  const codestream = file.subarray(at + 8, at + file.readUInt32BE(at))
  const half = codestream.length >> 1
  const part = (index: number, bytes: Uint8Array) => box('jxlp', u32(index), bytes)
  const parts = (last: number) =>
    Buffer.concat([
      file.subarray(0, at),
      part(0, codestream.subarray(0, half)),
      part(last, codestream.subarray(half)),
    ])
  complete(await judge('jxl', parts(0x80000001)), 'jxlp parts, the last flagged')
  truncated(await judge('jxl', parts(1)), 'jxlp parts without the last')
  truncated(await judge('jxl', file.subarray(0, at)), 'no codestream box')
  assert.deepEqual(await judge('jxl', fixture('bare.jxl')), {
    complete: true,
    unchecked: 'a bare JPEG XL codestream cannot be checked without decoding',
  })
  truncated(await judge('jxl', fixture('bare.jxl').subarray(0, 10)), 'a bare codestream of 10 bytes')
})

// A JPEG XL preallocated and cut where its codestream begins (aria2's --file-allocation writes the
// whole length as zeros first, aria2/aria2#1006): its boxes whole, it was kept, where libjxl
// refuses it. Zeros further on, in the coded data, are not seen (djxl alone tells them).
test("JPEG XL: a container's codestream (jxlc, or the jxlp part of index 0) must start with its signature FF 0A", async () => {
  const file = fixture('container.jxl')
  const at = file.indexOf(Buffer.from('jxlc')) - 4
  const codestream = file.subarray(at + 8, at + file.readUInt32BE(at))
  const zeroFrom = (body: Buffer, from: number) =>
    Buffer.concat([body.subarray(0, from), Buffer.alloc(body.length - from)])
  const parts = Buffer.concat([
    file.subarray(0, at),
    box('jxlp', u32(0), codestream.subarray(0, 100)),
    box('jxlp', u32(0x80000001), codestream.subarray(100)),
  ])
  const signed = (body: Buffer, from: number, bytes: number[]) => {
    const out = Buffer.from(body)
    out.set(bytes, from)
    return out
  }
  const cases: [string, Buffer, string][] = [
    [
      'jxlc, zeros from its codestream',
      zeroFrom(file, at + 8),
      `JPEG XL is zero-filled from byte ${at + 8}, where its codestream's signature belongs`,
    ],
    [
      'jxlp, zeros from its codestream',
      zeroFrom(parts, at + 12),
      `JPEG XL is zero-filled from byte ${at + 12}, where its codestream's signature belongs`,
    ],
    [
      'jxlc, another signature',
      signed(file, at + 8, [0xff, 0xd8]),
      `JPEG XL codestream in box jxlc does not start with FF 0A, at byte ${at + 8}`,
    ],
  ]
  for (const [name, body, reason] of cases)
    for (const split of [(b: Uint8Array) => [b], every(3)])
      assert.deepEqual(await judge('jxl', body, split), { complete: false, kind: 'corrupt', reason }, name)
  complete(await judge('jxl', parts), 'jxlp parts, signed')
})

test('TIFF: strips, tiles and IFDs within the body, read back at the end; the first page size', async () => {
  for (const name of [
    'little-endian.tif',
    'big-endian-lzw.tif',
    'tiled.tif',
    'bigtiff.tif',
    'two-pages.tif',
  ]) {
    assert.deepEqual(await judge('tif', fixture(name)), { complete: true, width: 64, height: 48 }, name)
  }
  // A loop in the IFD chain: the first IFD's next pointer back to itself.
  const loop = Buffer.from(fixture('little-endian.tif'))
  const ifd = loop.readUInt32LE(4)
  loop.writeUInt32LE(ifd, ifd + 2 + loop.readUInt16LE(ifd) * 12)
  corrupt(await judge('tif', loop), 'an IFD chain that loops')
  // The second page's strips cut off.
  const pages = fixture('two-pages.tif')
  truncated(await judge('tif', pages.subarray(0, pages.length - 100)), 'two pages, the second cut')
})

// A TIFF preallocated and cut (zeros from some byte on, its length whole: lingochamp/FileDownloader#543
// fills a file so, and a server that sends a file still being written sends those zeros), where writers put each
// page's IFD after its strips: an IFD of no entries stops libtiff ('zero tag directories not
// supported': ObjectVision/GeoDMS#807), and zeros where entries belong end the page chain early.
// Both were whole, the two-page file kept as one page.
test('TIFF: a page IFD zero-filled, or of no entries, is corrupt; the pages after it are lost', async () => {
  const pages = fixture('two-pages.tif')
  const [first, second] = [6716, 13718]
  assert.equal(pages.readUInt32LE(4), first)
  assert.equal(pages.readUInt32LE(first + 2 + pages.readUInt16LE(first) * 12), second)
  const zeroFrom = (at: number) => Buffer.concat([pages.subarray(0, at), Buffer.alloc(pages.length - at)])
  const cases: [number, string][] = [
    [
      first + 2 + 8 * 12 + 5,
      `TIFF IFD at byte ${first} is zero-filled from byte ${first + 2 + 9 * 12}, where its entries belong`,
    ],
    [
      second + 2,
      `TIFF IFD at byte ${second} is zero-filled from byte ${second + 2}, where its entries belong`,
    ],
    [second, `TIFF IFD at byte ${second} has no entries: zero-filled, or written short`],
  ]
  for (const [at, reason] of cases)
    for (const split of [(b: Uint8Array) => [b], every(64)])
      assert.deepEqual(
        await judge('tif', zeroFrom(at), split),
        { complete: false, kind: 'corrupt', reason },
        `zeros from ${at}`,
      )
  // Zeros after the IFDs and values (bytes nothing points to) change nothing.
  assert.deepEqual(await judge('tif', Buffer.concat([pages, Buffer.alloc(300)])), {
    complete: true,
    width: 64,
    height: 48,
  })
})

// A TIFF whose IFD comes before its pixels (as tifffile and many cameras write it), preallocated and
// cut (aria2's --file-allocation writes the whole length as zeros first, aria2/aria2#1006): every
// offset and count whole, the strips after the cut zeros, it was kept whole, where libtiff refuses
// a deflate strip of zeros ('incorrect header check'). A deflate, JPEG, Zstandard or WebP piece never
// begins with 4 zero bytes; uncompressed, LZW or PackBits zeros are pixels, and stay whole (checked on
// 1,265 TIFFs sharp and ImageMagick wrote, every compression, strips and tiles, black and clear: none
// refused).
test('TIFF: deflate strips that begin with zeros, the file zero-filled after its IFD, are corrupt', async () => {
  const tiff = makeTiff({ width: 64, height: 32, strips: 4, deflate: true })
  // StripOffsets, the IFD's sixth entry, points to the strips' offsets.
  const strip = (i: number) => tiff.readUInt32LE(tiff.readUInt32LE(8 + 2 + 5 * 12 + 8) + 4 * i)
  assert.ok(strip(0) > 8 + 2 + 12 * 9, 'the IFD comes before the strips')
  const zeroFrom = (body: Buffer, at: number) =>
    Buffer.concat([body.subarray(0, at), Buffer.alloc(body.length - at)])
  complete(await judge('tif', tiff), 'the whole TIFF')
  for (const [at, first] of [
    [strip(2), 2],
    [strip(1) + 5, 2],
    [strip(0), 0],
  ])
    for (const split of [(b: Uint8Array) => [b], every(64)])
      assert.deepEqual(await judge('tif', zeroFrom(tiff, at), split), {
        complete: false,
        kind: 'corrupt',
        reason: `TIFF is zero-filled from byte ${strip(first)}, where strip ${first}'s deflate data begins`,
      })
  await assert.rejects(
    sharp(zeroFrom(tiff, strip(2)))
      .raw()
      .toBuffer(),
  )
  // Uncompressed, zeros are black pixels: whole.
  const plain = makeTiff({ width: 64, height: 32, strips: 4 })
  complete(await judge('tif', zeroFrom(plain, plain.length - 600)), 'uncompressed strips of zeros')
})

// The same preallocated file (aria2's --file-allocation: aria2/aria2#1006; lingochamp/FileDownloader#543) cut at the
// first page's next-IFD offset, or a few bytes before it: the offset and the values after the IFD are
// zeros to the end. The chain ended there, the second page lost, and the first page's BitsPerSample
// and resolutions were zeros, which libtiff refuses; it was kept whole. Cut inside the second page's
// BitsPerSample, it read 8, 0, 0 (libtiff: 'Cannot handle different values per sample').
test("TIFF: zeros from a page IFD's next-IFD offset to the end, its values among them, are corrupt; so is a BitsPerSample of 0", async () => {
  const pages = fixture('two-pages.tif')
  const [first, second] = [6716, 13718]
  const pointer = first + 2 + 17 * 12
  assert.equal(pages.readUInt32LE(pointer), second)
  const zeroFrom = (at: number) => Buffer.concat([pages.subarray(0, at), Buffer.alloc(pages.length - at)])
  const zeros = (from: number) =>
    `TIFF is zero-filled from byte ${from} to its end, where the IFD at byte ${first} has its next IFD's offset and its values`
  // The last entry's value is inline, 2 bytes of zeros before the offset: the zeros begin there.
  for (const [at, from] of [
    [pointer, pointer - 2],
    [pointer - 11, pointer - 11],
  ])
    for (const split of [(b: Uint8Array) => [b], every(64)])
      assert.deepEqual(await judge('tif', zeroFrom(at), split), {
        complete: false,
        kind: 'corrupt',
        reason: zeros(from),
      })
  await assert.rejects(sharp(zeroFrom(pointer)).raw().toBuffer())
  const bits = second + 2 + 17 * 12 + 4
  assert.deepEqual([...pages.subarray(bits, bits + 6)], [8, 0, 8, 0, 8, 0])
  assert.deepEqual(await judge('tif', zeroFrom(bits + 1)), {
    complete: false,
    kind: 'corrupt',
    reason: `TIFF IFD at byte ${second} states 0 bits per sample: its BitsPerSample value is zeros`,
  })
  // Zeros from later in the values (the last page's colour primaries) leave its pixels whole, as libtiff reads them.
  complete(await judge('tif', zeroFrom(pages.length - 20)), 'zeros in the last values')
})

// libtiff (TIFFReadDirectory) sizes a strip itself where its count is missing or cannot be right:
// the 46-byte TIFF of mathiasbynens/small#127 has none, a scanner's CCITT page in TwelveMonkeys#449
// states 0, Plexus wrote two or three times the size ('Bogus "StripByteCounts" field').
test('TIFF: a strip without a usable byte count is sized as libtiff sizes it', async () => {
  const size = { width: 16, height: 8 }
  const plain = makeTiff()
  for (const counts of ['none', [0], [plain.length * 3], [10]] as const) {
    const body = makeTiff({ counts: counts === 'none' ? counts : [...counts] })
    assert.deepEqual(await judge('tif', body), { complete: true, ...size }, JSON.stringify(counts))
    // Uncompressed, the rows say where it ends: a body short of them is cut (a count of 10 too).
    for (const less of [1, 100])
      truncated(await judge('tif', body.subarray(0, -less)), `${counts} less ${less}`)
  }
  // Compressed, it runs on to the end of the file: whole, but where it ends only the transfer says.
  for (const counts of ['none', [0]] as const) {
    const body = makeTiff({ counts: counts === 'none' ? counts : [...counts], deflate: true })
    for (const cut of [0, 1]) {
      assert.deepEqual(
        await judge('tif', body.subarray(0, body.length - cut)),
        { complete: true, ...size, unchecked: STRIP_TO_END },
        `${counts} deflated less ${cut}`,
      )
    }
  }
  // Unless the file goes on past it (the IFD after the strip, as libvips writes it): a cut takes that.
  const after = await sharp({ create: { ...size, channels: 3, background: { r: 9, g: 9, b: 9 } } })
    .tiff({ compression: 'deflate' })
    .toBuffer()
  const ifd = after.readUInt32LE(4)
  assert.ok(ifd > 8)
  for (let e = ifd + 2; e < ifd + 2 + 12 * after.readUInt16LE(ifd); e += 12)
    if (after.readUInt16LE(e) === 279) after.writeUInt32LE(0, e + 8)
  assert.deepEqual(await judge('tif', after), { complete: true, ...size })
  truncated(await judge('tif', after.subarray(0, -1)), 'IFD after a strip of count 0, cut')
  // Uncompressed strips, more than two, whose first two counts differ: libtiff sizes them from their
  // rows ('Wrong "StripByteCounts" field': vendors that write the offsets there), and so does the check.
  const strips = makeTiff({ strips: 4 })
  const table = strips.readUInt32LE(10 + 12 * 5 + 8) // StripOffsets, the IFD's sixth entry
  const offsets = [0, 1, 2, 3].map((k) => strips.readUInt32LE(table + 4 * k))
  assert.deepEqual(offsets, [154, 186, 218, 250])
  for (const counts of [offsets, [5, 6, 5, 5]]) {
    const body = makeTiff({ strips: 4, counts })
    assert.deepEqual(await judge('tif', body), { complete: true, ...size }, `counts ${counts}`)
    truncated(await judge('tif', body.subarray(0, -1)), `counts ${counts}, less 1`)
  }
  // Their first two counts equal, they are taken as they are: the last one past the end is cut.
  truncated(await judge('tif', makeTiff({ strips: 4, counts: [32, 32, 32, 40] })), 'the last count over')
  // More than one strip per plane without counts: libtiff refuses the page ('missing required').
  corrupt(await judge('tif', makeTiff({ strips: 2, counts: 'none' })), 'two strips, no counts')
  // The true counts are taken as they are.
  assert.deepEqual(await judge('tif', makeTiff({ strips: 4, deflate: true })), { complete: true, ...size })
})

// A camera's EXIF IFD (and the GPS and interoperability IFDs it may point to) is the file's too.
// A writer that leaves out the last IFD's next-IFD offset, its IFD last in the file
// (yob/pdf-reader#60): libtiff takes an offset it cannot read for 0 (TIFFFetchDirectory), and
// ImageMagick and libvips show the page. It was `truncated` ('TIFF IFD at byte 9480 lies beyond the
// end (9662 bytes)', where it lay within them); now whole but unchecked, as a cut there looks the
// same. One cut inside the offset or the entries stays truncated, said as running past the end.
test("TIFF: a last IFD that ends the file without its next IFD's offset is whole but unchecked", async () => {
  const tif = fixture('little-endian.tif')
  const at = tif.readUInt32LE(4)
  const file = Buffer.concat([tif, tif.subarray(at, at + 2 + tif.readUInt16LE(at) * 12)])
  file.writeUInt32LE(tif.length, 4)
  const size = { width: 64, height: 48 }
  assert.deepEqual(await judge('tif', file), {
    complete: true,
    ...size,
    unchecked: `TIFF IFD at byte ${tif.length} ends the file without its next IFD's offset`,
  })
  assert.deepEqual(await judge('tif', Buffer.concat([file, Buffer.alloc(4)])), { complete: true, ...size })
  for (const cut of [Buffer.concat([file, Buffer.alloc(2)]), file.subarray(0, -5)]) {
    assert.deepEqual(await judge('tif', cut), {
      complete: false,
      kind: 'truncated',
      reason: `TIFF IFD at byte ${tif.length} runs past the end (${cut.length} bytes)`,
    })
  }
})

test('TIFF: the EXIF IFD and its values within the body; one past the end is whole but unchecked', async () => {
  const size = { width: 16, height: 8 }
  const file = makeTiff({ exif: true })
  assert.deepEqual(await judge('tif', file), { complete: true, ...size })
  const ifd = file.length - 250 // the EXIF IFD (30 bytes), its date (20), its maker note (200)
  for (const [less, unchecked] of [
    [1, `TIFF EXIF tag 37500's value lies beyond the end (${file.length - 1} bytes)`],
    [201, `TIFF EXIF tag 36867's value lies beyond the end (${file.length - 201} bytes)`],
    [240, `TIFF EXIF IFD at byte ${ifd} lies beyond the end (${file.length - 240} bytes)`],
    [250, `TIFF EXIF IFD at byte ${ifd} lies beyond the end (${ifd} bytes)`],
  ] as const) {
    assert.deepEqual(
      await judge('tif', file.subarray(0, -less)),
      { complete: true, ...size, unchecked },
      `less ${less}`,
    )
  }
  // Its pointer to a GPS IFD, or one that leads nowhere in a whole file (goexif2#12), the same.
  const gps = Buffer.from(file)
  gps.writeUInt16LE(34853, 10 + 12 * 9) // the EXIF IFD's pointer, renamed GPS's
  assert.deepEqual(await judge('tif', gps), { complete: true, ...size })
  gps.writeUInt32LE(file.length + 1000, 10 + 12 * 9 + 8)
  assert.deepEqual(await judge('tif', gps), {
    complete: true,
    ...size,
    unchecked: `TIFF GPS IFD at byte ${file.length + 1000} lies beyond the end (${file.length} bytes)`,
  })
  // The pixels before it cut: truncated as before.
  truncated(await judge('tif', file.subarray(0, ifd - 1)), 'cut in the strip')
})

test('a TIFF checked from a file on disk, as the download path reads it back', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'imgpull-complete-'))
  try {
    for (const [name, cut] of [
      ['tiled.tif', 0],
      ['tiled.tif', 200],
      ['bigtiff.tif', 0],
    ] as const) {
      const body = fixture(name).subarray(0, fixture(name).length - cut)
      const path = join(dir, `${name}-${cut}`)
      writeFileSync(path, body)
      const check = completenessCheck('tif')
      for (const chunk of every(4096)(body)) check.update(chunk)
      const read = readBackFile(path)
      const verdict = await check.end(read)
      await read.close()
      if (cut === 0) assert.deepEqual(verdict, { complete: true, width: 64, height: 48 }, name)
      else truncated(verdict, `${name} less ${cut} bytes`)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

// An icon whose 256-pixel entry is a PNG (Vista's icons, favicon generators), zero-filled or cut inside
// the file, its directory whole: a file preallocated and cut (lingochamp/FileDownloader#543), as the TIFF above. Browsers decode the
// entry's PNG from its bytes alone and show it broken; only the directory was checked, and it was whole.
test('ICO: an entry that is a PNG is judged as a PNG within its entry, as the BMP embedding one is', async () => {
  const ico = fixture('three-sizes.ico')
  const [at, size] = [ico.readUInt32LE(6 + 12), ico.readUInt32LE(6 + 8)]
  assert.equal(ico.subarray(at, at + 4).toString('latin1'), '\x89PNG')
  const zeroed = (from: number, to: number) =>
    Buffer.concat([ico.subarray(0, from), Buffer.alloc(to - from), ico.subarray(to)])
  for (const split of [(b: Uint8Array) => [b], every(97)]) {
    assert.deepEqual(await judge('ico', ico, split), { complete: true })
    assert.deepEqual(await judge('ico', zeroed(at + 1000, ico.length), split), {
      complete: false,
      kind: 'corrupt',
      reason: "ICO entry 0's PNG: PNG chunk IDAT fails its CRC (at byte 1464)",
    })
    assert.deepEqual(await judge('ico', zeroed(at + size - 12, at + size), split), {
      complete: false,
      kind: 'corrupt',
      reason: "ICO entry 0's PNG: PNG is zero-filled from byte 1468, where a chunk belongs",
    })
  }
  // A CUR's entries are BMPs: not PNGs, not read back.
  assert.deepEqual(await judge('cur', fixture('cursor.cur')), { complete: true })
})

// An ICO or CUR preallocated and cut where an entry's image begins (aria2's --file-allocation writes
// the whole length as zeros first, aria2/aria2#1006): the directory whole, an entry of zeros is no
// PNG, so it was not read back, and the file was kept whole, where a browser finds no bitmap header
// there (its first field, its own size, is never 0) and shows the icon broken. Checked on 513 ICOs
// and CURs ImageMagick wrote (558 entries, 93 of them PNGs; 16 to 256 px, 2 to 256 colours, alpha,
// black, transparent): none refused.
test('ICO, CUR: an entry that begins with zeros, where its bitmap header or PNG signature belongs, is corrupt', async () => {
  const ico = fixture('three-sizes.ico')
  const cur = fixture('cursor.cur')
  const zeroFrom = (body: Buffer, at: number) =>
    Buffer.concat([body.subarray(0, at), Buffer.alloc(body.length - at)])
  const entryAt = (body: Buffer, i: number) => body.readUInt32LE(6 + 16 * i + 12)
  const oddHeader = Buffer.from(ico)
  oddHeader.fill(0, entryAt(ico, 1), entryAt(ico, 1) + 4)
  const cases: [string, string, Buffer, string][] = [
    [
      'a PNG entry',
      'ico',
      zeroFrom(ico, entryAt(ico, 0)),
      "ICO is zero-filled from byte 54, where entry 0's image belongs",
    ],
    [
      'a bitmap entry',
      'ico',
      zeroFrom(ico, entryAt(ico, 1)),
      "ICO is zero-filled from byte 1534, where entry 1's image belongs",
    ],
    [
      'a cursor',
      'cur',
      zeroFrom(cur, entryAt(cur, 0)),
      "CUR is zero-filled from byte 22, where entry 0's image belongs",
    ],
    [
      'a header size of 0',
      'ico',
      oddHeader,
      "ICO entry 1 is neither a PNG nor a bitmap (its header's size is 0)",
    ],
  ]
  for (const [name, ext, body, reason] of cases)
    for (const split of [(b: Uint8Array) => [b], every(97)])
      assert.deepEqual(await judge(ext, body, split), { complete: false, kind: 'corrupt', reason }, name)
})

// A BMP preallocated and cut in its headers (aria2's --file-allocation, aria2/aria2#1006): it was
// refused, but said 'BMP headers overlap its pixels' or 'BMP declares an empty image', which sent
// one looking at the writer; now it says the zeros. Zeros in the pixels are black pixels, whole.
test('BMP: zeros where its info header belongs say the file is zero-filled', async () => {
  const zeroFrom = (body: Buffer, at: number) =>
    Buffer.concat([body.subarray(0, at), Buffer.alloc(body.length - at)])
  for (const name of ['v3.bmp', 'os2.bmp', 'v5-alpha.bmp']) {
    const bmp = fixture(name)
    for (const [at, reason] of [
      [14, 'BMP is zero-filled from byte 11, where its headers belong'],
      [18, 'BMP is zero-filled from byte 18, where its width, height and depth belong'],
    ] as const)
      assert.deepEqual(
        await judge('bmp', zeroFrom(bmp, at)),
        { complete: false, kind: 'corrupt', reason },
        name,
      )
    complete(await judge('bmp', zeroFrom(bmp, bmp.readUInt32LE(10))), `${name} of black pixels`)
  }
})

test('BMP: pixel rows from the header, top-down too; ICO: every entry within the body', async () => {
  const topDown = Buffer.from(fixture('v3.bmp'))
  topDown.writeInt32LE(-48, 22)
  complete(await judge('bmp', topDown), 'top-down')
  truncated(await judge('bmp', topDown.subarray(0, topDown.length - 1)), 'top-down, cut')
  const rle = Buffer.from(fixture('v3.bmp'))
  rle.writeUInt32LE(1, 30) // RLE8
  rle.writeUInt32LE(0, 34) // without a declared size
  assert.deepEqual(await judge('bmp', rle), {
    complete: true,
    unchecked: 'BMP compressed without a declared size: pixel data not checked',
  })
  const empty = Buffer.from(fixture('three-sizes.ico'))
  empty.writeUInt32LE(0, 6 + 16 + 8)
  corrupt(await judge('ico', empty), 'an ICO entry of 0 bytes')
  // A cursor cut short says it is a CUR (its header's type 2), where it was said to be an ICO.
  const cursor = fixture('cursor.cur')
  const cut = await judge('cur', cursor.subarray(0, cursor.length - 10))
  assert.equal(cut.complete, false)
  assert.match(cut.complete ? '' : cut.reason, /^CUR images end at byte /)
})

// An RLE8 or RLE4 BMP whose biSizeImage states more than its stream (writers put the uncompressed
// size there: MicrosoftDocs/windows-dev-docs#5265 asks what the field means for RLE) was truncated
// ('BMP pixel data ends at byte 134, past the end (84 bytes)'), where ImageMagick reads the stream
// to its end-of-bitmap marker; now whole when the stream reaches that marker. One cut before it,
// in an absolute run or a delta too, stays truncated.
test('BMP: an RLE stream that reaches its end-of-bitmap marker is whole, whatever biSizeImage says', async () => {
  const rle = (bits: 8 | 4, stream: number[], declared: number) => {
    const h = Buffer.alloc(54 + 8)
    h.write('BM', 0, 'latin1')
    h.writeUInt32LE(62 + stream.length, 2)
    h.writeUInt32LE(62, 10)
    h.writeUInt32LE(40, 14)
    h.writeInt32LE(6, 18)
    h.writeInt32LE(3, 22)
    h.writeUInt16LE(1, 26)
    h.writeUInt16LE(bits, 28)
    h.writeUInt32LE(bits === 8 ? 1 : 2, 30)
    h.writeUInt32LE(declared, 34)
    h.writeUInt32LE(0xffffff, 58) // palette: black, white
    return Buffer.concat([h, Buffer.from(stream)])
  }
  // A run; an absolute run of 3 (padded to a word); a delta; end of line; end of bitmap.
  const rle8 = [6, 1, 0, 0, 0, 3, 1, 0, 1, 0, 3, 1, 0, 0, 0, 2, 1, 0, 6, 0, 0, 1]
  // RLE4: an absolute run of 3 pixels is 2 bytes.
  const rle4 = [6, 0x11, 0, 0, 0, 3, 0x10, 0x10, 3, 0x11, 0, 0, 0, 2, 1, 0, 6, 0, 0, 1]
  for (const [bits, stream] of [
    [8, rle8],
    [4, rle4],
  ] as const) {
    assert.deepEqual(await judge('bmp', rle(bits, stream, stream.length)), { complete: true }, `RLE${bits}`)
    const over = rle(bits, stream, 6 * 3 * 4)
    assert.deepEqual(await judge('bmp', over), { complete: true }, `RLE${bits}, its size overstated`)
    for (let cut = 62; cut < over.length; cut++)
      truncated(await judge('bmp', over.subarray(0, cut)), `RLE${bits}, its size overstated, cut at ${cut}`)
  }
})

// A BMP whose pixel data is a PNG or a JPEG (BI_PNG, BI_JPEG, with the bit count of 0 they must
// have; bmpsuite's q/rgb24png.bmp and q/rgb24jpeg.bmp) was corrupt ('BMP declares an empty image'),
// though Chromium's BMP reader hands those bytes to its PNG or JPEG decoder and shows the image.
test('BMP with an embedded PNG or JPEG: judged by the embedded file, cut at every byte', async () => {
  const png = fixture('rgba.png')
  const jpeg = fixture('baseline.jpg')
  const cases: [string, Buffer][] = [
    ['BI_PNG', bmpAround(png, 5)],
    ['BI_JPEG', bmpAround(jpeg, 4)],
  ]
  for (const [what, bmp] of cases) {
    assert.deepEqual(await judge('bmp', bmp), { complete: true }, what)
    for (const split of [every(1), uneven(3)])
      assert.deepEqual(await judge('bmp', bmp, split), { complete: true }, what)
    // The declared size is not what ends it: Chromium reads the embedded file to the end of the body.
    const undeclared = Buffer.from(bmp)
    undeclared.writeUInt32LE(0, 34)
    assert.deepEqual(await judge('bmp', undeclared), { complete: true }, `${what} without a declared size`)
    for (let cut = 0; cut < bmp.length; cut++) {
      const verdict = await judge('bmp', bmp.subarray(0, cut))
      // Whole only where the embedded file alone is (a PNG cut just before IEND, a JPEG just before
      // its end marker): whole but unchecked, kept only where the transfer marked the end.
      if (verdict.complete) {
        assert.ok(verdict.unchecked === NO_IEND || verdict.unchecked === NO_EOI, `${what} cut at ${cut}`)
        const alone = await judge(what === 'BI_PNG' ? 'png' : 'jpg', bmp.subarray(54, cut))
        assert.equal(alone.complete && alone.unchecked, verdict.unchecked, `${what} cut at ${cut}`)
      } else truncated(verdict, `${what} cut at ${cut}`)
    }
    const tail = Buffer.from('trailing bytes')
    const after = await judge('bmp', Buffer.concat([bmp, tail]))
    assert.equal(after.complete, true, what)
  }
  // A PNG whose CRC is wrong inside the BMP is as corrupt as alone, the BMP named.
  const bad = bmpAround(Buffer.from(png), 5)
  bad[54 + 29] ^= 1
  assert.deepEqual(await judge('bmp', bad), {
    complete: false,
    kind: 'corrupt',
    reason: `BMP's embedded PNG: ${((await judge('png', bad.subarray(54))) as { reason: string }).reason}`,
  })
})

/** `v5` (a BMP with a V5 header) with an embedded colour profile of `size` bytes after its pixels. */
function withProfile(v5: Buffer, size: number): Buffer {
  const bmp = Buffer.concat([v5, Buffer.alloc(size, 0x5a)])
  bmp.writeUInt32LE(0x4d424544, 14 + 56) // bV5CSType: PROFILE_EMBEDDED ('MBED')
  bmp.writeUInt32LE(v5.length - 14, 14 + 112) // bV5ProfileData, from the V5 header's start
  bmp.writeUInt32LE(size, 14 + 116) // bV5ProfileSize
  return bmp
}

// A V5 BMP cut in the embedded colour profile its writer put after the pixels was whole (its pixels
// all there), kept from a connection that closed early, though Chromium waits for the whole profile
// and fails the image without it.
test('BMP: an embedded colour profile must lie within the file, cut at every byte', async () => {
  const v5 = fixture('v5-alpha.bmp')
  const bmp = withProfile(v5, 600)
  assert.deepEqual(await judge('bmp', bmp), { complete: true })
  for (const split of [every(7), uneven(5)])
    assert.deepEqual(await judge('bmp', bmp, split), { complete: true })
  for (let cut = 0; cut < bmp.length; cut++)
    truncated(await judge('bmp', bmp.subarray(0, cut)), `cut at ${cut}`)
  assert.deepEqual(await judge('bmp', bmp.subarray(0, v5.length + 100)), {
    complete: false,
    kind: 'truncated',
    reason: `BMP colour profile ends at byte ${bmp.length}, past the end (${v5.length + 100} bytes)`,
  })
  // A profile that is linked (a file name), or of size 0, or an sRGB colour space, holds no bytes to wait for.
  const linked = Buffer.from(bmp.subarray(0, v5.length))
  linked.write('KNIL', 14 + 56, 'latin1')
  assert.deepEqual(await judge('bmp', linked), { complete: true })
  const empty = Buffer.from(bmp.subarray(0, v5.length))
  empty.writeUInt32LE(0, 14 + 116)
  assert.deepEqual(await judge('bmp', empty), { complete: true })
})

test('SVG: the root closed, whatever its content; a truncation hidden in a comment or CDATA is caught', async () => {
  complete(
    await judge('svg', Buffer.from('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>')),
    'empty root',
  )
  complete(
    await judge('svg', Buffer.from('<svg a="/>" b=\'>\'><g/><![CDATA[</svg>]]><!-- </svg> --></svg>')),
    'quoted >',
  )
  const cases = [
    '<svg><!-- </svg>',
    '<svg><![CDATA[ </svg>',
    '<svg><text>a </svg',
    '<svg><g></g>',
    '<svg width="10" height="10"',
    '<svg a="</svg>">',
    '<svg></svg><!-- unclosed',
    '<svg/><?pi',
  ]
  for (const text of cases) truncated(await judge('svg', Buffer.from(text), every(1)), text)
  corrupt(await judge('svg', Buffer.from('<svg></svg></svg>')), 'an end tag past the root')
  corrupt(await judge('svg', Buffer.from('<svg><!ELEMENT x></svg>')), 'a declaration inside the root')
})

test('SVG: an end tag must name the element it closes, as XML parsers and browsers require; in any chunking', async () => {
  const good = [
    '<svg xmlns="http://www.w3.org/2000/svg"><g id="a"><svg:rect/><text >x</text ></g></svg>',
    '<svg:svg xmlns:svg="http://www.w3.org/2000/svg"><svg:g></svg:g></svg:svg>',
    `<svg>${'<g>'.repeat(5000)}${'</g>'.repeat(5000)}</svg>`,
  ]
  for (const text of good) {
    complete(await judge('svg', Buffer.from(text)), text.slice(0, 60))
    complete(await judge('svg', Buffer.from(text), every(1)), `${text.slice(0, 60)}, a byte a chunk`)
  }
  for (const [text, message] of [
    ['<svg><g></h></svg>', /end tag <\/h> at byte 8 where <\/g> belongs/],
    ['<svg><g><text>a</g></text></svg>', /end tag <\/g> at byte 15 where <\/text> belongs/],
    ['<SVG></svg>', /end tag <\/svg> at byte 5 where <\/SVG> belongs/],
    ['<svg><gg></g></svg>', /where <\/gg> belongs/],
  ] as const) {
    for (const chunks of [undefined, every(1), every(3)]) {
      const verdict = await judge('svg', Buffer.from(text), chunks)
      corrupt(verdict, text)
      if (!verdict.complete) assert.match(verdict.reason, message)
    }
  }
})

test('SVG: a bare & or an entity no doctype declares is corrupt; references XML defines, and any a doctype may declare, are whole', async () => {
  const good = [
    '<svg><text>a &amp; b &lt; &gt; &apos; &quot; &#169; &#xA9;</text><a href="x?a=1&amp;b=2"/></svg>',
    '<!DOCTYPE svg [<!ENTITY ns_svg "http://www.w3.org/2000/svg">]><svg xmlns="&ns_svg;">&nbsp;</svg>',
    '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd"><svg>&nbsp;&été;</svg>',
    '<svg><!-- a & b --><![CDATA[ a & b &nbsp; ]]><?pi a & b?><text>R&amp;D</text></svg>',
  ]
  for (const text of good) {
    complete(await judge('svg', Buffer.from(text)), text.slice(0, 60))
    complete(await judge('svg', Buffer.from(text), every(1)), `${text.slice(0, 60)}, a byte a chunk`)
  }
  for (const [text, message] of [
    ['<svg><a href="x?a=1&b=2"/></svg>', /bare & at byte 19 \(&b\)/],
    ['<svg><text>a & b</text></svg>', /bare & at byte 13/],
    [
      '<svg><text>&nbsp;</text></svg>',
      /entity &nbsp; at byte 11, which XML does not define and no doctype declares/,
    ],
    ['<svg><text>&amp</text></svg>', /bare & at byte 11 \(&amp\)/],
    ['<svg a="&amp"/>', /bare & at byte 8/],
    ['<svg>&#xZZ;</svg>', /bare & at byte 5/],
    ['<svg>&;</svg>', /bare & at byte 5/],
  ] as const) {
    for (const chunks of [undefined, every(1), every(4)]) {
      const verdict = await judge('svg', Buffer.from(text), chunks)
      corrupt(verdict, text)
      if (!verdict.complete) assert.match(verdict.reason, message)
    }
  }
})

test('SVG: an XML declaration anywhere but at the first bytes is corrupt, as XML parsers and browsers refuse it', async () => {
  const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>'
  const decl = '<?xml version="1.0" encoding="UTF-8"?>'
  const bom = '\ufeff'
  for (const text of [
    `${decl}\n${svg}`,
    `${bom}${decl}${svg}`,
    `<?xml-stylesheet href="a.css"?>${svg}`,
    `${decl}<?xml-stylesheet href="a.css"?><svg><?xmlfoo x?></svg>`,
  ]) {
    for (const split of [(b: Uint8Array) => [b], every(1), every(3)])
      complete(await judge('svg', Buffer.from(text), split), JSON.stringify(text))
  }
  // A template or script that prints a newline first: "XML declaration allowed only at the start
  // of the document" (libxml2, Chromium; resvg#1057).
  for (const text of [
    `\n${decl}\n${svg}`,
    `  ${decl}${svg}`,
    `${bom}\r\n${decl}${svg}`,
    `<!-- generator -->${decl}${svg}`,
    `${svg.slice(0, -6)}${decl}</svg>`,
    `${svg}${decl}`,
  ]) {
    for (const split of [(b: Uint8Array) => [b], every(1), every(3)]) {
      const verdict = await judge('svg', Buffer.from(text), split)
      corrupt(verdict, JSON.stringify(text))
      assert.match(verdict.complete ? '' : verdict.reason, /^SVG has an XML declaration at byte \d+/)
    }
  }
  // The name is reserved in any case (libxml2: XML_ERR_RESERVED_XML_NAME).
  assert.deepEqual(await judge('svg', Buffer.from(`<?XML version="1.0"?>${svg}`)), {
    complete: false,
    kind: 'corrupt',
    reason: 'SVG has a processing instruction named XML at byte 0',
  })
})

test('an extension sniff() never returns has no check', () => {
  assert.throws(() => completenessCheck('psd'), TypeError)
})

test('makeImage: exact sizes, structurally whole, cut anywhere truncated, dimensions kept', async () => {
  for (const format of ['jpg', 'png', 'gif', 'webp'] as Format[]) {
    for (const size of [300, 301, 2_000, 60_000, 65_537]) {
      const name = `whole-${size}`
      const image = makeImage(name, size, format)
      assert.equal(image.length, size, `${format} ${size}`)
      assert.ok(makeImage(name, size, format).equals(image), 'deterministic')
      complete(await judge(format, image, every(1000)), `${format} ${size}`)
      assert.deepEqual((await sniff(image))?.ext, format)
      const { dimensions } = await import('../src/verify/sniff.js')
      assert.deepEqual(await dimensions(image, format), dimsOf(name), `${format} ${size} dimensions`)
    }
    const small = makeImage('cuts', 700, format)
    for (let cut = 0; cut < small.length; cut++) {
      // GIF's one leftover byte (a 27-byte remainder) is the only byte after a whole structure.
      truncated(await judge(format, small.subarray(0, cut)), `${format} cut at ${cut}`)
    }
  }
  const stuffed = makeImage('stuffing', 200_000)
  const scan = stuffed.subarray(300, stuffed.length - 2)
  for (let j = scan.indexOf(0xff); j !== -1; j = scan.indexOf(0xff, j + 2))
    assert.equal(scan[j + 1], 0, 'FF is stuffed')
})

test('HEIF/AVIF: item data whose extent runs to the end of the file (length 0) is whole but unchecked', async () => {
  // ISO/IEC 14496-12 §8.11.3: the first item's first extent, its length set to 0.
  const avif = Buffer.from(fixture('plain.avif'))
  let at = avif.indexOf(Buffer.from('iloc')) + 4
  const version = avif[at]
  const offsetSize = avif[at + 4] >> 4
  const lengthSize = avif[at + 4] & 15
  const baseSize = avif[at + 5] >> 4
  const indexSize = version > 0 ? avif[at + 5] & 15 : 0
  at += 6 + (version < 2 ? 2 : 4) // item count
  at += (version < 2 ? 2 : 4) + (version > 0 ? 2 : 0) + 2 + baseSize + 2 // item id, method, data ref, base, extent count
  at += indexSize + offsetSize
  assert.ok(lengthSize > 0 && avif.readUIntBE(at, lengthSize) > 0)
  avif.fill(0, at, at + lengthSize)
  const verdict = await judge('avif', avif)
  assert.equal(verdict.complete, true, JSON.stringify(verdict))
  assert.match(
    (verdict as { unchecked?: string }).unchecked ?? '',
    /HEIF item data runs to the end of the file/,
  )
  const whole = await judge('avif', fixture('plain.avif'))
  assert.equal((whole as { unchecked?: string }).unchecked, undefined)
})

// A meta box of size 0, last, was corrupt ('HEIF has no meta box'), where libheif reads it to the
// end of the file and shows the image.
test('HEIF/AVIF: a meta box of size 0, last, runs to the end of the file: whole but unchecked; cut anywhere, never whole but so', async () => {
  const TO_THE_END = 'HEIF meta box runs to the end of the file'
  const avif = metaLast(fixture('plain.avif'))
  const whole = { complete: true, width: 64, height: 48, unchecked: TO_THE_END }
  assert.deepEqual(await judge('avif', avif), whole)
  for (const split of [every(1), uneven(4)]) assert.deepEqual(await judge('avif', avif, split), whole)
  let between = 0
  for (let cut = 0; cut < avif.length; cut++) {
    const verdict = await judge('avif', avif.subarray(0, cut))
    // Cut between two of the meta box's children: the item there, so only the transfer can tell.
    if (verdict.complete) {
      assert.equal(verdict.unchecked, TO_THE_END, `cut at ${cut}`)
      between++
    } else assert.equal(verdict.kind, 'truncated', `cut at ${cut}: ${verdict.reason}`)
  }
  assert.ok(between > 0 && between < 5, `${between} cuts between the meta box's children`)
  truncated(await judge('avif', Buffer.concat([avif, Buffer.from('junk after it')])), 'junk after it')
})

test('HEIF/AVIF: bytes after the last box that are no box are let go (whole but unchecked) where every item lies before them; cut at every byte', async () => {
  // 8 or more such bytes (a page or padding a server appended) were truncated on every
  // attempt and rerun, where libheif (sharp) decodes plain, grid and cropped AVIF with them.
  const tails: [string, Buffer][] = [
    ['text', Buffer.from('trailing bytes: <html>not part of the image</html>')],
    ['a size no box has', Buffer.from([0, 0, 0, 3, 0x61, 0x62, 0x63, 0x64, 1, 2, 3, 4])],
    ['a 64-bit size no box has', Buffer.from([0, 0, 0, 1, 0x61, 0x62, 0x63, 0x64, 0, 0, 0, 0, 0, 0, 0, 9])],
    [
      'a 64-bit size past the end',
      Buffer.from([0, 0, 0, 1, 0x61, 0x62, 0x63, 0x64, 0, 0, 0, 0, 0, 0, 1, 0, 7]),
    ],
    ['random bytes', Buffer.from([0x9c, 0x41, 0xff, 0x02, 0x13, 0x80, 0x7f, 0x00, 0xee])],
  ]
  for (const name of ['plain.avif', 'grid.avif', 'cropped.avif', 'rotated.avif', 'grid-300x40.heic']) {
    const file = fixture(name)
    const ext = (await sniff(file))!.ext
    const whole = await judge(ext, file)
    for (const [what, tail] of tails) {
      const body = Buffer.concat([file, tail])
      const expected = { ...whole, unchecked: `${tail.length} bytes follow the last box` }
      for (const split of [(b: Uint8Array) => [b], every(1), uneven(5)])
        assert.deepEqual(await judge(ext, body, split), expected, `${name} + ${what}`)
      if (ext === 'avif') await sharp(body).raw().toBuffer() // libheif decodes it
      // Cut anywhere in the file: as the file alone cut there; in the tail: whole but unchecked.
      for (let cut = 0; cut < body.length; cut++) {
        const verdict = await judge(ext, body.subarray(0, cut))
        if (cut <= file.length)
          assert.deepEqual(
            verdict,
            await judge(ext, file.subarray(0, cut)),
            `${name} + ${what}, cut at ${cut}`,
          )
        else
          assert.deepEqual(
            verdict,
            { ...whole, unchecked: `${cut - file.length} bytes follow the last box` },
            `${name} + ${what}, cut at ${cut}`,
          )
      }
    }
    // A box the format defines, cut short after the items, is a box cut: still truncated.
    for (const type of ['free', 'mdat', 'meta', 'uuid']) {
      const cutBox = Buffer.concat([file, Buffer.from(u32(100)), Buffer.from(type), Buffer.alloc(20)])
      truncated(await judge(ext, cutBox), `${name} + a ${type} box cut short`)
    }
    // The items' data cut, then bytes that are no box: the data is not there. (Bytes that fill the
    // mdat to its declared end stand for the data: only decoding could tell them, as after a JPEG's
    // last scan.)
    const mdat = file.lastIndexOf(Buffer.from('mdat')) - 4
    for (const cut of [mdat + 8, mdat + 20, file.length - tails[0][1].length - 1]) {
      const spliced = Buffer.concat([file.subarray(0, cut), tails[0][1]])
      assert.equal((await judge(ext, spliced)).complete, false, `${name} cut at ${cut} + text`)
    }
  }
  // A size no box has before the items' data (the mdat): corrupt, as before.
  const avif = Buffer.from(fixture('plain.avif'))
  const mdat = avif.lastIndexOf(Buffer.from('mdat')) - 4
  avif.writeUInt32BE(3, mdat)
  corrupt(await judge('avif', avif), 'an mdat that declares 3 bytes')
})

test('a box header of size 1 whose 64-bit size never came is a header cut short, in every box format', async () => {
  // It was judged a boundary between boxes: whole, and checked, so kept from a connection that closed there.
  const header = Buffer.concat([Buffer.from(u32(1)), Buffer.from('free')])
  for (const name of ['plain.avif', 'grid-300x40.heic', 'container.jxl', 'plain.jp2']) {
    const file = fixture(name)
    const ext = (await sniff(file))!.ext
    for (const split of [(b: Uint8Array) => [b], every(1)])
      truncated(
        await judge(ext, Buffer.concat([file, header]), split),
        `${name} + a free box header of size 1`,
      )
  }
})

test('SVG in UTF-16 (a byte order mark, or a declaration in UTF-16): read as text, cut at every byte', async () => {
  // XML parsers must read UTF-16 (XML 1.0 §4.3.3, Appendix F), and browsers show such an SVG.
  const text =
    '<?xml version="1.0" encoding="UTF-16"?>\n<!-- é -->\n<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><text>a 😀 b &amp; c</text></svg>\n<!-- x -->\n'
  const rootEnd = text.lastIndexOf('</svg>') + 6
  const be = (t: string) => Buffer.from(t, 'utf16le').swap16()
  const files: [string, Buffer, number][] = [
    ['little-endian, a BOM', Buffer.from(`\ufeff${text}`, 'utf16le'), 2],
    ['big-endian, a BOM', be(`\ufeff${text}`), 2],
    ['little-endian, no BOM', Buffer.from(text, 'utf16le'), 0],
    ['big-endian, no BOM', be(text), 0],
  ]
  for (const [what, file, bom] of files) {
    for (const split of [every(1), every(3), uneven(2)]) complete(await judge('svg', file, split), what)
    for (let cut = 0; cut < file.length; cut++) {
      const verdict = await judge('svg', file.subarray(0, cut))
      // Whole only at a character's end with the root closed; text's 😀 is two UTF-16 units, and a
      // cut between them is inside the root anyway.
      if (cut % 2 === 0 && cut >= bom && svgWholeAt(text.slice(0, (cut - bom) / 2), rootEnd))
        complete(verdict, `${what} cut at ${cut}`)
      else truncated(verdict, `${what} cut at ${cut}`)
    }
    corrupt(await judge('svg', Buffer.concat([file, file.subarray(bom)])), `${what}, a second root`)
  }
})

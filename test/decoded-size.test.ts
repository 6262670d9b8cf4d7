import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import sharp from 'sharp'
import { type DecodedSize, decodedSizeAtLeast, gifDecodedSize } from '../src/verify/decoded-size.js'
import { forgedGif, forgedTiff } from './support/forged-headers.js'

const fixture = (name: string): Buffer => readFileSync(new URL(`./fixtures/images/${name}`, import.meta.url))
const red = { r: 255, g: 0, b: 0 }
const made = (width: number, height: number) =>
  sharp({ create: { width, height, channels: 3, background: red } })

/** A copy of `b` with `edit` applied. */
const edited = (b: Buffer, edit: (copy: Buffer) => void): Buffer => {
  const copy = Buffer.from(b)
  edit(copy)
  return copy
}

/** The size libvips reads from the whole file's header (one page), as the pool's plan holds it. */
async function libvipsSize(b: Buffer): Promise<DecodedSize> {
  const m = await sharp(b, { limitInputPixels: false, pages: 1 }).metadata()
  return { width: m.width, height: m.pageHeight ?? m.height }
}

/**
 * Files of each covered format, with what `decodedSizeAtLeast` reads from them: real encoders'
 * output (sharp, the fixtures) and forged headers. `undefined`: not told.
 */
async function samples(): Promise<[name: string, ext: string, file: Buffer, expected?: DecodedSize][]> {
  const gif = await made(30, 20).gif().toBuffer()
  const avif = await made(300, 200).avif().toBuffer()
  const ispe = avif.indexOf('ispe')
  return [
    ['sharp GIF', 'gif', gif, { width: 30, height: 20 }],
    ['fixture animated GIF', 'gif', fixture('animated.gif'), { width: 64, height: 48 }],
    // libnsgif trusts a screen up to 2048 a side that is no common canvas size: it is the image's.
    [
      'GIF screen 1000x1000 over a 30x20 frame',
      'gif',
      edited(gif, (b) => b.writeUInt32LE(1000 | (1000 << 16), 6)),
      { width: 1000, height: 1000 },
    ],
    [
      'GIF screen 2048x2048',
      'gif',
      forgedGif({ width: 2048, height: 2048 }, [{ width: 30, height: 20 }]),
      { width: 2048, height: 2048 },
    ],
    // A screen over 2048, of 0, or a canvas size (800x600...) is not trusted: the frames size it.
    [
      'GIF screen 20000x20000 over a 30x20 frame',
      'gif',
      edited(gif, (b) => b.writeUInt32LE(20000 | (20000 << 16), 6)),
      { width: 30, height: 20 },
    ],
    [
      'GIF screen 2049x10',
      'gif',
      forgedGif({ width: 2049, height: 10 }, [{ width: 30, height: 20 }]),
      { width: 30, height: 20 },
    ],
    [
      'GIF screen 800x600',
      'gif',
      forgedGif({ width: 800, height: 600 }, [{ width: 30, height: 20 }]),
      { width: 30, height: 20 },
    ],
    [
      'GIF screen 0x0',
      'gif',
      forgedGif({ width: 0, height: 0 }, [{ width: 30, height: 20 }]),
      { width: 30, height: 20 },
    ],
    // A frame wider than the screen, or placed past it, widens the image.
    [
      'GIF 100x100 screen, 20000x20000 frame',
      'gif',
      forgedGif({ width: 100, height: 100 }, [{ width: 20000, height: 20000 }]),
      { width: 20000, height: 20000 },
    ],
    [
      'GIF frame at 65000,60000',
      'gif',
      forgedGif({ width: 100, height: 100 }, [{ left: 65000, top: 60000, width: 30, height: 20 }]),
      { width: 65030, height: 60020 },
    ],
    // Only the first frame sizes it: a larger second one does not (libvips 8.18).
    [
      'GIF second frame larger',
      'gif',
      forgedGif({ width: 10, height: 10 }, [
        { width: 10, height: 10, data: 600 },
        { width: 9000, height: 7000 },
      ]),
      { width: 10, height: 10 },
    ],
    [
      'sharp TIFF (IFD after the pixels)',
      'tif',
      await made(300, 200).tiff().toBuffer(),
      { width: 300, height: 200 },
    ],
    ['fixture little-endian TIFF', 'tif', fixture('little-endian.tif'), { width: 64, height: 48 }],
    ['fixture big-endian LZW TIFF', 'tif', fixture('big-endian-lzw.tif'), { width: 64, height: 48 }],
    ['fixture BigTIFF', 'tif', fixture('bigtiff.tif'), { width: 64, height: 48 }],
    [
      'TIFF little-endian SHORT',
      'tif',
      forgedTiff({ width: 20000, height: 15000, little: true, type: 'short' }),
      { width: 20000, height: 15000 },
    ],
    [
      'TIFF little-endian LONG',
      'tif',
      forgedTiff({ width: 70000, height: 5000, little: true, type: 'long' }),
      { width: 70000, height: 5000 },
    ],
    [
      'TIFF big-endian SHORT',
      'tif',
      forgedTiff({ width: 20000, height: 15000, little: false, type: 'short' }),
      { width: 20000, height: 15000 },
    ],
    [
      'TIFF big-endian LONG',
      'tif',
      forgedTiff({ width: 5000, height: 70000, little: false, type: 'long' }),
      { width: 5000, height: 70000 },
    ],
    ['sharp AVIF', 'avif', avif, { width: 300, height: 200 }],
    [
      'AVIF ispe 20000x20000',
      'avif',
      edited(avif, (b) => {
        b.writeUInt32BE(20000, ispe + 8)
        b.writeUInt32BE(20000, ispe + 12)
      }),
      { width: 20000, height: 20000 },
    ],
    ['fixture grid AVIF', 'avif', fixture('grid.avif'), { width: 128, height: 128 }],
    ['fixture cropped AVIF', 'avif', fixture('cropped.avif'), { width: 60, height: 40 }],
    ['fixture rotated AVIF', 'avif', fixture('rotated.avif'), { width: 48, height: 64 }],
    ['fixture grid HEIC', 'heic', fixture('grid-300x40.heic'), { width: 300, height: 40 }],
    // librsvg sizes the root by CSS too (a <style> anywhere): its attributes are no bound.
    [
      'SVG',
      'svg',
      Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="20000" height="20000"/>'),
      undefined,
    ],
  ]
}

test('decodedSizeAtLeast: the size each format states as libvips reads it, GIF by libnsgif rules', async () => {
  for (const [name, ext, file, expected] of await samples()) {
    assert.deepEqual(await decodedSizeAtLeast(file, ext), expected, name)
  }
})

test('decodedSizeAtLeast never says more than libvips reads: no image the pool takes is refused early', async () => {
  for (const [name, ext, file] of await samples()) {
    const read = await decodedSizeAtLeast(file, ext)
    if (!read) continue
    const vips = await libvipsSize(file)
    assert.ok(
      read.width * read.height <= vips.width * vips.height,
      `${name}: ${JSON.stringify({ read, vips })}`,
    )
  }
})

test('decodedSizeAtLeast: a head cut anywhere, or lying, never throws and never says more than the whole file', async () => {
  for (const [name, ext, file] of await samples()) {
    const whole = await decodedSizeAtLeast(file, ext)
    const area = whole ? whole.width * whole.height : 0
    for (let n = 0; n < Math.min(file.length, 1200); n++) {
      const read = await decodedSizeAtLeast(file.subarray(0, n), ext)
      assert.ok(!read || read.width * read.height <= area, `${name} cut at ${n}: ${JSON.stringify(read)}`)
    }
  }
  // A TIFF whose IFD lies past the head, or whose first IFD offset points past it: not told.
  const tiff = forgedTiff({ width: 20000, height: 20000, little: true, type: 'long' })
  assert.equal(
    await decodedSizeAtLeast(
      edited(tiff, (b) => b.writeUInt32LE(0xfffffff0, 4)),
      'tif',
    ),
    undefined,
  )
  // Noise after each format's signature.
  for (const [ext, magic] of [
    ['gif', 'GIF89a'],
    ['tif', 'II*\0'],
    ['tif', 'MM\0*'],
    ['avif', '\0\0\0\x1cftypavif'],
  ] as const) {
    for (let seed = 0; seed < 200; seed++) {
      const b = Buffer.concat([
        Buffer.from(magic, 'latin1'),
        Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 131 + seed * 7919) & 255)),
      ])
      await decodedSizeAtLeast(b, ext)
    }
  }
})

test('gifDecodedSize: the first frame, after any extensions; its descriptor past the head is not told', async () => {
  // sharp writes a graphic control extension before the frame.
  const gif = await made(30, 20).gif().toBuffer()
  assert.equal(gif[13 + 3 * 2 ** ((gif[10] & 7) + 1)], 0x21, 'an extension first')
  assert.deepEqual(gifDecodedSize(gif), { width: 30, height: 20 })
  const untrusted = forgedGif({ width: 640, height: 480 }, [{ left: 3, top: 4, width: 5, height: 5 }])
  assert.deepEqual(gifDecodedSize(untrusted), { width: 8, height: 9 })
  // Cut in the frame's descriptor: the screen is not trusted, so nothing is told.
  assert.equal(gifDecodedSize(untrusted.subarray(0, 24)), undefined)
  // A trusted screen still needs its first frame: a descriptor may widen it, not the screen alone.
  assert.equal(gifDecodedSize(forgedGif({ width: 100, height: 100 }, []).subarray(0, 19)), undefined)
  assert.equal(gifDecodedSize(Buffer.from('GIF89a')), undefined)
})

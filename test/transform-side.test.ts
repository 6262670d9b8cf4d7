import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import sharp from 'sharp'
import { hiddenDefaultFrame, hidesDefaultImage } from '../src/transform/apng.js'
import { gammaExponent } from '../src/transform/plan.js'
import { pngGamma } from '../src/transform/png-metadata.js'
import { TransformPool } from '../src/transform/pool.js'
import { resolveTransformSpec, type TransformOptions } from '../src/transform/spec.js'
import { near, pixel } from './fixtures/transform/index.js'
import { apng } from './support/apng.js'
import { pngChunk } from './support/png-chunk.js'

// Images that trouble a resizer, found side by side with Chromium and ImageMagick
// (bench/misbehave-transform.ts): each case here is one imgpull got wrong.

const pool = new TransformPool({ workers: 1 })
after(() => pool.close())

/** `png` with `chunks` put right after its IHDR (where gAMA, sRGB, iCCP and cICP go). */
const afterIhdr = (png: Buffer, ...chunks: Buffer[]) =>
  Buffer.concat([png.subarray(0, 33), ...chunks, png.subarray(33)])

/** A gAMA chunk stating the file gamma `gamma` (PNG 3rd edition §11.3.2.2: times 100,000). */
function gAMA(gamma: number): Buffer {
  const data = Buffer.alloc(4)
  data.writeUInt32BE(Math.round(gamma * 100_000))
  return pngChunk('gAMA', data)
}

const srgbChunk = pngChunk('sRGB', Buffer.from([0]))

/** `png` without its chunks of `type`. */
function withoutChunk(png: Buffer, type: string): Buffer {
  const kept = [png.subarray(0, 8)]
  for (let at = 8; at + 8 <= png.length; ) {
    const end = at + 12 + png.readUInt32BE(at)
    if (png.toString('latin1', at + 4, at + 8) !== type) kept.push(png.subarray(at, end))
    at = end
  }
  return Buffer.concat(kept)
}

/** A PNG of one colour (with alpha when `alpha` is given), 120x80. */
const solidPng = (value: number, alpha?: number) =>
  sharp({
    create: {
      width: 120,
      height: 80,
      channels: alpha === undefined ? 3 : 4,
      background: { r: value, g: value, b: value, alpha: alpha ?? 1 },
    },
  })
    .png()
    .toBuffer()

/** Stored `value` (0–255) of a file gamma `gamma`, as a browser paints it: decoded to linear light, then sRGB. */
function shownAs(value: number, gamma: number): number {
  const linear = (value / 255) ** (1 / gamma)
  const srgb = linear <= 0.0031308 ? 12.92 * linear : 1.055 * linear ** (1 / 2.4) - 0.055
  return Math.round(srgb * 255)
}

const transform = (input: Buffer, options: TransformOptions) =>
  pool.transform(input, resolveTransformSpec(options))

describe('a PNG whose gAMA is its only colour description (libvips/libvips#1238)', () => {
  // Chromium (Skia) decodes such a PNG by its gAMA: a grey 128 of gamma 1.0 is shown 188. libvips
  // ignores gAMA, and writes no gAMA either: resized or re-encoded, it came out a grey 128 shown 128,
  // far darker than the image a browser showed (bench/misbehave-transform.ts, gama-only).
  for (const gamma of [1.0, 1 / 1.8]) {
    it(`gAMA ${gamma.toFixed(5)}: written anew in the colours a browser shows`, async () => {
      const input = afterIhdr(await solidPng(128), gAMA(gamma))
      for (const options of [
        { resize: 'keep-ratio', size: 40 },
        { encode: 'jpg' },
        { encode: 'webp', quality: 100 },
        { resize: 'keep-ratio', size: 40, keepMetadata: true },
      ] as TransformOptions[]) {
        const out = await transform(input, options)
        const shown = shownAs(128, gamma)
        const got = await pixel(out.bytes!, 5, 5)
        assert.ok(
          near(got, [shown, shown, shown], 3),
          `${JSON.stringify(options)}: ${got}, a browser shows ${shown}`,
        )
      }
    })
  }

  it('its alpha is not a colour: left as it is', async () => {
    const input = afterIhdr(await solidPng(128, 0.5), gAMA(1))
    const got = await pixel((await transform(input, { resize: 'keep-ratio', size: 40 })).bytes!, 5, 5)
    assert.ok(near(got, [188, 188, 188, 128], 3), String(got))
  })

  it("a border's padding is the colour asked, not one brightened with the image", async () => {
    const input = afterIhdr(await solidPng(128), gAMA(1))
    const out = await transform(input, { resize: 'border', size: 120, background: '#808080' })
    assert.ok(near(await pixel(out.bytes!, 60, 2), [128, 128, 128, 255], 2), 'padding')
    assert.ok(near(await pixel(out.bytes!, 60, 60), [188, 188, 188, 255], 3), 'image')
  })

  it('a 16-bit PNG keeps its 16 bits', async () => {
    const deep = await sharp({ create: { width: 120, height: 80, channels: 3, background: '#808080' } })
      .toColourspace('rgb16')
      .png()
      .toBuffer()
    const out = await transform(afterIhdr(deep, gAMA(1)), { resize: 'keep-ratio', size: 40 })
    const meta = await sharp(out.bytes!).metadata()
    assert.equal(meta.depth, 'ushort')
    assert.ok(near(await pixel(out.bytes!, 5, 5), [188, 188, 188], 3))
  })

  it('its EXIF orientation still turns it upright', async () => {
    // sharp writes an sRGB profile with the orientation: taken out, the gAMA is all there is.
    const turned = withoutChunk(
      await sharp(await solidPng(128))
        .withMetadata({ orientation: 6 })
        .png()
        .toBuffer(),
      'iCCP',
    )
    const out = await transform(afterIhdr(turned, gAMA(1)), { resize: 'keep-ratio-largest', size: 60 })
    assert.deepEqual([out.width, out.height], [40, 60])
    assert.deepEqual([(await sharp(out.bytes!).metadata()).width, out.originalWidth], [40, 80])
    assert.ok(near(await pixel(out.bytes!, 5, 5), [188, 188, 188], 3))
  })

  it("an sRGB chunk, or a gAMA of sRGB's own 1/2.2, leaves the values as they are", async () => {
    for (const input of [
      afterIhdr(await solidPng(128), srgbChunk, gAMA(1)),
      afterIhdr(await solidPng(128), gAMA(1 / 2.2)),
      await solidPng(128),
    ]) {
      const got = await pixel((await transform(input, { resize: 'keep-ratio', size: 40 })).bytes!, 5, 5)
      assert.ok(near(got, [128, 128, 128], 1), String(got))
    }
  })

  it("report.html's thumbnail of it shows the colours a browser shows too", async () => {
    const input = afterIhdr(await solidPng(128), gAMA(1))
    for (const format of ['webp', 'jpg'] as const) {
      const thumb = await pool.thumbnail(input, { format, quality: 100 })
      assert.ok(near(await pixel(thumb, 5, 5), [188, 188, 188], 4), `${format}: ${await pixel(thumb, 5, 5)}`)
    }
  })

  it('kept as it came when nothing changes it: its gAMA goes with it', async () => {
    const input = afterIhdr(await solidPng(128), gAMA(1))
    const out = await transform(input, { encode: 'png' })
    assert.equal(out.kept, true)
  })
})

describe('pngGamma: the file gamma a PNG states, when nothing overrides it', () => {
  it('table', async () => {
    const png = await solidPng(10)
    const cases: [string, Buffer, number | undefined][] = [
      ['none', png, undefined],
      ['gAMA 1.0', afterIhdr(png, gAMA(1)), 1],
      ['gAMA 0.55556', afterIhdr(png, gAMA(0.55556)), 0.55556],
      ['gAMA 0 (meaningless: ignored)', afterIhdr(png, gAMA(0)), undefined],
      ['sRGB first', afterIhdr(png, srgbChunk, gAMA(1)), undefined],
      ['sRGB after', afterIhdr(png, gAMA(1), srgbChunk), undefined],
      ['iCCP', afterIhdr(png, gAMA(1), pngChunk('iCCP', Buffer.from('x\0\0'))), undefined],
      ['cICP', afterIhdr(png, gAMA(1), pngChunk('cICP', Buffer.from([1, 13, 0, 1]))), undefined],
      ['a gAMA of 3 bytes', afterIhdr(png, pngChunk('gAMA', Buffer.from([0, 1, 0]))), undefined],
      ['not a PNG', Buffer.from('GIF89a....'), undefined],
      ['cut in its chunks', afterIhdr(png, gAMA(1)).subarray(0, 40), undefined],
    ]
    for (const [name, bytes, expected] of cases) assert.equal(pngGamma(bytes), expected, name)
  })
})

describe("gammaExponent: the power that takes a file gamma's values to sRGB's", () => {
  it('table', () => {
    const cases: [number | undefined, number | undefined][] = [
      [undefined, undefined],
      [1 / 2.2, undefined], // sRGB's own
      [0.45, undefined], // within libpng's 5 % of it
      [0.47, undefined],
      [1, 1 / 2.2],
      [0.55556, 1 / (2.2 * 0.55556)],
      [0.4, 1 / (2.2 * 0.4)],
      [0.1, undefined], // past what sharp's gamma takes (1 to 3 each way): left alone
      [2.2, undefined], // a gamma written upside down (220000): as far
    ]
    for (const [gamma, expected] of cases) {
      const got = gammaExponent(gamma)
      if (expected === undefined) assert.equal(got, undefined, String(gamma))
      else assert.ok(got !== undefined && Math.abs(got - expected) < 1e-9, `${gamma}: ${got}`)
    }
  })
})

const colourPng = (width: number, height: number, r: number, g: number, b: number) =>
  sharp({ create: { width, height, channels: 4, background: { r, g, b, alpha: 1 } } })
    .png()
    .toBuffer()

describe('an APNG whose default image is not part of its animation (opencv/opencv#27074)', () => {
  // Its IDAT image is a fallback for viewers without APNG; Chromium shows the animation's first
  // frame. libvips read the fallback: a red placeholder resized where browsers showed blue.
  it('written anew as the first frame browsers show, not the hidden fallback', async () => {
    const input = apng(await colourPng(120, 80, 255, 0, 0), await colourPng(120, 80, 0, 0, 255))
    for (const options of [
      { resize: 'keep-ratio', size: 40 },
      { encode: 'jpg' },
      { encode: 'webp' },
    ] as TransformOptions[]) {
      const out = await transform(input, options)
      const got = await pixel(out.bytes!, 5, 5)
      assert.ok(near(got, [0, 0, 255], 4), `${JSON.stringify(options)}: ${got}`)
      assert.deepEqual([out.originalWidth, out.originalHeight], [120, 80])
    }
  })

  it('a first frame smaller than the canvas sits at its offsets, transparent around it', async () => {
    const input = apng(await colourPng(120, 80, 255, 0, 0), await colourPng(40, 20, 0, 0, 255), {
      left: 60,
      top: 30,
    })
    const out = await transform(input, { encode: 'webp', quality: 100 })
    assert.deepEqual([out.width, out.height], [120, 80])
    assert.ok(near(await pixel(out.bytes!, 70, 40), [0, 0, 255, 255], 4), 'the frame')
    assert.equal((await pixel(out.bytes!, 5, 5))[3], 0, 'the canvas around it')
  })

  it('one whose default image is its first frame is read as before', async () => {
    const input = apng(await colourPng(120, 80, 255, 0, 0), await colourPng(120, 80, 0, 0, 255), {
      shown: true,
    })
    const out = await transform(input, { resize: 'keep-ratio', size: 40 })
    assert.ok(near(await pixel(out.bytes!, 5, 5), [255, 0, 0], 4))
  })

  it('a file too large to be read whole (over 16 MB) is found by its chunk headers', async () => {
    const small = apng(await colourPng(120, 80, 255, 0, 0), await colourPng(120, 80, 0, 0, 255))
    // 17 MB of a private ancillary chunk after the frame, which decoders pass over.
    const iend = small.length - 12
    const big = Buffer.concat([
      small.subarray(0, iend),
      pngChunk('zzZz', Buffer.alloc(17 << 20)),
      small.subarray(iend),
    ])
    const dir = mkdtempSync(join(tmpdir(), 'imgpull-apng-'))
    try {
      writeFileSync(join(dir, 'big.png'), big)
      const out = await pool.transform(
        { path: join(dir, 'big.png') },
        resolveTransformSpec({ resize: 'keep-ratio', size: 40 }),
      )
      assert.ok(near(await pixel(out.bytes!, 5, 5), [0, 0, 255], 4))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('kept as it came when nothing changes it (its animation with it)', async () => {
    const input = apng(await colourPng(120, 80, 255, 0, 0), await colourPng(120, 80, 0, 0, 255))
    assert.equal((await transform(input, { encode: 'png', verifyDecode: true })).kept, true)
  })
})

describe('hiddenDefaultFrame: the first frame of an APNG that hides its default image', () => {
  it('table', async () => {
    const red = await colourPng(12, 8, 255, 0, 0)
    const blue = await colourPng(12, 8, 0, 0, 255)
    const hidden = apng(red, blue)
    assert.equal(hidesDefaultImage(hidden), true)
    const frame = hiddenDefaultFrame(hidden)!
    assert.deepEqual([frame.canvas, frame.left, frame.top], [{ width: 12, height: 8 }, 0, 0])
    assert.ok(near(await pixel(frame.png, 1, 1), [0, 0, 255, 255], 0))
    const cases: [string, Buffer][] = [
      ['a still PNG', red],
      ['default image shown', apng(red, blue, { shown: true })],
      ['not a PNG', Buffer.from('GIF89a..........')],
      ['cut before its frame', hidden.subarray(0, hidden.length - 40)],
      ['a frame past its canvas', apng(red, blue, { left: 4 })],
    ]
    for (const [name, bytes] of cases) assert.equal(hiddenDefaultFrame(bytes), undefined, name)
  })
})

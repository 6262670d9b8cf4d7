import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import sharp from 'sharp'
import { TransformPool } from '../src/transform/pool.js'
import { type ResizeMode, resolveTransformSpec } from '../src/transform/spec.js'
import { fixture, fixturePath, metadataOf, near, pixel } from './fixtures/transform/index.js'
import { makeTiff } from './support/images.js'

const pool = new TransformPool({ workers: 2 })
const dir = mkdtempSync(join(tmpdir(), 'imgpull-transform-'))
after(async () => {
  await pool.close()
  rmSync(dir, { recursive: true, force: true })
})

const RED = [220, 20, 20]
const BLUE = [20, 20, 220]
const WHITE = [255, 255, 255, 255]

// Inputs as displayed (the JPEG is stored 300×200 with EXIF orientation 6), and what each mode
// makes of them at size 100.
const inputs: { name: string; format: string; sizes: Record<Exclude<ResizeMode, 'no'>, [number, number]> }[] =
  [
    {
      name: 'photo-orient6-gps.jpg',
      format: 'jpeg',
      sizes: {
        'keep-ratio': [100, 150],
        'keep-ratio-largest': [67, 100],
        'center-crop': [100, 100],
        border: [100, 100],
      },
    },
    {
      name: 'alpha.png',
      format: 'png',
      sizes: {
        'keep-ratio': [167, 100],
        'keep-ratio-largest': [100, 60],
        'center-crop': [100, 100],
        border: [100, 100],
      },
    },
    {
      name: 'photo.webp',
      format: 'webp',
      sizes: {
        'keep-ratio': [100, 150],
        'keep-ratio-largest': [67, 100],
        'center-crop': [100, 100],
        border: [100, 100],
      },
    },
    {
      name: 'animated.gif',
      format: 'gif',
      sizes: {
        'keep-ratio': [133, 100],
        'keep-ratio-largest': [100, 75],
        'center-crop': [100, 100],
        border: [100, 100],
      },
    },
    {
      name: 'photo.avif',
      format: 'heif',
      sizes: {
        'keep-ratio': [150, 100],
        'keep-ratio-largest': [100, 67],
        'center-crop': [100, 100],
        border: [100, 100],
      },
    },
  ]

describe('each mode on each format keeps the format and makes the size asked', () => {
  for (const { name, format, sizes } of inputs) {
    for (const [resize, [width, height]] of Object.entries(sizes)) {
      it(`${name} ${resize} 100 → ${width}x${height}`, async () => {
        const result = await pool.transform(
          fixture(name),
          resolveTransformSpec({ resize: resize as ResizeMode, size: 100 }),
        )
        assert.equal(result.kept, false)
        assert.ok(Buffer.isBuffer(result.bytes))
        const meta = await metadataOf(result.bytes)
        assert.equal(meta.format, format)
        assert.deepEqual([meta.width, meta.height], [width, height])
        assert.deepEqual([result.width, result.height], [width, height])
        assert.equal(meta.pages ?? 1, 1) // an animation becomes its first frame
      })
    }
  }
})

describe('orientation', () => {
  const photo = fixture('photo-orient6-gps.jpg')
  it('is applied before resizing: stored 300x200 red|blue, displayed 200x300 red over blue', async () => {
    const result = await pool.transform(
      photo,
      resolveTransformSpec({ resize: 'keep-ratio-largest', size: 150 }),
    )
    assert.deepEqual([result.originalWidth, result.originalHeight], [200, 300])
    assert.deepEqual([result.width, result.height], [100, 150])
    const meta = await metadataOf(result.bytes!)
    assert.equal(meta.orientation, undefined) // upright pixels, no tag left to apply
    assert.ok(near(await pixel(result.bytes!, 50, 10), RED))
    assert.ok(near(await pixel(result.bytes!, 50, 140), BLUE))
  })
  it('center-crop cuts the middle of the upright image', async () => {
    const result = await pool.transform(photo, resolveTransformSpec({ resize: 'center-crop', size: 100 }))
    assert.ok(near(await pixel(result.bytes!, 50, 10), RED))
    assert.ok(near(await pixel(result.bytes!, 50, 90), BLUE))
  })
})

describe('border pads with the background', () => {
  it('white by default, around a 100x60 PNG', async () => {
    const result = await pool.transform(
      fixture('alpha.png'),
      resolveTransformSpec({ resize: 'border', size: 100 }),
    )
    assert.ok(near(await pixel(result.bytes!, 75, 5), WHITE, 0)) // padding above
    assert.ok(near(await pixel(result.bytes!, 75, 50), [20, 200, 20, 255])) // the image, green half
    assert.equal((await pixel(result.bytes!, 25, 50))[3], 0) // its transparent half stays transparent
  })
  it('in the colour asked', async () => {
    const spec = resolveTransformSpec({ resize: 'border', size: 100, background: '#000000' })
    const result = await pool.transform(fixture('photo.webp'), spec)
    assert.ok(near(await pixel(result.bytes!, 5, 50), [0, 0, 0, 255], 8)) // padding left of 67x100
  })
  it('in the colour asked around a greyscale image too, and under its transparency in JPEG', async () => {
    // libvips painted a grey image in grey: a red padding came out as red's luminance (54,54,54),
    // and a transparent grey PNG written as JPEG on red came out white.
    const grey = await sharp({ create: { width: 64, height: 32, channels: 3, background: '#000000' } })
      .toColourspace('b-w')
      .jpeg()
      .toBuffer()
    const greyAlpha = await sharp({
      create: { width: 64, height: 32, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } },
    })
      .toColourspace('b-w')
      .png()
      .toBuffer()
    assert.deepEqual([(await metadataOf(grey)).space, (await metadataOf(greyAlpha)).channels], ['b-w', 2])
    const red = [255, 0, 0, 255]
    const padded = await pool.transform(
      grey,
      resolveTransformSpec({ resize: 'border', size: 100, background: 'red' }),
    )
    assert.ok(near(await pixel(padded.bytes!, 50, 5), red, 8)) // padding above the 100x50
    assert.ok(near(await pixel(padded.bytes!, 50, 50), [0, 0, 0, 255], 8)) // the image
    const flat = await pool.transform(greyAlpha, resolveTransformSpec({ encode: 'jpg', background: 'red' }))
    assert.ok(near(await pixel(flat.bytes!, 32, 16), red, 8))
    const both = await pool.transform(
      greyAlpha,
      resolveTransformSpec({ resize: 'border', size: 100, background: '#00f', encode: 'jpg' }),
    )
    assert.ok(near(await pixel(both.bytes!, 50, 5), [0, 0, 255, 255], 8)) // padding
    assert.ok(near(await pixel(both.bytes!, 50, 50), [0, 0, 255, 255], 8)) // under the transparency
    // With --keep-metadata too.
    const kept = await pool.transform(
      grey,
      resolveTransformSpec({ resize: 'border', size: 100, background: 'red', keepMetadata: true }),
    )
    assert.ok(near(await pixel(kept.bytes!, 50, 5), red, 8))
  })
  it('a translucent colour is laid over white where the image has no alpha channel (JPEG), kept as asked where it has one', async () => {
    // libvips drops the colour's alpha there: --background transparent padded a JPEG in black and
    // flattened a PNG written as JPEG onto black; #ff000080 was dark red (131,0,0) in the padding
    // and full red under transparent pixels.
    const jpeg = fixture('photo-orient6-gps.jpg') // 200x300 as displayed: padded left and right
    const clear = await sharp({
      create: { width: 64, height: 32, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } },
    })
      .png()
      .toBuffer()
    const painted: [string, number[]][] = [
      ['transparent', [255, 255, 255, 255]],
      ['#ff000080', [255, 127, 127, 255]],
      ['rgba(0, 0, 255, 0.25)', [191, 191, 255, 255]],
    ]
    for (const [background, shown] of painted) {
      const padded = await pool.transform(
        jpeg,
        resolveTransformSpec({ resize: 'border', size: 100, background }),
      )
      assert.equal(padded.format, 'jpg')
      assert.ok(near(await pixel(padded.bytes!, 5, 50), shown, 8), `${background}: padding`)
      const flat = await pool.transform(clear, resolveTransformSpec({ encode: 'jpg', background }))
      assert.ok(near(await pixel(flat.bytes!, 32, 16), shown, 8), `${background}: under transparency`)
    }
    // A format with alpha takes the colour as it is: a transparent padding around a PNG.
    const png = await pool.transform(
      jpeg,
      resolveTransformSpec({ resize: 'border', size: 100, background: 'transparent', encode: 'png' }),
    )
    assert.deepEqual(await pixel(png.bytes!, 5, 50), [0, 0, 0, 0])
  })
})

describe('center-crop and border place the image where img2dataset does', () => {
  /** A PNG whose every pixel tells where it stands: red is its row, green its column (both mod 256). */
  const rulers = (width: number, height: number) => {
    const raw = Buffer.alloc(width * height * 3)
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) raw.set([y % 256, x % 256], (y * width + x) * 3)
    }
    return sharp(raw, { raw: { width, height, channels: 3 } })
      .png()
      .toBuffer()
  }
  const spec = (resize: 'center-crop' | 'border', size: number) =>
    resolveTransformSpec({ resize, size, encode: 'png' })

  it("center-crop cuts an odd excess as albumentations' center_crop and ImageMagick's -gravity center do", async () => {
    // (301 - 256) // 2 = 22: rows 22 to 277 (sharp's own cover cut 23 to 278), columns 0 to 255 of 257.
    const tall = await pool.transform(await rulers(256, 301), spec('center-crop', 256))
    assert.deepEqual((await pixel(tall.bytes!, 0, 0)).slice(0, 2), [22, 0])
    assert.deepEqual((await pixel(tall.bytes!, 255, 255)).slice(0, 2), [277 % 256, 255])
    const wide = await pool.transform(await rulers(257, 256), spec('center-crop', 256))
    assert.deepEqual((await pixel(wide.bytes!, 0, 0)).slice(0, 2), [0, 0])
    assert.deepEqual((await pixel(wide.bytes!, 255, 255)).slice(0, 2), [255, 255])
  })

  it('border scales by the sizes keep-ratio-largest makes and pads by half the rest, rounded down', async () => {
    // 1025x2048 in 1024: 512.5 wide, a tie to the even side as img2dataset's Python rounds it, so
    // 512 wide at column 256; sharp's own contain made it 513 wide at column 255.
    const black = await sharp({ create: { width: 1025, height: 2048, channels: 3, background: '#000000' } })
      .png()
      .toBuffer()
    const result = await pool.transform(black, spec('border', 1024))
    const row = await sharp(result.bytes!)
      .extract({ left: 0, top: 512, width: 1024, height: 1 })
      .raw()
      .toBuffer()
    const dark = [...Array(1024).keys()].filter((x) => row[x * 3] < 128)
    assert.deepEqual([dark.length, dark[0], dark.at(-1)], [512, 256, 767])
  })
})

describe('encode', () => {
  for (const [encode, format] of [
    ['jpg', 'jpeg'],
    ['png', 'png'],
    ['webp', 'webp'],
    ['avif', 'heif'],
  ] as const) {
    it(`writes ${encode} without resizing`, async () => {
      const source = encode === 'webp' ? 'photo.avif' : 'photo.webp'
      const result = await pool.transform(fixture(source), resolveTransformSpec({ encode }))
      assert.equal(result.format, encode)
      const meta = await metadataOf(result.bytes!)
      assert.equal(meta.format, format)
      assert.deepEqual([meta.width, meta.height], [result.originalWidth, result.originalHeight])
    })
  }
  it('flattens transparency onto the background for JPEG', async () => {
    const result = await pool.transform(fixture('alpha.png'), resolveTransformSpec({ encode: 'jpg' }))
    assert.ok(near(await pixel(result.bytes!, 20, 60), WHITE, 8)) // was transparent
    assert.ok(near(await pixel(result.bytes!, 180, 60), [20, 200, 20, 255]))
  })
  it('uses the quality asked', async () => {
    const input = fixture('alpha.png')
    const low = await pool.transform(input, resolveTransformSpec({ encode: 'jpg', quality: 10 }))
    const high = await pool.transform(input, resolveTransformSpec({ encode: 'jpg', quality: 95 }))
    assert.ok(low.bytes!.length < high.bytes!.length, `${low.bytes!.length} < ${high.bytes!.length}`)
  })
  it('rasterises an SVG to PNG when it must change', async () => {
    const svg = Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg" width="300" height="150"><rect width="300" height="150" fill="red"/></svg>',
    )
    const result = await pool.transform(svg, resolveTransformSpec({ resize: 'keep-ratio', size: 50 }))
    assert.equal(result.format, 'png')
    const meta = await metadataOf(result.bytes!)
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 100, 50])
  })
  it('renders an SVG whose XML declaration names version 1.1 or 1.5, as XML 1.0 reads it and browsers show it', async () => {
    // librsvg takes libxml2's warning "Unsupported version '1.1'" for an error; XML 1.0 (5th
    // edition, §2.8) has a 1.0 processor read a 1.x document as 1.0, and Chromium shows it.
    const rect =
      '<svg xmlns="http://www.w3.org/2000/svg" width="30" height="20"><rect width="30" height="20" fill="red"/></svg>'
    for (const declaration of [
      '<?xml version="1.1" encoding="UTF-8"?>\n',
      "\ufeff<?xml version='1.5'?>",
      '<?xml  version = "1.1" standalone="no"?>\r\n',
    ]) {
      const svg = Buffer.from(declaration + rect)
      const kept = await pool.transform(svg, resolveTransformSpec({ verifyDecode: true }))
      assert.deepEqual([kept.kept, kept.width, kept.height], [true, 30, 20], declaration)
      const made = await pool.transform(svg, resolveTransformSpec({ encode: 'png' }))
      assert.ok(near(await pixel(made.bytes!, 15, 10), [255, 0, 0, 255]), declaration)
    }
  })
  it("draws an SVG longer than 32767 px (cairo's limit), scaled down or kept at its size, its ends opaque", async () => {
    // sharp refuses to draw it ("Input SVG image exceeds 32767x32767 pixel limit", lovell/sharp#3964):
    // it failed as transform-failed even resized to 100 px. Drawn 32767 long it is scaled from there;
    // its short side drawn 8.19 px high came out inset 384 px at either end, transparent there.
    const svg = Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg" width="40000" height="10"><rect width="20000" height="10" fill="red"/><rect x="20000" width="20000" height="10" fill="blue"/></svg>',
    )
    const small = await pool.transform(svg, resolveTransformSpec({ resize: 'keep-ratio-largest', size: 100 }))
    assert.deepEqual([small.format, small.width, small.height], ['png', 100, 1])
    assert.ok(near(await pixel(small.bytes!, 0, 0), [255, 0, 0, 255], 8))
    assert.ok(near(await pixel(small.bytes!, 99, 0), [0, 0, 255, 255], 8))
    const whole = await pool.transform(svg, resolveTransformSpec({ encode: 'png' }))
    const meta = await metadataOf(whole.bytes!)
    assert.deepEqual([meta.width, meta.height], [40000, 10])
    assert.ok(near(await pixel(whole.bytes!, 0, 5), [255, 0, 0, 255], 8))
    assert.ok(near(await pixel(whole.bytes!, 39999, 5), [0, 0, 255, 255], 8))
  })
})

describe('16-bit images', () => {
  it('keep their 16 bits resized as PNG (colour, grey, alpha), and are 8-bit as JPEG', async () => {
    // sharp writes 8 bits unless told: a 16-bit scan resized as PNG lost its precision silently.
    const rgba = await sharp({
      create: { width: 64, height: 48, channels: 4, background: { r: 200, g: 100, b: 50, alpha: 0.5 } },
    })
      .toColourspace('rgb16')
      .png()
      .toBuffer()
    const grey = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#808080' } })
      .toColourspace('grey16')
      .png()
      .toBuffer()
    for (const [input, space, channels] of [
      [rgba, 'rgb16', 4],
      [grey, 'grey16', 1],
    ] as const) {
      assert.equal((await metadataOf(input)).depth, 'ushort')
      const resized = await pool.transform(input, resolveTransformSpec({ resize: 'keep-ratio', size: 24 }))
      const meta = await metadataOf(resized.bytes!)
      assert.deepEqual([meta.depth, meta.space, meta.channels, meta.width], ['ushort', space, channels, 32])
      // A grey image padded with a colour is 16-bit RGB.
      const padded = await pool.transform(
        input,
        resolveTransformSpec({ resize: 'border', size: 100, background: 'red' }),
      )
      const pad = await metadataOf(padded.bytes!)
      assert.deepEqual([pad.depth, pad.space], ['ushort', 'rgb16'])
      assert.ok(near(await pixel(padded.bytes!, 50, 2), [255, 0, 0, 255], 8))
      const jpeg = await pool.transform(input, resolveTransformSpec({ encode: 'jpg' }))
      assert.equal((await metadataOf(jpeg.bytes!)).depth, 'uchar')
    }
  })
})

describe('a lossless source written in its own format again stays lossless', () => {
  // Noise: any lossy coding changes some of these pixels.
  const noise = Buffer.alloc(96 * 64 * 3)
  for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24
  const raw = { raw: { width: 96, height: 64, channels: 3 as const } }
  const pixels = (bytes: Uint8Array) => sharp(bytes).raw().toBuffer()
  it('a lossless WebP stripped of its EXIF or resized is written lossless; with --quality, lossy', async () => {
    const input = await sharp(noise, raw)
      .webp({ lossless: true })
      .withExif({ IFD0: { Copyright: 'someone' } })
      .toBuffer()
    const stripped = await pool.transform(input, resolveTransformSpec({ encode: 'webp' }))
    assert.equal(stripped.kept, false)
    assert.equal(Buffer.from(stripped.bytes!).toString('latin1', 12, 16), 'VP8L')
    assert.ok((await pixels(stripped.bytes!)).equals(noise), 'the pixels are the same')
    assert.equal((await metadataOf(stripped.bytes!)).exif, undefined)
    const resized = await pool.transform(input, resolveTransformSpec({ resize: 'keep-ratio', size: 32 }))
    assert.equal(Buffer.from(resized.bytes!).toString('latin1', 12, 16), 'VP8L')
    const asked = await pool.transform(input, resolveTransformSpec({ encode: 'webp', quality: 90 }))
    assert.equal(Buffer.from(asked.bytes!).toString('latin1', 12, 16), 'VP8 ')
    // A lossy WebP stays lossy.
    const lossy = await sharp(noise, raw)
      .webp()
      .withExif({ IFD0: { Copyright: 'someone' } })
      .toBuffer()
    const again = await pool.transform(lossy, resolveTransformSpec({ encode: 'webp' }))
    assert.equal(Buffer.from(again.bytes!).toString('latin1', 12, 16), 'VP8 ')
  })
  it('a TIFF resized is written with a lossless compression, 16 bits kept', async () => {
    // sharp's default TIFF compression is JPEG: lossy, 8 bits only.
    const input = await sharp(noise, raw).tiff({ compression: 'lzw' }).toBuffer()
    const spec = resolveTransformSpec({ resize: 'keep-ratio', size: 32 })
    const resized = await pool.transform(input, spec)
    assert.equal(resized.format, 'tif')
    const expected = await sharp(input).resize({ width: 48, height: 32, fit: 'fill' }).raw().toBuffer()
    assert.ok((await pixels(resized.bytes!)).equals(expected), "the pixels are sharp's resize, uncoded")
    const deep = await sharp(noise, raw).toColourspace('rgb16').tiff({ compression: 'deflate' }).toBuffer()
    const meta = await metadataOf((await pool.transform(deep, spec)).bytes!)
    assert.deepEqual([meta.format, meta.depth, meta.width], ['tiff', 'ushort', 48])
  })
})

describe('an image that needs no change is kept byte for byte', () => {
  const cases: [string, Parameters<typeof resolveTransformSpec>[0]][] = [
    ['photo-orient6-gps.jpg', { minSize: 10 }],
    ['photo-orient6-gps.jpg', { encode: 'jpg', keepMetadata: true }], // already JPEG, its metadata kept
    ['photo-orient6-gps.jpg', { resize: 'keep-ratio', size: 200 }], // shortest side (displayed) is 200
    ['alpha.png', { resize: 'keep-ratio-largest', size: 400, resizeOnlyIfBigger: true }],
    ['animated.gif', { resize: 'center-crop', size: 256, resizeOnlyIfBigger: true }], // animation kept too
    ['photo.avif', { encode: 'avif', maxAspectRatio: 2 }],
  ]
  for (const [name, options] of cases) {
    it(`${name} with ${JSON.stringify(options)}`, async () => {
      const output = join(dir, `kept-${name}`)
      const result = await pool.transform(fixture(name), resolveTransformSpec(options), { output })
      assert.equal(result.kept, true)
      assert.equal(result.bytes, undefined)
      assert.equal(result.path, undefined)
      assert.equal(existsSync(output), false) // nothing written: the input is the output
      assert.deepEqual([result.width, result.height], [result.originalWidth, result.originalHeight])
    })
  }
})

describe('files in, files out', () => {
  it('reads the input from a path and writes the output to a path', async () => {
    const output = join(dir, 'out.webp')
    const spec = resolveTransformSpec({ resize: 'keep-ratio', size: 64, encode: 'webp' })
    const result = await pool.transform({ path: fixturePath('photo-orient6-gps.jpg') }, spec, { output })
    assert.equal(result.path, output)
    assert.equal(result.bytes, undefined)
    const meta = await metadataOf(readFileSync(output))
    assert.deepEqual([meta.format, meta.width, meta.height], ['webp', 64, 96])
  })
  it('leaves no output file behind when the image fails', async () => {
    const output = join(dir, 'failed.jpg')
    const spec = resolveTransformSpec({ resize: 'keep-ratio', size: 64 })
    await assert.rejects(pool.transform(fixture('truncated.jpg'), spec, { output }), { code: 'undecodable' })
    assert.equal(existsSync(output), false)
  })
  it('fails one image whose file is missing, as transform-failed', async () => {
    await assert.rejects(
      pool.transform({ path: join(dir, 'missing.jpg') }, resolveTransformSpec({ encode: 'png' })),
      (error: Error & { code: string }) => error.code === 'transform-failed' && /missing/.test(error.message),
    )
  })
})

describe('an AVIF is read as AV1 whatever its major brand', () => {
  // libvips tells a HEIF file, and its codec, by the ftyp major brand alone (its list has no `avis`
  // nor `miaf`, and only `avif` means AV1); libheif reads each of these.
  const animated = fixture('animated.avif') // major brand avis: libavif's animated AVIF, with a still image
  const branded = (bytes: Buffer, brand: string) => {
    const copy = Buffer.from(bytes)
    copy.write(brand, 8, 'latin1')
    return copy
  }
  const resize = resolveTransformSpec({ resize: 'keep-ratio', size: 16 })
  /** A plain AVIF (major brand avif, one item), as sharp writes it. */
  const readStill = () =>
    sharp({ create: { width: 48, height: 32, channels: 3, background: '#c81e1e' } })
      .avif()
      .toBuffer()
  it('an animated AVIF (avis) is resized to its still image, as AVIF', async () => {
    for (const input of [animated, { path: fixturePath('animated.avif') }]) {
      const result = await pool.transform(input, resize)
      assert.deepEqual([result.format, result.width, result.height], ['avif', 16, 16])
      const meta = await metadataOf(result.bytes!)
      assert.deepEqual([meta.format, meta.compression], ['heif', 'av1'])
      assert.ok(near(await pixel(result.bytes!, 8, 8), [255, 0, 0, 255]), 'its first frame, red')
    }
  })
  it('an animated AVIF decodes under --verify decode and is kept as it came', async () => {
    const result = await pool.transform(animated, resolveTransformSpec({ verifyDecode: true }))
    assert.deepEqual([result.kept, result.format, result.width, result.height], [true, 'avif', 32, 32])
  })
  it('an AVIF under a generic major brand (mif1, miaf) stays AVIF', async () => {
    const still = await readStill()
    for (const brand of ['mif1', 'miaf']) {
      const input = branded(still, brand)
      const resized = await pool.transform(input, resize)
      assert.deepEqual(
        [resized.kept, resized.format, resized.width],
        [false, 'avif', 24],
        `${brand}: resized`,
      )
      assert.equal((await metadataOf(resized.bytes!)).compression, 'av1')
      // Already AVIF, nothing to strip: kept, not written again.
      const kept = await pool.transform(input, resolveTransformSpec({ encode: 'avif' }))
      assert.deepEqual([kept.kept, kept.format], [true, 'avif'], `${brand}: --encode avif`)
    }
  })
  it('an image sequence with no still image is undecodable, and says why', async () => {
    // The same file without its meta box: a track, no item (the download's check calls it whole).
    const ftyp = animated.readUInt32BE(0)
    const meta = animated.readUInt32BE(ftyp)
    const trackOnly = Buffer.concat([animated.subarray(0, ftyp), animated.subarray(ftyp + meta)])
    await assert.rejects(pool.transform(trackOnly, resolveTransformSpec({ verifyDecode: true })), {
      code: 'undecodable',
      message: /image sequence with no still image/,
    })
  })
})

describe('a TIFF whose compression this libvips leaves out', () => {
  it('is named so, as the formats it cannot read are (LZMA and ZSTD: GDAL writes them)', async () => {
    for (const [code, name] of [
      [34925, 'LZMA'],
      [50000, 'ZSTD'],
    ] as const) {
      const tiff = makeTiff()
      // The IFD's fourth entry is Compression (SHORT), its value 10 bytes into the entry.
      assert.equal(tiff.readUInt16LE(10 + 3 * 12), 259)
      tiff.writeUInt16LE(code, 10 + 3 * 12 + 8)
      await assert.rejects(pool.transform(tiff, resolveTransformSpec({ verifyDecode: true })), {
        code: 'undecodable',
        message: new RegExp(
          `^cannot decode: a TIFF compressed with ${name} is not read by the libvips sharp ships from npm`,
        ),
      })
    }
  })
})

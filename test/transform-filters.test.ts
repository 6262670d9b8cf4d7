import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import sharp from 'sharp'
import { TransformError } from '../src/transform/errors.js'
import { lzwPixels, shortGifFrame } from '../src/transform/gif-pixels.js'
import { scansShort } from '../src/transform/jpeg-scans-sent.js'
import { TransformPool } from '../src/transform/pool.js'
import { resolveTransformSpec, type TransformSpec } from '../src/transform/spec.js'
import { fixture, peakRssMb } from './fixtures/transform/index.js'
import { chunksOf } from './support/apng.js'
import { pngChunk } from './support/png-chunk.js'

const pool = new TransformPool({ workers: 1 })
after(() => pool.close())

/** The code an image fails with, or 'ok'. */
async function outcome(name: string | Buffer, options: Partial<TransformSpec>): Promise<string> {
  try {
    const result = await pool.transform(
      typeof name === 'string' ? fixture(name) : name,
      resolveTransformSpec(options),
    )
    return result.kept ? 'kept' : 'changed'
  } catch (error) {
    assert.ok(error instanceof TransformError, String(error))
    assert.equal(error.retryable, false)
    return error.code
  }
}

describe('filters, on real images', () => {
  // photo.webp is 160x240; wide.png 400x40 (aspect ratio 10); the JPEG 200x300 as displayed.
  const table: [string, Partial<TransformSpec>, string][] = [
    ['photo.webp', { minSize: 160 }, 'kept'],
    ['photo.webp', { minSize: 161 }, 'too-small'],
    ['photo.webp', { minSize: 161, resize: 'keep-ratio', size: 32 }, 'too-small'], // before any resize
    ['wide.png', { maxAspectRatio: 10 }, 'kept'],
    ['wide.png', { maxAspectRatio: 9.9 }, 'bad-aspect-ratio'],
    ['photo.webp', { maxPixels: 160 * 240 }, 'kept'],
    ['photo.webp', { maxPixels: 160 * 240 - 1 }, 'too-many-pixels'],
    ['photo-orient6-gps.jpg', { minSize: 200, maxAspectRatio: 1.5, resize: 'border', size: 50 }, 'changed'],
    ['photo-orient6-gps.jpg', { minSize: 201 }, 'too-small'],
  ]
  for (const [name, options, expected] of table) {
    it(`${name} ${JSON.stringify(options)} → ${expected}`, async () => {
      assert.equal(await outcome(name, options), expected)
    })
  }
})

describe('a decompression bomb', () => {
  it('(a 274-byte PNG declaring 50000x50000) is refused from its header, nothing allocated', async () => {
    const bomb = fixture('bomb.png')
    assert.ok(bomb.length < 1000)
    // Even with nothing but a resize asked, and with the filter at its default.
    assert.equal(await outcome(bomb, { resize: 'keep-ratio', size: 64 }), 'too-many-pixels')
    assert.equal(await outcome(bomb, { verifyDecode: true }), 'too-many-pixels')
    assert.equal(await outcome(bomb, { maxPixels: 50_000 * 50_000 - 1 }), 'too-many-pixels')
    // Decoded, it would take 2.5 GB: the worker never grew near that.
    const [pid] = pool.stats.pids
    const peak = peakRssMb(pid)
    assert.ok(peak !== undefined || process.platform !== 'linux', 'reads /proc on Linux')
    if (peak !== undefined) assert.ok(peak < 400, `worker peak RSS ${peak} MB`)
  })
  it('is read no further than its header when a larger maxPixels lets it through and only filters are asked', async () => {
    assert.equal(await outcome('bomb.png', { maxPixels: 50_000 * 50_000, minSize: 1 }), 'kept')
  })
  it('in an SVG (a data: URI, in a nested SVG too) is held to maxPixels by the size it states; a small one is drawn', async () => {
    // librsvg decodes an embedded image in full, whatever size it is drawn at: a 100x100 SVG
    // holding a 420 KB PNG of 12000x12000 took a worker 1.6 GB under maxPixels 1000000, its pixels
    // never counted (a 432 KB JPEG of 7362x3679 in one: linebender/resvg#780; lovell/sharp#3979).
    const svg = (href: string) =>
      Buffer.from(
        `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="100" height="100"><image xlink:href="${href}" width="100" height="100"/></svg>`,
      )
    const base64 = (bytes: Buffer) =>
      `data:image/png;base64,${bytes.toString('base64').replace(/.{76}/g, '$&\n')}`
    const bomb = base64(fixture('bomb.png'))
    const nested = `data:image/svg+xml,${encodeURIComponent(svg(bomb).toString())}`
    const hidden = `&#100;ata${bomb.slice(4)}`
    for (const href of [bomb, nested, hidden]) {
      for (const options of [{ encode: 'png' }, { verifyDecode: true }] as const)
        assert.equal(
          await outcome(svg(href), options),
          'too-many-pixels',
          `${href.slice(0, 20)} ${JSON.stringify(options)}`,
        )
    }
    await assert.rejects(
      pool.transform(svg(bomb), resolveTransformSpec({ resize: 'keep-ratio', size: 50 })),
      {
        message: 'an SVG embedding a 50000x50000 PNG (a data: URI) is more than 268402689 pixels to decode',
      },
    )
    const small = await pool.transform(
      svg(base64(fixture('alpha.png'))),
      resolveTransformSpec({ encode: 'png' }),
    )
    assert.ok(small.bytes)
    const { channels } = await sharp(small.bytes).stats()
    assert.ok((channels.at(-1)?.max ?? 0) > 0, 'the small image is drawn')
  })
})

describe('an SVG declaring a size past what libvips reads', () => {
  const svg = (width: string, height: string) =>
    Buffer.from(
      `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="9" height="9"/></svg>`,
    )
  it('is held to --max-pixels by the size it declares: libvips read 1e9x1e9 as 1x1, and past 2^31 failed as zero-sized', async () => {
    // Read as 1x1, it was kept under --verify decode, too-small under --min-size, transform-failed
    // resized ("svgload_buffer: zero-sized image"); past 2^31 px, undecodable.
    for (const [width, height, shown] of [
      ['1e9', '1e9', '1000000000x1000000000'],
      ['100000001in', '1in', '9600000096x96'],
    ]) {
      for (const options of [
        { minSize: 5 },
        { verifyDecode: true },
        { resize: 'keep-ratio' as const, size: 64 },
      ]) {
        await assert.rejects(
          pool.transform(svg(width, height), resolveTransformSpec(options)),
          (error: TransformError) =>
            error.code === 'too-many-pixels' && error.message === `${shown} is more than 268402689 pixels`,
        )
      }
    }
  })
  it('longer than sharp draws at 1 dpi is refused as too-many-pixels where it must be drawn, kept where not', async () => {
    const strip = svg('200000000', '1')
    assert.equal(await outcome(strip, { minSize: 1 }), 'kept')
    await assert.rejects(
      pool.transform(strip, resolveTransformSpec({ resize: 'keep-ratio-largest', size: 100 })),
      (error: TransformError) =>
        error.code === 'too-many-pixels' &&
        error.message === '200000000x1 is longer than an SVG can be drawn (2359224 px a side)',
    )
  })
})

describe('undecodable images', () => {
  it('noise after a JPEG start is undecodable, whatever is asked', async () => {
    assert.equal(await outcome('undecodable.jpg', { minSize: 1 }), 'undecodable')
    assert.equal(await outcome('undecodable.jpg', { resize: 'keep-ratio', size: 64 }), 'undecodable')
  })
  it('text is undecodable', async () => {
    assert.equal(
      await outcome(Buffer.from('<!doctype html><p>not found</p>'), { encode: 'png' }),
      'undecodable',
    )
  })
  it('a truncated JPEG: its header passes, its pixels do not', async () => {
    assert.equal(await outcome('truncated.jpg', { minSize: 1 }), 'kept') // header only: no decode asked
    assert.equal(await outcome('truncated.jpg', { resize: 'keep-ratio', size: 64 }), 'undecodable')
    assert.equal(await outcome('truncated.jpg', { encode: 'webp' }), 'undecodable')
  })
  it('a JPEG cut short and closed with an end marker is undecodable: its lower half would be grey', async () => {
    // The structure check passes it (an end marker after a scan); libjpeg only warns, "premature
    // end of data segment", and fills the rest with grey (libvips#2309).
    const noise = Buffer.alloc(256 * 256 * 3)
    for (let i = 0; i < noise.length; i++) noise[i] = (i * 7919) % 251
    const raw = { width: 256, height: 256, channels: 3 } as const
    for (const progressive of [false, true]) {
      const whole = await sharp(noise, { raw }).jpeg({ quality: 90, progressive }).toBuffer()
      const cut = Buffer.concat([whole.subarray(0, whole.length / 2), Buffer.from([0xff, 0xd9])])
      for (const options of [
        { resize: 'keep-ratio', size: 64 },
        { encode: 'webp' },
        { verifyDecode: true },
      ] as const) {
        assert.equal(await outcome(cut, options), 'undecodable', `${progressive} ${JSON.stringify(options)}`)
      }
      assert.equal(await outcome(whole, { verifyDecode: true }), 'kept')
    }
    // A warning that loses nothing still passes: a sequential scan whose header says it ends at
    // coefficient 62 (as some Samsung phones write it), which libjpeg reads whole, as browsers do.
    const photo = fixture('photo-orient6-gps.jpg')
    const sos = photo.indexOf(Buffer.from([0xff, 0xda]))
    const samsung = Buffer.from(photo)
    samsung[sos + 2 + samsung.readUInt16BE(sos + 2) - 2] = 62
    assert.equal(await outcome(samsung, { verifyDecode: true }), 'kept')
    const resized = await pool.transform(samsung, resolveTransformSpec({ resize: 'keep-ratio', size: 100 }))
    const reference = await pool.transform(photo, resolveTransformSpec({ resize: 'keep-ratio', size: 100 }))
    assert.equal(resized.sha256, reference.sha256)
  })

  it('a JPEG cut between two scans and closed with an end marker is undecodable where a component is never sent; a progressive scan script that stops short of the last bits is kept', async () => {
    // libjpeg decodes the scans it has without a word, at any failOn level: grey where a component
    // was never sent (libjpeg-turbo/libjpeg-turbo#343), which was kept as good. A progressive file
    // whose DC comes a component a scan (cjpeg -scans), cut before its second: as a buffer and a file.
    const scripts = new URL('./fixtures/jpeg-scripts/', import.meta.url)
    const dcApart = readFileSync(new URL('dc-apart.jpg', scripts))
    const second = dcApart.indexOf(Buffer.from([0xff, 0xda]), dcApart.indexOf(Buffer.from([0xff, 0xda])) + 2)
    const cut = Buffer.concat([dcApart.subarray(0, second), Buffer.from([0xff, 0xd9])])
    const dir = mkdtempSync(join(tmpdir(), 'imgpull-progressive-'))
    try {
      const path = join(dir, 'cut.jpg')
      writeFileSync(path, cut)
      for (const [k, options] of (
        [{ resize: 'keep-ratio', size: 32 }, { verifyDecode: true }] as const
      ).entries()) {
        await assert.rejects(
          pool.transform(k % 2 ? cut : { path }, resolveTransformSpec(options)),
          (error: TransformError) =>
            error.code === 'undecodable' &&
            /^cannot decode: a JPEG whose scans never send component 2 of 3 /.test(error.message) &&
            !error.message.includes('\n'),
          JSON.stringify(options),
        )
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
    // A scan script may leave coefficients short of their last bit, or send only a component's DC
    // (libjpeg's encoder asks only that each component's DC be sent): cjpeg's own files, kept, where
    // they were 'a progressive JPEG whose scans leave component 2's coefficients 1-63 short ...'.
    for (const name of ['chroma-unrefined.jpg', 'chroma-dc-only.jpg', 'dc-apart.jpg']) {
      assert.equal(await outcome(readFileSync(new URL(name, scripts)), { verifyDecode: true }), 'kept', name)
    }
    // An arithmetic-coded progressive JPEG (SOF10, cjpeg -arithmetic -progressive) has the same
    // scan headers: its scans are read alike (here a Huffman file's frame marker is renamed).
    const sof10 = (bytes: Buffer) => {
      const copy = Buffer.from(bytes)
      copy[copy.indexOf(Buffer.from([0xff, 0xc2])) + 1] = 0xca
      return copy
    }
    assert.match(scansShort(sof10(cut)) ?? '', /never send component 2 of 3/)
    assert.equal(scansShort(sof10(dcApart)), undefined)
    const noise = Buffer.alloc(96 * 64 * 3)
    for (let i = 0; i < noise.length; i++) noise[i] = (i * 7919) % 251
    const raw = { width: 96, height: 64, channels: 3 } as const
    // A sequential JPEG whose components come in scans of their own, cut after its luma scan:
    // grey where it was red and blue.
    const separate = fixture('non-interleaved.jpg')
    assert.equal(await outcome(separate, { verifyDecode: true }), 'kept')
    assert.equal(await outcome(separate, { encode: 'png' }), 'changed')
    const sos = separate.indexOf(Buffer.from([0xff, 0xda]), separate.indexOf(Buffer.from([0xff, 0xda])) + 2)
    const luma = Buffer.concat([separate.subarray(0, sos), Buffer.from([0xff, 0xd9])])
    await assert.rejects(
      pool.transform(luma, resolveTransformSpec({ encode: 'png' })),
      (error: TransformError) =>
        error.code === 'undecodable' &&
        /^cannot decode: a JPEG whose scans never send component 2 of 3 /.test(error.message),
    )
    // Whole progressive files, however their scans are cut up, pass.
    for (const options of [{}, { optimiseScans: true }, { chromaSubsampling: '4:4:4' }]) {
      const file = await sharp(noise, { raw })
        .jpeg({ progressive: true, ...options })
        .toBuffer()
      assert.equal(await outcome(file, { verifyDecode: true }), 'kept', JSON.stringify(options))
    }
    const grey = await sharp(noise, { raw }).greyscale().jpeg({ progressive: true }).toBuffer()
    assert.equal(await outcome(grey, { resize: 'keep-ratio', size: 32 }), 'changed')
  })
  it("an interlaced PNG cut short and closed with IEND is undecodable, said so: libvips lost libpng's failure", async () => {
    // libpng reads an Adam7 image whole; its "Not enough image data" was lost: sharp's statistics
    // came back empty with no error (--verify decode kept it), and a resize failed as
    // transform-failed, "vips2png: unable to write to target target" (gatsbyjs/gatsby#24774).
    const noise = Buffer.alloc(96 * 64 * 3)
    for (let i = 0; i < noise.length; i++) noise[i] = (i * 7919) % 251
    const raw = { width: 96, height: 64, channels: 3 } as const
    for (const progressive of [true, false]) {
      const png = await sharp(noise, { raw }).png({ progressive }).toBuffer()
      const chunks = chunksOf(png)
      const data = Buffer.concat(chunks.filter(([type]) => type === 'IDAT').map(([, bytes]) => bytes))
      const cut = Buffer.concat([
        png.subarray(0, 8),
        pngChunk('IHDR', chunks[0][1]),
        pngChunk('IDAT', data.subarray(0, data.length / 2)),
        pngChunk('IEND', ''),
      ])
      for (const options of [
        { verifyDecode: true },
        { resize: 'keep-ratio', size: 32 },
        { encode: 'webp' },
      ] as const) {
        await assert.rejects(
          pool.transform(cut, resolveTransformSpec(options)),
          (error: TransformError) =>
            error.code === 'undecodable' && /^cannot decode: .*(PNG|libpng)/.test(error.message),
          `interlaced ${progressive} ${JSON.stringify(options)}`,
        )
      }
      assert.equal(await outcome(png, { verifyDecode: true }), 'kept')
    }
  })
  it('a PNG cut between IDAT chunks and closed with IEND, and an AVIF zero-filled inside, are undecodable, said so where the loader named neither', async () => {
    // Both pass the download's check (the PNG's IDAT chunks differ in size, where a writer's cut
    // leaves one of the full size; the AVIF's zeros lie inside its mdat: a preallocated file,
    // aria2/aria2#1006); --verify decode refused them as 'vipspng: libpng read error' and
    // 'source: bad seek to 54615', words that name neither the format nor the fault.
    const noise = Buffer.alloc(96 * 64 * 3)
    for (let i = 0; i < noise.length; i++) noise[i] = (i * 7919) % 251
    const png = await sharp(noise, { raw: { width: 96, height: 64, channels: 3 } })
      .png()
      .toBuffer()
    const chunks = chunksOf(png)
    const data = Buffer.concat(chunks.filter(([type]) => type === 'IDAT').map(([, bytes]) => bytes))
    const cut = Buffer.concat([
      png.subarray(0, 8),
      pngChunk('IHDR', chunks[0][1]),
      pngChunk('IDAT', data.subarray(0, Math.floor(data.length * 0.3))),
      pngChunk('IDAT', data.subarray(Math.floor(data.length * 0.3), Math.floor(data.length * 0.5))),
      pngChunk('IEND', ''),
    ])
    const avif = await sharp(noise, { raw: { width: 96, height: 64, channels: 3 } })
      .avif({ effort: 0 })
      .toBuffer()
    avif.fill(0, Math.floor(avif.length * 0.5), Math.floor(avif.length * 0.7))
    for (const [name, file] of [
      ['PNG', cut],
      ['AVIF', avif],
    ] as const) {
      await assert.rejects(
        pool.transform(file, resolveTransformSpec({ verifyDecode: true })),
        (error: TransformError) =>
          error.code === 'undecodable' &&
          new RegExp(
            `^cannot decode: an? ${name} whose pixel data ends early or is corrupt \\([^)]+\\)$`,
          ).test(error.message),
        name,
      )
    }
  })
  it("an SVG whose <use> elements multiply past librsvg's limit is undecodable before it is drawn, said so; a small tower is drawn", async () => {
    // librsvg stops such a file only after drawing 500,000 references: 30 s of a worker, twice,
    // for "svgload_buffer: SVG rendering failed" (linebender/resvg#186, instructure/canvas-lms#2325).
    const tower = (levels: number) => {
      let defs = '<circle id="a0" cx="5" cy="5" r="5"/>'
      for (let i = 1; i <= levels; i++) defs += `<g id="a${i}">${`<use href="#a${i - 1}"/>`.repeat(10)}</g>`
      return Buffer.from(
        `<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><defs>${defs}</defs><use href="#a${levels}"/></svg>`,
      )
    }
    for (const options of [{ encode: 'png' }, { verifyDecode: true }] as const)
      await assert.rejects(pool.transform(tower(9), resolveTransformSpec(options)), {
        code: 'undecodable',
        message:
          /^cannot decode: an SVG whose <use> elements multiply: drawing it follows 1111111111 references through "a9"/,
      })
    assert.equal(await outcome(tower(3), { encode: 'png' }), 'changed')
  })
  it('a HEIC says the libvips sharp ships does not decode HEVC, not what libheif says of a cut file', async () => {
    const heic = readFileSync(new URL('./fixtures/images/plain-64x64.heic', import.meta.url))
    for (const options of [
      { encode: 'jpg' },
      { verifyDecode: true },
      { resize: 'border', size: 32 },
    ] as const) {
      await assert.rejects(pool.transform(heic, resolveTransformSpec(options)), (error: TransformError) => {
        assert.equal(error.code, 'undecodable')
        assert.match(error.message, /^cannot decode: HEIC \(HEVC\) is not decoded by the libvips sharp ships/)
        return true
      })
    }
    assert.equal(await outcome(heic, { minSize: 8 }), 'kept') // its header is read: filters alone keep it
  })

  it('verifyDecode decodes every pixel even when nothing else is asked', async () => {
    assert.equal(await outcome('truncated.jpg', { verifyDecode: true }), 'undecodable')
    // Every frame of an animation: one whose last frame's data is garbage (its blocks intact).
    const frames = Buffer.alloc(30 * 60 * 4)
    for (let i = 0; i < frames.length; i++) frames[i] = (i * 13) % 256
    const gif = await sharp(frames, { raw: { width: 30, height: 60, channels: 4, pageHeight: 20 } })
      .gif()
      .toBuffer()
    assert.equal(await outcome(gif, { verifyDecode: true }), 'kept')
    assert.equal(await outcome(spoilLastFrame(gif), { verifyDecode: true }), 'undecodable')
    // --max-pixels holds for all the frames decoded (3 of 30x20: 1,800): refused, not minutes of a worker.
    assert.equal(await outcome(gif, { verifyDecode: true, maxPixels: 1000 }), 'too-many-pixels')
    assert.equal(await outcome(gif, { verifyDecode: true, maxPixels: 2000 }), 'kept')
    for (const name of ['photo-orient6-gps.jpg', 'alpha.png', 'photo.webp', 'animated.gif', 'photo.avif']) {
      assert.equal(await outcome(name, { verifyDecode: true }), 'kept', name)
    }
  })

  it("verifyDecode reads a TIFF's pages of different sizes one by one: a pyramid is whole (libvips#1359)", async () => {
    // libvips reads pages together only when alike ("page 1 differs from page 0"): a good
    // pyramidal TIFF (levels 600x400, 300x200, 150x100) was undecodable.
    const pyramid = await sharp({ create: { width: 600, height: 400, channels: 3, background: '#3366cc' } })
      .tiff({ pyramid: true, tile: true })
      .toBuffer()
    assert.equal((await sharp(pyramid).metadata()).pages, 3)
    assert.equal(await outcome(pyramid, { verifyDecode: true }), 'kept')
    // Held to --max-pixels together: 240,000 + 60,000 + 15,000 = 315,000.
    assert.equal(await outcome(pyramid, { verifyDecode: true, maxPixels: 315_000 }), 'kept')
    await assert.rejects(
      pool.transform(pyramid, resolveTransformSpec({ verifyDecode: true, maxPixels: 314_999 })),
      { code: 'too-many-pixels', message: /^3 pages \(600x400, 300x200, 150x100\) are 315000 pixels/ },
    )
    assert.equal(await outcome(pyramid, { verifyDecode: true, resize: 'keep-ratio', size: 100 }), 'changed')
  })

  it("verifyDecode reads a TIFF's many pages of one size in one read: a scan of 3,000 pages is whole, not past the pool's timeout", async () => {
    // Page by page, each page opened the file twice and libtiff walked it from its first page:
    // this 1 MB file took over 5 minutes, past the pool's 60 s (transform-failed for a good file).
    const pages = 3000
    const strip = await sharp({
      create: { width: 16, height: 16 * pages, channels: 3, background: '#3366cc' },
    })
      .raw()
      .toBuffer()
    const scan = await sharp(strip, { raw: { width: 16, height: 16 * pages, channels: 3, pageHeight: 16 } })
      .tiff({ compression: 'lzw' })
      .toBuffer()
    assert.equal((await sharp(scan).metadata()).pages, pages)
    assert.equal(await outcome(scan, { verifyDecode: true }), 'kept')
    await assert.rejects(
      pool.transform(scan, resolveTransformSpec({ verifyDecode: true, maxPixels: pages * 256 - 1 })),
      {
        code: 'too-many-pixels',
        message: /^3000 pages of 16x16 are 768000 pixels to decode, more than 767999$/,
      },
    )
  })

  it('a GIF frame whose data ends early, its blocks closed and its trailer written, is undecodable: its rest would be transparent', async () => {
    // libnsgif decodes what there is without a word at any failOn level; the structure check
    // passes it (every block is well formed); a resize kept the top third of the image.
    const noise = Buffer.alloc(100 * 300 * 4)
    for (let i = 0; i < noise.length; i++) noise[i] = (i * 7919) % 251
    const still = await sharp(noise.subarray(0, 100 * 100 * 4), {
      raw: { width: 100, height: 100, channels: 4 },
    })
      .gif()
      .toBuffer()
    const animated = await sharp(noise, { raw: { width: 100, height: 300, channels: 4, pageHeight: 100 } })
      .gif()
      .toBuffer()
    for (const options of [
      { resize: 'keep-ratio', size: 50 },
      { encode: 'png' },
      { verifyDecode: true },
    ] as const) {
      assert.notEqual(await outcome(still, options), 'undecodable', JSON.stringify(options))
      await assert.rejects(pool.transform(cutLastFrame(still), resolveTransformSpec(options)), {
        code: 'undecodable',
        message: /^cannot decode: GIF frame 1 holds \d+ of its 10000 pixels: its data ends early$/,
      })
    }
    // Only the frames decoded count: a resize writes the first frame, --verify decode reads them all.
    assert.equal(await outcome(cutLastFrame(animated), { resize: 'keep-ratio', size: 50 }), 'changed')
    await assert.rejects(
      pool.transform(cutLastFrame(animated), resolveTransformSpec({ verifyDecode: true })),
      {
        code: 'undecodable',
        message: /GIF frame 3 holds/,
      },
    )
  })
})

describe('shortGifFrame: the pixels each frame holds, counted from its LZW codes', () => {
  it('finds none short in whole GIFs of every shape, palette and interlacing sharp writes', async () => {
    for (const [width, height] of [
      [1, 1],
      [3, 700],
      [640, 480],
    ]) {
      const noise = Buffer.alloc(width * height * 4)
      for (let i = 0; i < noise.length; i++) noise[i] = (i * 7919) % 251
      for (const options of [{}, { interlace: true }, { colours: 2 }, { reuse: false }]) {
        const gif = await sharp(noise, { raw: { width, height, channels: 4 } })
          .gif(options)
          .toBuffer()
        assert.equal(shortGifFrame(gif), undefined, `${width}x${height} ${JSON.stringify(options)}`)
      }
      const flat = await sharp({ create: { width, height, channels: 3, background: '#c00' } })
        .gif()
        .toBuffer()
      assert.equal(shortGifFrame(flat), undefined, `${width}x${height} of one colour`)
    }
    for (const name of ['animated.gif']) assert.equal(shortGifFrame(fixture(name)), undefined, name)
  })
  it('counts codes up to the end code, the data or a code that cannot be', () => {
    // Minimum code size 2: clear 4, end 5; 3-bit codes. Pixels 0,1 then the end code.
    const bits = (codes: number[]) => {
      let value = 0
      codes.forEach((code, i) => {
        value |= code << (3 * i)
      })
      return Uint8Array.from([value & 0xff, (value >> 8) & 0xff])
    }
    assert.equal(lzwPixels(bits([4, 0, 1, 5]), 2, 100), 2)
    assert.equal(lzwPixels(bits([4, 0, 6, 5]), 2, 100), 3) // 6 is the code being defined: 0 then 0,0
    assert.equal(lzwPixels(bits([4, 0, 7, 5]), 2, 100), 1) // 7 is not defined yet: corrupt, stops
    assert.equal(lzwPixels(bits([4, 0, 1, 5]).subarray(0, 1), 2, 100), 1) // the data's end, mid-code
    assert.equal(lzwPixels(bits([4, 0, 1, 5]), 2, 1), 1) // no further than asked
  })
})

/** A GIF whose last frame's LZW data stops after its first third of sub-blocks, closed and trailed as a whole file is. */
function cutLastFrame(gif: Buffer): Buffer {
  let i = 13
  if (gif[10] & 0x80) i += 3 * 2 ** ((gif[10] & 7) + 1)
  let blocks: number[] = []
  while (gif[i] !== 0x3b) {
    if (gif[i] === 0x21) {
      i += 2
      while (gif[i]) i += gif[i] + 1
      i += 1
      continue
    }
    const flags = gif[i + 9]
    i += 10
    if (flags & 0x80) i += 3 * 2 ** ((flags & 7) + 1)
    i += 1 // LZW minimum code size
    blocks = []
    while (gif[i]) {
      blocks.push(i)
      i += gif[i] + 1
    }
    i += 1
  }
  return Buffer.concat([gif.subarray(0, blocks[Math.floor(blocks.length / 3)]), Buffer.from([0x00, 0x3b])])
}

/** A GIF (GIF89a spec) whose last frame's LZW data is replaced by 0xFF bytes, its sub-block sizes kept. */
function spoilLastFrame(gif: Buffer): Buffer {
  const d = Buffer.from(gif)
  let i = 13
  if (d[10] & 0x80) i += 3 * 2 ** ((d[10] & 7) + 1)
  let last: [number, number][] = []
  while (d[i] !== 0x3b) {
    if (d[i] === 0x21) {
      i += 2
      while (d[i]) i += d[i] + 1
      i += 1
      continue
    }
    const flags = d[i + 9]
    i += 10
    if (flags & 0x80) i += 3 * 2 ** ((flags & 7) + 1)
    i += 1 // LZW minimum code size
    last = []
    while (d[i]) {
      last.push([i + 1, d[i]])
      i += d[i] + 1
    }
    i += 1
  }
  for (const [at, n] of last) d.fill(0xff, at, at + n)
  return d
}

import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { deflateSync } from 'node:zlib'
import exif from 'exif-reader'
import sharp from 'sharp'
import { TransformPool } from '../src/transform/pool.js'
import { resolveTransformSpec } from '../src/transform/spec.js'
import { cmykProfile, fixture, greyProfile, metadataOf, near, pixel } from './fixtures/transform/index.js'
import { pngChunk } from './support/png-chunk.js'

const pool = new TransformPool({ workers: 1 })
after(() => pool.close())

const photo = fixture('photo-orient6-gps.jpg')

describe('metadata', () => {
  it('the fixture carries EXIF with GPS coordinates, XMP and orientation 6', async () => {
    const meta = await metadataOf(photo)
    assert.equal(meta.orientation, 6)
    assert.ok(meta.xmp)
    assert.deepEqual(exif(meta.exif!).GPSInfo?.GPSLatitude, [48, 51, 30])
  })

  for (const encode of ['jpg', 'webp', 'png', 'avif'] as const) {
    it(`is stripped by default from a re-encoded image (${encode})`, async () => {
      const result = await pool.transform(
        photo,
        resolveTransformSpec({ resize: 'keep-ratio', size: 100, encode }),
      )
      const meta = await metadataOf(result.bytes!)
      assert.equal(meta.exif, undefined) // no EXIF at all, so no GPS
      assert.equal(meta.xmp, undefined)
      assert.equal(meta.iptc, undefined)
      assert.equal(meta.orientation, undefined)
      assert.deepEqual([meta.width, meta.height], [100, 150]) // upright all the same
    })
  }

  it("is stripped when the format asked is the image's own: encode means written anew, without EXIF or XMP", async () => {
    const result = await pool.transform(photo, resolveTransformSpec({ encode: 'jpg' }))
    assert.equal(result.kept, false)
    const meta = await metadataOf(result.bytes!)
    assert.equal(meta.exif, undefined)
    assert.equal(meta.xmp, undefined)
    // Kept byte for byte when asked to keep the metadata, or when there is none to strip.
    const kept = await pool.transform(photo, resolveTransformSpec({ encode: 'jpg', keepMetadata: true }))
    assert.equal(kept.kept, true)
    const bare = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } })
      .jpeg()
      .toBuffer()
    assert.equal((await pool.transform(bare, resolveTransformSpec({ encode: 'jpg' }))).kept, true)
  })

  it("a PNG's text chunks are metadata: ImageMagick's EXIF and GPS there are not kept by --encode png", async () => {
    // `convert photo.jpg photo.png` writes the photo's EXIF as a zTXt 'Raw profile type exif' and
    // its fields as tEXt 'exif:GPSLatitude'...: libvips reads them as text, not as EXIF, and the
    // PNG was kept byte for byte, its position with it (the leak of signalapp/Signal-iOS#1984).
    const plain = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#3366cc' } })
      .png()
      .toBuffer()
    const gps = withPngText(plain, 'exif:GPSLatitude', '48/1, 51/1, 2904/100')
    assert.deepEqual((await metadataOf(gps)).comments, [
      { keyword: 'exif:GPSLatitude', text: '48/1, 51/1, 2904/100' },
    ])
    const result = await pool.transform(gps, resolveTransformSpec({ encode: 'png' }))
    assert.equal(result.kept, false)
    const meta = await metadataOf(result.bytes!)
    assert.equal(meta.comments, undefined)
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 40, 30])
    // Kept as it came with --keep-metadata, or when it carries none.
    assert.equal(
      (await pool.transform(gps, resolveTransformSpec({ encode: 'png', keepMetadata: true }))).kept,
      true,
    )
    assert.equal((await pool.transform(plain, resolveTransformSpec({ encode: 'png' }))).kept, true)
  })

  it('a PNG text or EXIF chunk after the image data is metadata too', async () => {
    // ImageMagick writes its date:create and date:modify text after IDAT, and a text chunk may
    // stand anywhere before IEND; libvips reports none of them there, so such a PNG was kept byte
    // for byte by --encode png, a position in it with it.
    const plain = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#3366cc' } })
      .png()
      .toBuffer()
    const end = plain.length - 12 // IEND: length, type, CRC
    for (const [type, data] of [
      ['tEXt', 'exif:GPSLatitude\u000048/1, 51/1, 2904/100'],
      ['iTXt', 'XML:com.adobe.xmp\u0000\u0000\u0000\u0000\u0000<x:xmpmeta/>'],
      ['eXIf', 'MM\u0000*\u0000\u0000\u0000\u0008\u0000\u0000'],
    ]) {
      const late = Buffer.concat([plain.subarray(0, end), pngChunk(type, data), plain.subarray(end)])
      assert.equal((await metadataOf(late)).comments, undefined, `${type}: libvips does not see it`)
      const result = await pool.transform(late, resolveTransformSpec({ encode: 'png' }))
      assert.equal(result.kept, false, type)
      assert.equal(Buffer.from(result.bytes!).includes(type), false, `${type} is gone`)
    }
  })

  it("a WebP's EXIF or XMP chunk that its header does not declare is metadata too", async () => {
    // libwebp's demuxer, and so libvips, reports only the chunks the VP8X flags declare: one
    // appended to a simple (VP8-only) file, or left out of the flags, was kept by --encode webp.
    const tagged = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#3366cc' } })
      .webp()
      .withExif({ IFD0: { Copyright: 'someone' } })
      .toBuffer()
    const plain = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#3366cc' } })
      .webp()
      .toBuffer()
    const at = tagged.indexOf('EXIF')
    const exifChunk = tagged.subarray(at, at + 8 + tagged.readUInt32LE(at + 4))
    const appended = Buffer.concat([plain, exifChunk])
    appended.writeUInt32LE(appended.length - 8, 4) // the RIFF size
    const undeclared = Buffer.from(tagged)
    undeclared[20] &= ~0x08 // VP8X's EXIF flag
    for (const [what, input] of [
      ['appended to a simple file', appended],
      ['left out of the VP8X flags', undeclared],
    ] as const) {
      assert.equal((await metadataOf(input)).exif, undefined, `${what}: libvips does not see it`)
      const result = await pool.transform(input, resolveTransformSpec({ encode: 'webp' }))
      assert.equal(result.kept, false, what)
      assert.equal(Buffer.from(result.bytes!).includes('EXIF'), false, `${what}: the EXIF is gone`)
    }
    assert.equal((await pool.transform(plain, resolveTransformSpec({ encode: 'webp' }))).kept, true)
  })

  it("a JPEG's comment and segments libvips does not read, and a C2PA manifest in a JPEG, PNG or WebP, are metadata too", async () => {
    // libvips neither reads nor writes a JPEG's COM, its APP11 (a C2PA manifest: who made the
    // image, with what, where; imageoptim/imageoptim#436 asks to strip it) or MPF, a PNG's caBX or
    // a WebP's C2PA chunk: an image holding only those was kept byte for byte by --encode.
    const make = () => sharp({ create: { width: 40, height: 30, channels: 3, background: '#3366cc' } })
    const jpeg = await make().jpeg().toBuffer()
    const segment = (marker: number, body: string) => {
      const head = Buffer.from([0xff, marker, 0, 0])
      head.writeUInt16BE(body.length + 2, 2)
      return Buffer.concat([head, Buffer.from(body, 'latin1')])
    }
    const inJpeg = (s: Buffer) => Buffer.concat([jpeg.subarray(0, 2), s, jpeg.subarray(2)])
    const png = await make().png().toBuffer()
    const webp = await make().webp().toBuffer()
    const riffChunk = Buffer.concat([
      Buffer.from('C2PA'),
      Buffer.from([12, 0, 0, 0]),
      Buffer.from('jumbc2pa.GPS'),
    ])
    const webpC2pa = Buffer.concat([webp, riffChunk])
    webpC2pa.writeUInt32LE(webpC2pa.length - 8, 4) // the RIFF size
    const cases = [
      ['jpg', 'a comment', inJpeg(segment(0xfe, 'shot by Bob at 48.8584 N 2.2945 E')), 'shot by Bob'],
      ['jpg', 'a C2PA manifest (APP11)', inJpeg(segment(0xeb, 'JP\u0000\u0001jumbc2pa.GPS')), 'c2pa.GPS'],
      ['jpg', 'MPF (APP2)', inJpeg(segment(0xe2, 'MPF\u0000MM\u0000*\u0000\u0000\u0000\u0008')), 'MPF'],
      [
        'png',
        'a C2PA manifest (caBX)',
        Buffer.concat([png.subarray(0, 33), pngChunk('caBX', 'jumbc2pa.GPS'), png.subarray(33)]),
        'c2pa.GPS',
      ],
      ['webp', 'a C2PA manifest (C2PA chunk)', webpC2pa, 'c2pa.GPS'],
    ] as const
    for (const [encode, what, input, marker] of cases) {
      const meta = await metadataOf(input)
      assert.deepEqual(
        [meta.exif, meta.xmp, meta.iptc, meta.comments],
        [undefined, undefined, undefined, undefined],
        `${what}: libvips does not see it`,
      )
      const result = await pool.transform(input, resolveTransformSpec({ encode }))
      assert.equal(result.kept, false, what)
      assert.equal(Buffer.from(result.bytes!).includes(marker), false, `${what} is gone`)
      assert.deepEqual([result.format, result.width, result.height], [encode, 40, 30], what)
      const kept = await pool.transform(input, resolveTransformSpec({ encode, keepMetadata: true }))
      assert.equal(kept.kept, true, `${what}: kept as it came with --keep-metadata`)
    }
    // The JFIF header, an ICC profile and Adobe's segment are no metadata to strip.
    const profiled = await make().withIccProfile('p3').jpeg().toBuffer()
    const adobe = inJpeg(segment(0xee, 'Adobe\u0000\u0064\u0000\u0000\u0000\u0000\u0001'))
    for (const input of [jpeg, profiled, adobe]) {
      assert.equal((await pool.transform(input, resolveTransformSpec({ encode: 'jpg' }))).kept, true)
    }
  })

  it('IPTC is kept as XMP (IPTC Core) with keepMetadata in PNG, WebP and AVIF, which hold no IPTC', async () => {
    // libvips writes IPTC into JPEG and TIFF only: a caption, a copyright notice, by-lines and
    // keywords were lost without a word by --keep-metadata --encode webp.
    const dataset = (n: number, value: string) => {
      const bytes = Buffer.from(value, 'utf8')
      return Buffer.concat([Buffer.from([0x1c, 2, n, 0, bytes.length]), bytes])
    }
    const iim = Buffer.concat([
      Buffer.from([0x1c, 1, 90, 0, 3, 0x1b, 0x25, 0x47]), // UTF-8
      dataset(120, 'Lac Léman <au> "soir" & brume'),
      dataset(116, '© Alice 2024'),
      dataset(80, 'Alice'),
      dataset(80, 'Bob'),
      dataset(25, 'lake'),
      dataset(25, 'alps'),
      dataset(90, 'Genève'),
      dataset(55, '20240131'),
      dataset(60, '143000+0100'),
    ])
    const resource = Buffer.concat([
      Buffer.from('8BIM\u0004\u0004\u0000\u0000', 'latin1'),
      Buffer.alloc(4),
      iim,
    ])
    resource.writeUInt32BE(iim.length, 8)
    const app13 = Buffer.concat([Buffer.from('Photoshop 3.0\u0000'), resource, Buffer.alloc(iim.length & 1)])
    const segment = Buffer.from([0xff, 0xed, 0, 0])
    segment.writeUInt16BE(app13.length + 2, 2)
    const plain = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#3366cc' } })
      .jpeg()
      .toBuffer()
    const photo = Buffer.concat([plain.subarray(0, 2), segment, app13, plain.subarray(2)])
    assert.ok((await metadataOf(photo)).iptc)
    for (const encode of ['png', 'webp', 'avif'] as const) {
      const spec = resolveTransformSpec({ resize: 'keep-ratio', size: 20, encode, keepMetadata: true })
      const meta = await metadataOf((await pool.transform(photo, spec)).bytes!)
      assert.equal(meta.iptc, undefined, encode)
      const xmp = meta.xmp?.toString('utf8') ?? ''
      for (const expected of [
        '<dc:description><rdf:Alt><rdf:li xml:lang="x-default">Lac Léman &lt;au&gt; &quot;soir&quot; &amp; brume</rdf:li></rdf:Alt></dc:description>',
        '<dc:rights><rdf:Alt><rdf:li xml:lang="x-default">© Alice 2024</rdf:li></rdf:Alt></dc:rights>',
        '<dc:creator><rdf:Seq><rdf:li>Alice</rdf:li><rdf:li>Bob</rdf:li></rdf:Seq></dc:creator>',
        '<dc:subject><rdf:Bag><rdf:li>lake</rdf:li><rdf:li>alps</rdf:li></rdf:Bag></dc:subject>',
        '<photoshop:City>Genève</photoshop:City>',
        '<photoshop:DateCreated>2024-01-31T14:30:00+01:00</photoshop:DateCreated>',
      ])
        assert.ok(xmp.includes(expected), `${encode}: ${expected}`)
    }
    // A JPEG keeps the IPTC itself; without keepMetadata nothing is written.
    const jpeg = await pool.transform(
      photo,
      resolveTransformSpec({ resize: 'keep-ratio', size: 20, encode: 'jpg', keepMetadata: true }),
    )
    const kept = await metadataOf(jpeg.bytes!)
    assert.deepEqual([kept.iptc !== undefined, kept.xmp], [true, undefined])
    const bare = await pool.transform(
      photo,
      resolveTransformSpec({ resize: 'keep-ratio', size: 20, encode: 'webp' }),
    )
    assert.deepEqual([(await metadataOf(bare.bytes!)).xmp], [undefined])
    // An image's own XMP stays as it is, gaining only the IPTC fields it lacks.
    const own =
      '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:rights><rdf:Alt><rdf:li xml:lang="x-default">XMP rights</rdf:li></rdf:Alt></dc:rights></rdf:Description></rdf:RDF></x:xmpmeta>'
    const both = await sharp(photo).keepMetadata().withXmp(own).jpeg().toBuffer()
    const merged = await pool.transform(
      both,
      resolveTransformSpec({ resize: 'keep-ratio', size: 20, encode: 'webp', keepMetadata: true }),
    )
    const xmp = (await metadataOf(merged.bytes!)).xmp?.toString('utf8') ?? ''
    assert.ok(xmp.includes('XMP rights') && !xmp.includes('© Alice'), xmp)
    assert.ok(xmp.includes('<photoshop:City>Genève</photoshop:City>'), xmp)
  })

  it('is stripped from an animation in its own format with every frame kept', async () => {
    const frames = Buffer.alloc(30 * 60 * 4)
    for (let i = 0; i < frames.length; i++) frames[i] = (i * 13) % 256
    const animated = await sharp(frames, { raw: { width: 30, height: 60, channels: 4, pageHeight: 20 } })
      .withExif({ IFD0: { Copyright: 'someone' } })
      .webp()
      .toBuffer()
    const before = await metadataOf(animated)
    assert.deepEqual([before.pages, before.exif !== undefined], [3, true])
    const result = await pool.transform(animated, resolveTransformSpec({ encode: 'webp' }))
    assert.equal(result.kept, false)
    assert.deepEqual([result.width, result.height], [30, 20])
    const after = await metadataOf(result.bytes!)
    assert.deepEqual([after.pages, after.height, after.exif], [3, 20, undefined])
  })

  it('is kept with keepMetadata, the orientation reset to 1 as the pixels are upright', async () => {
    const spec = resolveTransformSpec({ resize: 'keep-ratio', size: 100, keepMetadata: true })
    const result = await pool.transform(photo, spec)
    const meta = await metadataOf(result.bytes!)
    assert.deepEqual([meta.width, meta.height], [100, 150])
    assert.equal(meta.orientation, 1)
    assert.ok(meta.xmp)
    const tags = exif(meta.exif!)
    assert.deepEqual(tags.GPSInfo?.GPSLatitude, [48, 51, 30])
    assert.equal(tags.Image?.Make, 'PhoneMaker')
  })

  it("is kept with keepMetadata with XMP's orientation reset to 1 too (lovell/sharp#4585)", async () => {
    // macOS sips and Lightroom write the orientation in XMP as well; libvips reset EXIF's and left
    // XMP's "Rotate 90 CW" on upright pixels: exiftool reads an AVIF's orientation from it alone.
    for (const xmp of [
      '<tiff:Orientation>6</tiff:Orientation>',
      '<rdf:Description rdf:about="" xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Orientation="6"/>',
    ]) {
      const packet = xmp.startsWith('<tiff')
        ? `<rdf:Description rdf:about="" xmlns:tiff="http://ns.adobe.com/tiff/1.0/">${xmp}</rdf:Description>`
        : xmp
      const input = await sharp({ create: { width: 60, height: 40, channels: 3, background: '#3366cc' } })
        .withMetadata({ orientation: 6 })
        .withXmp(
          `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">${packet}</rdf:RDF></x:xmpmeta>`,
        )
        .jpeg()
        .toBuffer()
      for (const encode of ['jpg', 'png', 'webp', 'avif'] as const) {
        const spec = resolveTransformSpec({ resize: 'keep-ratio', size: 20, encode, keepMetadata: true })
        const meta = await metadataOf((await pool.transform(input, spec)).bytes!)
        assert.deepEqual([meta.width, meta.height], [20, 30], encode) // upright
        const said = /tiff:Orientation(?:>|=")(\d)/.exec(meta.xmp?.toString('utf8') ?? '')?.[1]
        assert.equal(said, '1', `${encode}: ${xmp}`)
      }
    }
  })

  it('an ICC profile is converted away by default (pixels in sRGB) and kept with keepMetadata', async () => {
    const p3 = await sharp(fixture('photo.webp')).withIccProfile('p3').jpeg().toBuffer()
    assert.ok((await metadataOf(p3)).icc)
    const stripped = await pool.transform(p3, resolveTransformSpec({ resize: 'keep-ratio', size: 80 }))
    const strippedMeta = await metadataOf(stripped.bytes!)
    assert.equal(strippedMeta.icc, undefined)
    assert.equal(strippedMeta.space, 'srgb')
    const kept = await pool.transform(
      p3,
      resolveTransformSpec({ resize: 'keep-ratio', size: 80, keepMetadata: true }),
    )
    assert.deepEqual((await metadataOf(kept.bytes!)).icc, (await metadataOf(p3)).icc)
  })

  it('a 16-bit image is converted by its profile to sRGB, not to Display P3, when its metadata is stripped', async () => {
    // sharp works on 16-bit RGB in Display P3: without keepMetadata the P3 values went out with no
    // profile to say so, and a Photoshop 16-bit PNG's sRGB red (255,0,0) showed as (234,51,35).
    const red = new Uint16Array(40 * 20 * 3)
    for (let i = 0; i < red.length; i += 3) red[i] = 65535
    const png16 = await sharp(red, { raw: { width: 40, height: 20, channels: 3 } })
      .toColourspace('rgb16')
      .withIccProfile('srgb')
      .png()
      .toBuffer()
    const { depth, icc } = await metadataOf(png16)
    assert.deepEqual([depth, icc?.toString('latin1', 16, 20)], ['ushort', 'RGB '])
    for (const options of [
      { resize: 'keep-ratio', size: 10 },
      { encode: 'jpg' },
      { encode: 'webp' },
    ] as const) {
      const made = await pool.transform(png16, resolveTransformSpec(options))
      const meta = await metadataOf(made.bytes!)
      assert.equal(meta.icc, undefined, JSON.stringify(options))
      const { data } = await sharp(made.bytes!)
        .toColourspace('srgb')
        .raw()
        .toBuffer({ resolveWithObject: true })
      const shown = [...data.subarray(0, 3)]
      assert.ok(near(shown, [255, 0, 0], 8), `${JSON.stringify(options)}: ${shown}`)
      if (options.encode === undefined) assert.equal(meta.depth, 'ushort') // still 16 bits a sample
    }
  })

  it("a grey image's own profile converts it to sRGB padded in a colour, kept with its metadata, or at 16 bits", async () => {
    // A scanner's linear grey: its 128 is sRGB 188 on screen. sharp converts by a grey profile
    // only at 8 bits and before anything makes the image RGB: padded in red, kept with its
    // metadata as WebP (which holds no grey profile) or at 16 bits, it came out 128, unconverted.
    const withProfile = (png: Buffer) => {
      const iccp = pngChunk(
        'iCCP',
        Buffer.concat([Buffer.from('linear grey\0\0', 'latin1'), deflateSync(greyProfile(1))]),
      )
      return Buffer.concat([png.subarray(0, 33), iccp, png.subarray(33)]) // after the signature and IHDR
    }
    const grey = (depth: 8 | 16) => {
      const values =
        depth === 8 ? new Uint8Array(40 * 20).fill(128) : new Uint16Array(40 * 20).fill(128 * 257)
      return sharp(values, { raw: { width: 40, height: 20, channels: 1 } })
        .toColourspace(depth === 8 ? 'b-w' : 'grey16')
        .png()
        .toBuffer()
    }
    const png8 = withProfile(await grey(8))
    const png16 = withProfile(await grey(16))
    const { depth, icc } = await metadataOf(png16)
    assert.deepEqual([depth, icc?.toString('latin1', 16, 20)], ['ushort', 'GRAY'])
    assert.ok(near(await pixel(png8, 20, 10), [188, 188, 188], 2)) // sharp shows the 8-bit one right
    const cases: [Buffer, Parameters<typeof resolveTransformSpec>[0]][] = [
      [png8, { resize: 'border', size: 60, background: '#ff0000' }],
      [png8, { resize: 'border', size: 60, background: '#ff0000', encode: 'jpg' }],
      [png8, { encode: 'webp', keepMetadata: true }],
      [png8, { resize: 'keep-ratio', size: 10, keepMetadata: true }],
      [png16, { resize: 'keep-ratio', size: 10 }],
      [png16, { encode: 'jpg' }],
    ]
    for (const [input, options] of cases) {
      const said = `${input === png8 ? 8 : 16} bits ${JSON.stringify(options)}`
      const made = await pool.transform(input, resolveTransformSpec(options))
      assert.ok(near(await pixel(made.bytes!, made.width / 2, made.height / 2), [188, 188, 188], 3), said)
      const icc = (await metadataOf(made.bytes!)).icc
      if (icc) assert.equal(icc.toString('latin1', 16, 20), 'RGB ', said) // sRGB attached, never the grey one
      if (options?.resize === 'border') assert.ok(near(await pixel(made.bytes!, 30, 2), [255, 0, 0], 8), said)
    }
  })

  it("a CMYK photo's profile converts its colours with keepMetadata as without it; sRGB is attached", async () => {
    // A Photoshop print file: CMYK pixels and the CMYK profile they are in. The RGB output cannot
    // carry that profile; sharp's keepMetadata converted without it (lovell/sharp#3906).
    const profile = join(tmpdir(), `imgpull-cmyk-${process.pid}.icc`)
    writeFileSync(profile, cmykProfile())
    const rgb = Buffer.alloc(48 * 32 * 3)
    for (let i = 0; i < rgb.length; i += 3) rgb.set([40, 180, 140], i)
    const cmyk = await sharp(rgb, { raw: { width: 48, height: 32, channels: 3 } })
      .withIccProfile(profile)
      .jpeg()
      .toBuffer()
    assert.equal((await metadataOf(cmyk)).space, 'cmyk')
    for (const encode of ['png', 'webp', 'jpg'] as const) {
      const spec = { resize: 'keep-ratio', size: 24, encode } as const
      const plain = await pool.transform(cmyk, resolveTransformSpec(spec))
      const kept = await pool.transform(cmyk, resolveTransformSpec({ ...spec, keepMetadata: true }))
      const [expected, actual] = [await pixel(plain.bytes!, 10, 10), await pixel(kept.bytes!, 10, 10)]
      assert.ok(near(actual, expected, 4), `${encode}: ${actual} where ${expected}`)
      const meta = await metadataOf(kept.bytes!)
      assert.equal(meta.space, 'srgb')
      assert.equal(meta.icc?.toString('latin1', 16, 20), 'RGB ')
    }
  })

  it('a CMYK JPEG asked for as JPEG is written anew in sRGB, not kept as it came (readers that cannot load CMYK meet none)', async () => {
    const profile = join(tmpdir(), `imgpull-cmyk-jpg-${process.pid}.icc`)
    writeFileSync(profile, cmykProfile())
    const rgb = Buffer.alloc(40 * 30 * 3, 200)
    const cmyk = await sharp(rgb, { raw: { width: 40, height: 30, channels: 3 } })
      .withIccProfile(profile)
      .jpeg()
      .toBuffer()
    assert.equal((await metadataOf(cmyk)).space, 'cmyk')
    const encoded = await pool.transform(cmyk, resolveTransformSpec({ encode: 'jpg' }))
    assert.equal(encoded.kept, false)
    const meta = await metadataOf(encoded.bytes!)
    assert.deepEqual([meta.format, meta.space, meta.width, meta.height], ['jpeg', 'srgb', 40, 30])
    // Without a format asked (a filter only), it is kept as it came.
    assert.equal((await pool.transform(cmyk, resolveTransformSpec({ minSize: 10 }))).kept, true)
  })

  it('an image kept as is keeps everything: it is the input, untouched', async () => {
    const result = await pool.transform(photo, resolveTransformSpec({ minSize: 10 }))
    assert.equal(result.kept, true)
  })
})

/** `png` with a tEXt chunk (PNG spec 11.3.4.3) after its IHDR. */
function withPngText(png: Buffer, keyword: string, text: string): Buffer {
  const chunk = pngChunk('tEXt', `${keyword}\0${text}`)
  return Buffer.concat([png.subarray(0, 33), chunk, png.subarray(33)])
}

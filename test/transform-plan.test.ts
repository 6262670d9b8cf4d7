import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { iimDatasets, uprightXmp, xmpWithIptc } from '../src/transform/iptc-xmp.js'
import { jpegCarriesMetadata } from '../src/transform/jpeg-metadata.js'
import {
  type ImageHeader,
  oriented,
  outputFormat,
  pagesOver,
  plan,
  refusal,
  resizeFor,
  roundHalfEven,
} from '../src/transform/plan.js'
import { pngCarriesMetadata } from '../src/transform/png-metadata.js'
import {
  defaultTransformSpec,
  needsPool,
  opaqueColour,
  resolveTransformSpec,
  type TransformSpec,
} from '../src/transform/spec.js'
import { webpCarriesMetadata, webpLossless } from '../src/transform/webp-coding.js'

const spec = (options: Partial<TransformSpec>) => resolveTransformSpec(options)

describe('resolveTransformSpec', () => {
  it('fills in the defaults', () => {
    assert.deepEqual(resolveTransformSpec({}), {
      resize: 'no',
      resizeOnlyIfBigger: false,
      background: '#ffffff',
      keepMetadata: false,
      verifyDecode: false,
    })
  })

  const bad: [Partial<TransformSpec>, RegExp][] = [
    [{ resize: 'stretch' as never }, /`transform\.resize`/],
    [{ resize: 'keep-ratio' }, /`transform\.size`/],
    [{ resize: 'border', size: 0 }, /`transform\.size`/],
    [{ resize: 'center-crop', size: 2.5 }, /`transform\.size`/],
    [{ encode: 'gif' as never }, /`transform\.encode`/],
    [{ quality: 0 }, /`transform\.quality`/],
    [{ quality: 101 }, /`transform\.quality`/],
    [{ minSize: -1 }, /`transform\.minSize`/],
    [{ maxAspectRatio: 0.5 }, /`transform\.maxAspectRatio`/],
    [{ maxAspectRatio: Number.NaN }, /`transform\.maxAspectRatio`/],
    [{ maxPixels: 0 }, /`transform\.maxPixels`/],
    // Past 2^53 - 1: sharp's limitInputPixels refused it, and every image failed as undecodable.
    [{ maxPixels: 1e18 }, /`transform\.maxPixels` to be at most 9007199254740991, got 1000000000000000000/],
    [{ background: 'url(x)' }, /`transform\.background`/],
    [{ background: 'whte' }, /`transform\.background`/],
    [{ background: '#12345' }, /`transform\.background`/],
    [{ keepMetadata: 'yes' as never }, /`transform\.keepMetadata`/],
  ]
  for (const [options, name] of bad) {
    it(`rejects ${JSON.stringify(options)} naming the option`, () => {
      assert.throws(
        () => resolveTransformSpec(options),
        (error: Error) => error instanceof TypeError && name.test(error.message),
      )
    })
  }

  it('accepts CSS colours for the background', () => {
    for (const background of ['#000', '#11223344', 'black', 'rgb(0, 0, 0)', 'rgba(0,0,0,0.5)']) {
      assert.equal(resolveTransformSpec({ background, encode: 'jpg' }).background, background)
    }
  })

  it('paints a translucent background laid over white where the image has no alpha channel', () => {
    for (const [background, painted] of [
      ['#ffffff', '#ffffff'],
      ['red', 'red'], // opaque: as given
      ['#12345678', '#8f9faf'],
      ['transparent', '#ffffff'],
      ['#ff000080', '#ff7f7f'],
      ['rgba(0, 0, 0, 0.5)', '#808080'],
      [' hsla(240, 100%, 50%, 0.25) ', '#bfbfff'],
    ]) {
      assert.equal(opaqueColour(background), painted, background)
    }
  })
})

describe('needsPool', () => {
  const table: [Partial<TransformSpec>, boolean][] = [
    [{}, false],
    [{ background: 'black', keepMetadata: true, resizeOnlyIfBigger: true, quality: 90 }, false],
    [{ resize: 'keep-ratio', size: 256 }, true],
    [{ encode: 'webp' }, true],
    [{ minSize: 10 }, true],
    [{ maxAspectRatio: 3 }, true],
    [{ maxPixels: 1_000_000 }, true],
    [{ verifyDecode: true }, true],
  ]
  // The spec as given, unresolved: the first row's options alone are refused by `resolveTransformSpec`.
  for (const [options, expected] of table) {
    it(`${JSON.stringify(options)} → ${expected}`, () =>
      assert.equal(needsPool({ ...defaultTransformSpec, ...options }), expected))
  }
})

describe('resizeFor: img2dataset geometry', () => {
  // The image scaled to `scaled`, then the centre `size`x`size` cut at `left`, `top`, or padded to it.
  const square =
    (fit: 'cover' | 'contain') =>
    (size: number, [width, height]: [number, number], left: number, top: number) =>
      ({ width: size, height: size, fit, scaled: { width, height }, left, top }) as const
  const [crop, pad] = [square('cover'), square('contain')]
  // [mode, onlyIfBigger, width, height, size, expected]
  const table: [TransformSpec['resize'], boolean, number, number, number, ReturnType<typeof resizeFor>][] = [
    ['no', false, 1000, 500, 256, undefined],
    ['keep-ratio', false, 1000, 500, 256, { width: 512, height: 256, fit: 'fill' }],
    ['keep-ratio', false, 500, 1000, 256, { width: 256, height: 512, fit: 'fill' }],
    ['keep-ratio', false, 100, 50, 256, { width: 512, height: 256, fit: 'fill' }], // enlarges
    ['keep-ratio', true, 100, 50, 256, undefined], // never enlarges
    ['keep-ratio', true, 300, 256, 256, undefined], // shortest side not bigger
    ['keep-ratio', true, 300, 257, 256, { width: 299, height: 256, fit: 'fill' }],
    ['keep-ratio', false, 512, 256, 256, undefined], // already there
    ['keep-ratio', false, 333, 200, 100, { width: 166, height: 100, fit: 'fill' }], // 166.5: a tie, to the even side
    // A tie goes to the even side, as img2dataset's albumentations (py3round) and Python's round:
    // a tie up made 513 and 127 of these, a pixel off img2dataset's width for the same image.
    ['keep-ratio-largest', false, 1025, 2048, 1024, { width: 512, height: 1024, fit: 'fill' }],
    ['keep-ratio-largest', false, 1023, 2048, 1024, { width: 512, height: 1024, fit: 'fill' }],
    ['keep-ratio-largest', false, 253, 512, 256, { width: 126, height: 256, fit: 'fill' }],
    ['keep-ratio', false, 301, 200, 100, { width: 150, height: 100, fit: 'fill' }], // 150.5
    ['keep-ratio', false, 303, 200, 100, { width: 152, height: 100, fit: 'fill' }], // 151.5
    ['keep-ratio-largest', false, 1000, 500, 256, { width: 256, height: 128, fit: 'fill' }],
    ['keep-ratio-largest', false, 500, 1000, 256, { width: 128, height: 256, fit: 'fill' }],
    ['keep-ratio-largest', true, 256, 100, 256, undefined],
    ['keep-ratio-largest', false, 10_000, 3, 256, { width: 256, height: 1, fit: 'fill' }], // never 0
    ['center-crop', false, 1000, 500, 256, crop(256, [512, 256], 128, 0)],
    ['center-crop', false, 256, 256, 256, undefined],
    ['center-crop', false, 256, 400, 256, crop(256, [256, 400], 0, 72)], // crop only
    // An odd excess is cut a pixel less before than after, as albumentations' center_crop and
    // ImageMagick's -gravity center cut it: rows 22 to 277, where sharp's own cover cut 23 to 278.
    ['center-crop', false, 256, 301, 256, crop(256, [256, 301], 0, 22)],
    ['center-crop', false, 257, 256, 256, crop(256, [257, 256], 0, 0)],
    ['center-crop', false, 333, 1000, 256, crop(256, [256, 769], 0, 256)], // 768.77
    ['center-crop', false, 1001, 1000, 500, crop(500, [500, 500], 0, 0)], // 500.5: a tie, to the even side
    ['center-crop', true, 300, 200, 256, undefined], // shortest side not bigger: left whole
    ['border', false, 1000, 500, 256, pad(256, [256, 128], 0, 64)],
    // img2dataset's longest_max_size then pad: 512 wide (a tie, to the even side) at 256, where
    // sharp's own contain made it 513 at 255.
    ['border', false, 1025, 2048, 1024, pad(1024, [512, 1024], 256, 0)],
    ['border', false, 333, 1000, 256, pad(256, [85, 256], 85, 0)],
    ['border', false, 10_000, 3, 256, pad(256, [256, 1], 0, 127)], // never 0
    ['border', false, 100, 50, 256, pad(256, [256, 128], 0, 64)],
    ['border', true, 200, 100, 256, undefined], // img2dataset: not enlarged, not padded
    ['border', true, 300, 100, 256, pad(256, [256, 85], 0, 85)],
  ]
  for (const [resize, resizeOnlyIfBigger, width, height, size, expected] of table) {
    it(`${resize}${resizeOnlyIfBigger ? ' only-if-bigger' : ''} ${width}x${height} to ${size}`, () => {
      const s = resize === 'no' ? spec({}) : spec({ resize, size, resizeOnlyIfBigger })
      assert.deepEqual(resizeFor(width, height, s), expected)
    })
  }
})

it("roundHalfEven: Python's round, which img2dataset's sizes come from", () => {
  // python3 -c 'print([round(x) for x in (0.5, 1.5, 2.5, 3.5, 126.5, 2.4999, 2.5000001, 7.2, 7.8)])'
  assert.deepEqual(
    [0.5, 1.5, 2.5, 3.5, 126.5, 2.4999, 2.5000001, 7.2, 7.8].map(roundHalfEven),
    [0, 2, 2, 4, 126, 2, 3, 7, 8],
  )
})

describe('refusal: the filters', () => {
  const table: [number, number, Partial<TransformSpec>, number, string | undefined][] = [
    [100, 100, {}, 10_000, undefined],
    [101, 100, {}, 10_000, 'too-many-pixels'],
    [100, 49, { minSize: 50 }, 1e9, 'too-small'],
    [49, 100, { minSize: 50 }, 1e9, 'too-small'],
    [50, 50, { minSize: 50 }, 1e9, undefined],
    [300, 100, { maxAspectRatio: 3 }, 1e9, undefined],
    [301, 100, { maxAspectRatio: 3 }, 1e9, 'bad-aspect-ratio'],
    [100, 301, { maxAspectRatio: 3 }, 1e9, 'bad-aspect-ratio'],
    // Pixels first: the safety limit wins over the other filters.
    [100_000, 1, { minSize: 50, maxAspectRatio: 2 }, 50_000, 'too-many-pixels'],
    [1, 1000, { minSize: 50, maxAspectRatio: 2 }, 1e9, 'too-small'],
  ]
  for (const [width, height, options, maxPixels, code] of table) {
    it(`${width}x${height} ${JSON.stringify(options)} max ${maxPixels} px → ${code ?? 'passes'}`, () => {
      assert.equal(refusal(width, height, spec(options), maxPixels)?.code, code)
    })
  }
})

describe('outputFormat and oriented', () => {
  it('keeps a writable format, asks PNG for the rest, obeys encode', () => {
    assert.equal(outputFormat('jpg', undefined), 'jpg')
    assert.equal(outputFormat('gif', undefined), 'gif')
    assert.equal(outputFormat('tif', undefined), 'tif')
    assert.equal(outputFormat('svg', undefined), 'png')
    assert.equal(outputFormat('heic', undefined), 'png')
    assert.equal(outputFormat('gif', 'webp'), 'webp')
  })
  it('orientations 5–8 swap width and height', () => {
    for (let orientation = 1; orientation <= 8; orientation++) {
      const swapped = orientation >= 5
      assert.deepEqual(oriented({ format: 'jpg', width: 300, height: 200, orientation }), {
        width: swapped ? 200 : 300,
        height: swapped ? 300 : 200,
      })
    }
  })
})

describe('plan', () => {
  const jpeg = { format: 'jpg', width: 300, height: 200 }
  const max = 1e9
  it('keeps an image that needs no change', () => {
    assert.deepEqual(plan(jpeg, spec({ minSize: 10 }), max), { action: 'keep', width: 300, height: 200 })
    assert.deepEqual(plan(jpeg, spec({ encode: 'jpg' }), max), { action: 'keep', width: 300, height: 200 })
    assert.deepEqual(plan(jpeg, spec({ resize: 'keep-ratio', size: 200 }), max), {
      action: 'keep',
      width: 300,
      height: 200,
    })
  })
  it('keeps an oriented image as displayed, its tag left for viewers', () => {
    assert.deepEqual(plan({ ...jpeg, orientation: 6 }, spec({ minSize: 10 }), max), {
      action: 'keep',
      width: 200,
      height: 300,
    })
  })
  it('applies the orientation before the geometry', () => {
    assert.deepEqual(
      plan({ ...jpeg, orientation: 6 }, spec({ resize: 'keep-ratio-largest', size: 150 }), max),
      {
        action: 'encode',
        format: 'jpg',
        resize: { width: 100, height: 150, fit: 'fill' },
        flatten: false,
        rgb: false,
        deep: false,
        width: 100,
        height: 150,
      },
    )
  })
  it('re-encodes to another format even without a resize', () => {
    assert.deepEqual(plan(jpeg, spec({ encode: 'webp' }), max), {
      action: 'encode',
      format: 'webp',
      resize: undefined,
      flatten: false,
      rgb: false,
      deep: false,
      width: 300,
      height: 200,
    })
  })
  it('flattens alpha only for JPEG output', () => {
    const png = { format: 'png', width: 300, height: 200, hasAlpha: true }
    const step = (encode?: 'jpg' | 'webp') => plan(png, spec({ resize: 'border', size: 100, encode }), max)
    assert.equal((step('jpg') as { flatten: boolean }).flatten, true)
    assert.equal((step('webp') as { flatten: boolean }).flatten, false)
    assert.equal((step() as { flatten: boolean; format: string }).format, 'png')
  })
  it('works in sRGB where a grey image is painted with the background: padded, or flattened for JPEG', () => {
    const rgb = (header: Partial<ImageHeader>, options: Partial<TransformSpec>) => {
      const step = plan({ format: 'png', width: 300, height: 200, ...header }, spec(options), max)
      return step.action === 'encode' && step.rgb
    }
    const table: [Partial<ImageHeader>, Partial<TransformSpec>, boolean][] = [
      [{ space: 'b-w' }, { resize: 'border', size: 100 }, true],
      [{ space: 'grey16' }, { resize: 'border', size: 100 }, true],
      [{ space: 'b-w', hasAlpha: true }, { encode: 'jpg' }, true],
      [{ space: 'b-w', hasAlpha: true }, { encode: 'webp' }, false], // transparency kept, nothing painted
      [{ space: 'b-w' }, { encode: 'jpg' }, false],
      [{ space: 'b-w' }, { resize: 'center-crop', size: 100 }, false],
      [{ space: 'b-w' }, { resize: 'keep-ratio', size: 100 }, false],
      [{ space: 'srgb' }, { resize: 'border', size: 100 }, false],
      [{ space: 'srgb', hasAlpha: true }, { encode: 'jpg' }, false],
    ]
    for (const [header, options, expected] of table) {
      assert.equal(rgb(header, options), expected, `${JSON.stringify(header)} ${JSON.stringify(options)}`)
    }
  })
  it('writes 16 bits a sample where a 16-bit image is written as PNG or TIFF', () => {
    const deep = (header: Partial<ImageHeader>, options: Partial<TransformSpec>) => {
      const step = plan({ format: 'png', width: 300, height: 200, ...header }, spec(options), max)
      return step.action === 'encode' && step.deep
    }
    assert.equal(deep({ bits: 16 }, { resize: 'keep-ratio', size: 100 }), true)
    assert.equal(deep({ bits: 16, format: 'tif' }, { resize: 'keep-ratio', size: 100 }), true)
    assert.equal(deep({ bits: 16 }, { encode: 'jpg' }), false)
    assert.equal(deep({ bits: 16 }, { encode: 'webp' }), false)
    assert.equal(deep({}, { resize: 'keep-ratio', size: 100 }), false)
  })
  it('converts a grey image by its own grey profile, read at 8 bits, painted in sRGB by that conversion', () => {
    const step = (header: Partial<ImageHeader>, options: Partial<TransformSpec>) => {
      const made = plan({ format: 'png', width: 300, height: 200, ...header }, spec(options), max)
      return made.action === 'encode' ? [made.greyProfile ?? false, made.rgb, made.deep] : made.action
    }
    const table: [Partial<ImageHeader>, Partial<TransformSpec>, unknown][] = [
      [{ space: 'b-w', profile: 'GRAY' }, { resize: 'border', size: 100 }, [true, false, false]],
      [
        { space: 'grey16', profile: 'GRAY', bits: 16 },
        { resize: 'keep-ratio', size: 100 },
        [true, false, false],
      ],
      [{ space: 'grey16', bits: 16 }, { resize: 'border', size: 100 }, [false, true, true]], // no profile: 16 bits kept
      [{ space: 'b-w' }, { resize: 'border', size: 100 }, [false, true, false]],
      [{ space: 'srgb', profile: 'RGB' }, { resize: 'border', size: 100 }, [false, false, false]],
      [{ space: 'b-w', profile: 'GRAY' }, { encode: 'png' }, 'keep'], // nothing to change: kept, profile and all
    ]
    for (const [header, options, expected] of table) {
      assert.deepEqual(
        step(header, options),
        expected,
        `${JSON.stringify(header)} ${JSON.stringify(options)}`,
      )
    }
  })
  it('writes a lossless WebP written as WebP again losslessly, unless a quality is asked', () => {
    const lossless = (header: Partial<ImageHeader>, options: Partial<TransformSpec>) => {
      const step = plan({ format: 'webp', width: 300, height: 200, ...header }, spec(options), max)
      return step.action === 'encode' && step.lossless === true
    }
    const table: [Partial<ImageHeader>, Partial<TransformSpec>, boolean][] = [
      [{ lossless: true, hasMetadata: true }, { encode: 'webp' }, true], // only stripped of its EXIF
      [{ lossless: true }, { resize: 'keep-ratio', size: 100 }, true], // resized, its format kept
      [{ lossless: true }, { resize: 'keep-ratio', size: 100, quality: 90 }, false], // a quality asked
      [{ lossless: true }, { resize: 'keep-ratio', size: 100, encode: 'jpg' }, false],
      [{}, { resize: 'keep-ratio', size: 100 }, false], // a lossy WebP
      [{ format: 'png', lossless: true }, { encode: 'webp' }, false], // --encode webp on a PNG: lossy, as asked
    ]
    for (const [header, options, expected] of table) {
      assert.equal(
        lossless(header, options),
        expected,
        `${JSON.stringify(header)} ${JSON.stringify(options)}`,
      )
    }
  })
  it('writes a resized SVG as PNG', () => {
    const step = plan(
      { format: 'svg', width: 300, height: 200 },
      spec({ resize: 'keep-ratio', size: 100 }),
      max,
    )
    assert.equal(step.action === 'encode' && step.format, 'png')
  })
  it('refuses an output over the pixel limit or wider than its format holds, before decoding', () => {
    // A 20000x1 spacer scaled by its short side: 5,120,000x256.
    const strip = plan(
      { format: 'png', width: 20_000, height: 1 },
      spec({ resize: 'keep-ratio', size: 256 }),
      0x3fff * 0x3fff,
    )
    assert.equal(strip.action === 'refuse' && strip.code, 'too-many-pixels')
    assert.match(strip.action === 'refuse' ? strip.message : '', /20000x1 resized to 5120000x256/)
    const wide = plan({ format: 'png', width: 20_000, height: 100 }, spec({ encode: 'webp' }), max)
    assert.equal(wide.action === 'refuse' && wide.code, 'too-many-pixels')
    assert.match(wide.action === 'refuse' ? wide.message : '', /wider than webp can hold \(16383 px a side\)/)
    assert.equal(
      plan({ format: 'png', width: 20_000, height: 100 }, spec({ encode: 'png' }), max).action,
      'keep',
    )
    assert.equal(
      plan({ format: 'png', width: 16_383, height: 100 }, spec({ encode: 'webp' }), max).action,
      'encode',
    )
    // A tall one is said to be tall.
    const tall = plan({ format: 'png', width: 1, height: 16_384 }, spec({ encode: 'webp' }), max)
    assert.match(tall.action === 'refuse' ? tall.message : '', /^1x16384 is taller than webp can hold/)
  })
  it('shows an aspect ratio over the limit with the decimals that show it over', () => {
    for (const [width, height, limit, shown] of [
      [301, 100, 3, '3.01, over 3'],
      [3001, 1000, 3, '3.001, over 3'],
      [1000, 3001, 3, '3.001, over 3'],
      [30001, 10000, 3, '3.0001, over 3'],
      [1505, 1000, 1.5, '1.505, over 1.5'],
      [400, 40, 9.9, '10.00, over 9.9'],
    ] as const) {
      const refused = refusal(width, height, { maxAspectRatio: limit }, 1e12)
      assert.equal(
        refused?.message,
        `${width}x${height} has an aspect ratio of ${shown}`,
        `${width}x${height}`,
      )
    }
  })
  it('re-encodes an image in the format asked when it carries metadata to strip, unless asked to keep it', () => {
    const tagged = { ...jpeg, hasMetadata: true }
    assert.equal(plan(tagged, spec({ encode: 'jpg' }), max).action, 'encode')
    assert.equal(plan(tagged, spec({ encode: 'jpg', keepMetadata: true }), max).action, 'keep')
    assert.equal(
      plan(tagged, spec({ minSize: 10 }), max).action,
      'keep',
      'no format asked: nothing is written anew',
    )
  })
  it('rewrites every frame of an animation stripped of its metadata, all held to the limit together', () => {
    const animated = { format: 'webp', width: 30, height: 20, pages: 3, hasMetadata: true }
    const all = plan(animated, spec({ encode: 'webp' }), max)
    assert.equal(all.action === 'encode' && all.frames, 3)
    // Resized or converted: the first frame, as before.
    assert.equal((plan(animated, spec({ encode: 'png' }), max) as { frames?: number }).frames, undefined)
    // An EXIF orientation: libvips would turn the stacked frames as one image.
    const turned = plan({ ...animated, orientation: 6 }, spec({ encode: 'webp' }), max)
    assert.equal(turned.action === 'encode' && turned.frames, undefined)
    const big = plan(animated, spec({ encode: 'webp' }), 1_000)
    assert.equal(big.action === 'refuse' && big.code, 'too-many-pixels')
    assert.match(
      big.action === 'refuse' ? big.message : '',
      /3 frames of 30x20 are 1800 pixels to write, more than 1000/,
    )
  })
  it('refuses before anything else', () => {
    const step = plan(jpeg, spec({ resize: 'keep-ratio', size: 100, minSize: 250 }), max)
    assert.equal(step.action, 'refuse')
    assert.equal(step.action === 'refuse' && step.code, 'too-small')
  })
})

describe("pagesOver: a file's pages of their own sizes, held to the limit together", () => {
  const pyramid = [
    { width: 600, height: 400 },
    { width: 300, height: 200 },
    { width: 150, height: 100 },
  ]
  const table: [number, string | undefined][] = [
    [315_000, undefined],
    [1_000_000, undefined],
    [314_999, '3 pages (600x400, 300x200, 150x100) are 315000 pixels to decode, more than 314999'],
  ]
  for (const [maxPixels, message] of table) {
    it(`pyramid of 315000 px, max ${maxPixels} → ${message ? 'refused' : 'passes'}`, () => {
      const over = pagesOver(pyramid, maxPixels)
      assert.deepEqual(over, message === undefined ? undefined : { code: 'too-many-pixels', message })
    })
  }
})

describe('webpLossless: how a WebP was coded, from its chunks', () => {
  const chunk = (type: string, payload: Uint8Array) => {
    const head = Buffer.alloc(8)
    head.write(type, 0, 'latin1')
    head.writeUInt32LE(payload.length, 4)
    return Buffer.concat([head, payload, Buffer.alloc(payload.length & 1)])
  }
  const riff = (...chunks: Buffer[]) => {
    const body = Buffer.concat([Buffer.from('WEBP'), ...chunks])
    const head = Buffer.alloc(8)
    head.write('RIFF', 0, 'latin1')
    head.writeUInt32LE(body.length, 4)
    return Buffer.concat([head, body])
  }
  const bits = Buffer.from([1, 2, 3])
  const frame = (type: string) => chunk('ANMF', Buffer.concat([Buffer.alloc(16), chunk(type, bits)]))
  it('tells VP8L from VP8, through an extended file and its frames', () => {
    const table: [string, Uint8Array, boolean][] = [
      ['simple lossless', riff(chunk('VP8L', bits)), true],
      ['simple lossy', riff(chunk('VP8 ', bits)), false],
      [
        'extended, ICC then lossless',
        riff(chunk('VP8X', Buffer.alloc(10)), chunk('ICCP', Buffer.alloc(501)), chunk('VP8L', bits)),
        true,
      ],
      [
        'extended, alpha then lossy',
        riff(chunk('VP8X', Buffer.alloc(10)), chunk('ALPH', bits), chunk('VP8 ', bits)),
        false,
      ],
      [
        'animation of lossless frames',
        riff(chunk('VP8X', Buffer.alloc(10)), chunk('ANIM', Buffer.alloc(6)), frame('VP8L'), frame('VP8L')),
        true,
      ],
      [
        'animation with one lossy frame',
        riff(chunk('VP8X', Buffer.alloc(10)), frame('VP8L'), frame('VP8 ')),
        false,
      ],
      ['no bitstream', riff(chunk('VP8X', Buffer.alloc(10))), false],
      ['not a WebP', Buffer.from('RIFF\x10\x00\x00\x00WAVEfmt '), false],
      ['cut in the first chunk header', riff(chunk('VP8L', bits)).subarray(0, 16), false],
      ['empty', new Uint8Array(0), false],
    ]
    for (const [name, bytes, expected] of table) assert.equal(webpLossless(bytes), expected, name)
  })
  it('finds EXIF and XMP chunks, declared or not', () => {
    const table: [string, Uint8Array, boolean][] = [
      ['none', riff(chunk('VP8 ', bits)), false],
      ['EXIF appended to a simple file', riff(chunk('VP8 ', bits), chunk('EXIF', bits)), true],
      [
        'XMP in an extended file',
        riff(chunk('VP8X', Buffer.alloc(10)), chunk('VP8L', bits), chunk('XMP ', bits)),
        true,
      ],
      [
        'an ICC profile is not',
        riff(chunk('VP8X', Buffer.alloc(10)), chunk('ICCP', bits), chunk('VP8 ', bits)),
        false,
      ],
      ['a C2PA manifest', riff(chunk('VP8 ', bits), chunk('C2PA', bits)), true],
      ['not a WebP', Buffer.from('RIFF\x10\x00\x00\x00WAVEEXIF'), false],
    ]
    for (const [name, bytes, expected] of table) assert.equal(webpCarriesMetadata(bytes), expected, name)
  })
})

describe("pngCarriesMetadata: a PNG's text and EXIF chunks, wherever they are", () => {
  const chunk = (type: string, data = '') => {
    const out = Buffer.alloc(12 + data.length)
    out.writeUInt32BE(data.length, 0)
    out.write(type + data, 4, 'latin1')
    return out
  }
  const png = (...chunks: Buffer[]) =>
    Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), ...chunks])
  const ihdr = chunk('IHDR', 'x'.repeat(13))
  const idat = chunk('IDAT', 'pixels')
  it('finds tEXt, zTXt, iTXt and eXIf before or after the image data, and nothing past IEND', () => {
    const table: [string, Uint8Array, boolean][] = [
      ['none', png(ihdr, idat, chunk('IEND')), false],
      ['tEXt before IDAT', png(ihdr, chunk('tEXt', 'k\u0000v'), idat, chunk('IEND')), true],
      ['tEXt after IDAT', png(ihdr, idat, chunk('tEXt', 'k\u0000v'), chunk('IEND')), true],
      ['zTXt after IDAT', png(ihdr, idat, chunk('zTXt', 'k\u0000\u0000z'), chunk('IEND')), true],
      ['iTXt (XMP)', png(ihdr, idat, chunk('iTXt', 'XML:com.adobe.xmp\u0000'), chunk('IEND')), true],
      ['eXIf after IDAT', png(ihdr, idat, chunk('eXIf', 'MM'), chunk('IEND')), true],
      ['a C2PA manifest (caBX)', png(ihdr, chunk('caBX', 'jumb'), idat, chunk('IEND')), true],
      ['a colour profile is not', png(ihdr, chunk('iCCP', 'p\u0000\u0000'), idat, chunk('IEND')), false],
      ['after IEND', png(ihdr, idat, chunk('IEND'), chunk('tEXt', 'k\u0000v')), false],
      ['not a PNG', Buffer.from('GIF89a tEXt'), false],
      ['cut in a chunk header', png(ihdr, idat).subarray(0, 40), false],
    ]
    for (const [name, bytes, expected] of table) assert.equal(pngCarriesMetadata(bytes), expected, name)
  })
})

describe("jpegCarriesMetadata: a JPEG's comment and the segments libvips does not read", () => {
  const segment = (marker: number, body: string) => {
    const out = Buffer.alloc(4 + body.length)
    out.writeUInt16BE(0xff00 | marker, 0)
    out.writeUInt16BE(body.length + 2, 2)
    out.write(body, 4, 'latin1')
    return out
  }
  const jfif = segment(0xe0, 'JFIF\u0000\u0001\u0001\u0000\u0000\u0001\u0000\u0001\u0000\u0000')
  const tables = Buffer.concat([segment(0xdb, 'q'.repeat(65)), segment(0xc0, 'f'.repeat(15))])
  const scan = Buffer.from([0xff, 0xda, 0x00, 0x02, 0x12, 0x34, 0xff, 0xd9])
  const jpeg = (...parts: Buffer[]) => Buffer.concat([Buffer.from([0xff, 0xd8]), ...parts, tables, scan])
  const ducky = (...records: number[]) => segment(0xec, `Ducky${String.fromCharCode(...records)}`)
  it('finds COM, APP1, APP2 but its ICC profile, APP3 to APP13 and APP15 before the scan', () => {
    const table: [string, Uint8Array, boolean][] = [
      ['JFIF, tables and a scan', jpeg(jfif), false],
      ['a comment', jpeg(jfif, segment(0xfe, 'Created with GIMP')), true],
      ['EXIF', jpeg(segment(0xe1, 'Exif\u0000\u0000MM')), true],
      ['an ICC profile is not', jpeg(jfif, segment(0xe2, 'ICC_PROFILE\u0000\u0001\u0001...')), false],
      ['MPF (the images a phone appends)', jpeg(jfif, segment(0xe2, 'MPF\u0000MM\u0000*')), true],
      ['C2PA in APP11 (JUMBF)', jpeg(jfif, segment(0xeb, 'JP\u0000\u0001jumbc2pa')), true],
      ['IPTC (APP13)', jpeg(jfif, segment(0xed, 'Photoshop 3.0\u00008BIM')), true],
      ['a maker note segment (APP5)', jpeg(jfif, segment(0xe5, 'RMETA')), true],
      [
        "Adobe's colour transform is not",
        jpeg(segment(0xee, 'Adobe\u0000d\u0000\u0000\u0000\u0000\u0001')),
        false,
      ],
      ["an MJPEG camera's AVI1 is not", jpeg(segment(0xe0, 'AVI1\u0000\u0000')), false],
      ["Photoshop's Ducky with its quality alone is not", jpeg(ducky(0, 1, 0, 4, 0, 0, 0, 80, 0, 0)), false],
      [
        'Ducky with a copyright',
        jpeg(ducky(0, 1, 0, 4, 0, 0, 0, 80, 0, 3, 0, 3, 0x41, 0x42, 0x43, 0, 0)),
        true,
      ],
      ['fill bytes before a marker', jpeg(Buffer.from([0xff, 0xff]), segment(0xfe, 'x')), true],
      ['after the scan', Buffer.concat([jpeg(jfif).subarray(0, -2), segment(0xfe, 'x')]), false],
      ['not a JPEG', Buffer.from('GIF89a\xff\xfe\x00\x03x'), false],
      ['cut in a segment header', jpeg(jfif).subarray(0, 5), false],
    ]
    for (const [name, bytes, expected] of table) assert.equal(jpegCarriesMetadata(bytes), expected, name)
  })
})

describe("xmpWithIptc: a photo's IPTC fields as IPTC Core XMP", () => {
  const dataset = (n: number, value: Buffer | string) => {
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value
    return Buffer.concat([Buffer.from([0x1c, 2, n, bytes.length >> 8, bytes.length & 0xff]), bytes])
  }
  it('reads bare IIM (a TIFF) and Photoshop resources with a name, UTF-8 or Latin-1 text, and skips what maps to nothing', () => {
    const latin1 = dataset(116, Buffer.from('© Zoë', 'latin1'))
    assert.match(xmpWithIptc(latin1) ?? '', /<dc:rights><rdf:Alt><rdf:li xml:lang="x-default">© Zoë</)
    const named = Buffer.concat([Buffer.from('8BIM\u0004\u0004\u0003abc', 'latin1'), Buffer.alloc(4)])
    const iim = dataset(105, 'Headline')
    named.writeUInt32BE(iim.length, 10)
    assert.match(
      xmpWithIptc(Buffer.concat([Buffer.from('Photoshop 3.0\u0000'), named, iim])) ?? '',
      /<photoshop:Headline>Headline<\/photoshop:Headline>/,
    )
    assert.equal(xmpWithIptc(dataset(0, '\u0000\u0004')), undefined) // the record version alone
    assert.equal(xmpWithIptc(dataset(105, 'x'), '<x:xmpmeta/>'), undefined) // no rdf:RDF to add to
    assert.deepEqual(iimDatasets(Buffer.from([0x1c, 2, 105, 0, 9, 0x41])), []) // cut short
    // An empty rdf:RDF closed in its own tag is opened to take them.
    const empty = '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="r"/></x:xmpmeta>'
    assert.match(
      xmpWithIptc(dataset(105, 'H'), empty) ?? '',
      /^<x:xmpmeta xmlns:x="adobe:ns:meta\/"><rdf:RDF xmlns:rdf="r"><rdf:Description [^>]+><photoshop:Headline>H<\/photoshop:Headline><\/rdf:Description><\/rdf:RDF><\/x:xmpmeta>$/,
    )
  })
  it('uprightXmp sets tiff:Orientation to 1, as an element or an attribute', () => {
    for (const [xmp, upright] of [
      ['<tiff:Orientation>6</tiff:Orientation>', '<tiff:Orientation>1</tiff:Orientation>'],
      [
        '<tiff:Orientation rdf:parseType="Literal"> 8 </tiff:Orientation>',
        '<tiff:Orientation rdf:parseType="Literal">1</tiff:Orientation>',
      ],
      [
        '<rdf:Description tiff:Orientation="3" tiff:Make="x"/>',
        '<rdf:Description tiff:Orientation="1" tiff:Make="x"/>',
      ],
      ["<rdf:Description tiff:Orientation='5'/>", "<rdf:Description tiff:Orientation='1'/>"],
      [
        '<tiff:OrientationX>6</tiff:OrientationX><exif:Orientation>6</exif:Orientation>',
        '<tiff:OrientationX>6</tiff:OrientationX><exif:Orientation>6</exif:Orientation>',
      ],
    ]) {
      assert.equal(uprightXmp(xmp), upright)
    }
  })
})

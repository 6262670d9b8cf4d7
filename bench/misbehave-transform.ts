/**
 * Side by side on images that trouble a resizer: each case is one image (a CMYK JPEG, a Display P3
 * photo, a 16-bit PNG, a palette PNG with tRNS, EXIF orientations in a JPEG, a PNG and a WebP, a
 * 1×5000 strip, a cut progressive JPEG, a PNG with a bad ancillary CRC, a decompression bomb, an
 * SVG of entities, a PNG whose gAMA is its only colour description, an APNG that hides its default
 * image, a GIF whose logical screen is a common resolution...), each modelled on a public report
 * named with it, served by a local server and pulled by imgpull with the transform flags of the
 * case; ImageMagick's `convert` does the same job on the same bytes (`-auto-orient`, then `-resize` as the mode asks). Prints per case what each
 * kept (WxH, format, colour space, bytes, the centre pixel), or imgpull's failure line; whether
 * Chromium shows the input and imgpull's output, and the centre pixel it paints for each (so a
 * colour that shifted shows); and what a second imgpull run over the folder fetched again.
 *
 *   npm run build && node --import tsx bench/misbehave-transform.ts [--only ID,ID] [--no-browser]
 */
import { execFileSync } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { apng } from '../test/support/apng.js'
import { type Browser, launchBrowser } from '../test/support/browser.js'
import { pngChunk } from '../test/support/png-chunk.js'
import { benchArgs, noise, printTable, spawnCapped } from './misbehave.js'
import { IMGPULL } from './tools.js'

interface TransformCase {
  id: string
  /** The report this image is modelled on. */
  report: string
  /** The image's extension as served (its name on the server). */
  ext: string
  /** Content-Type it is served with. */
  type: string
  make(): Promise<Buffer>
  /** imgpull's transform flags. */
  args: string[]
  /** ImageMagick's operators for the same job, between `-auto-orient` and the output; its output's extension. */
  convert: string[]
  convertExt?: string
}

const SIZE = 64
const keepRatio = ['--resize', 'keep-ratio', '--size', String(SIZE)]
const crop = ['--resize', 'center-crop', '--size', String(SIZE)]
/** ImageMagick's `keep-ratio` (shortest side to the size) and `center-crop`. */
const imKeepRatio = ['-resize', `${SIZE}x${SIZE}^`]
const imCrop = ['-resize', `${SIZE}x${SIZE}^`, '-gravity', 'center', '-extent', `${SIZE}x${SIZE}`]

const solid = (w: number, h: number, r: number, g: number, b: number, alpha?: number) =>
  sharp({
    create: {
      width: w,
      height: h,
      channels: alpha === undefined ? 3 : 4,
      background: { r, g, b, alpha: alpha ?? 1 },
    },
  })

/** `png` with `chunk` put right after its IHDR. */
const afterIhdr = (png: Buffer, chunk: Buffer) =>
  Buffer.concat([png.subarray(0, 33), chunk, png.subarray(33)])

/** A JPEG whose SOF says `width`×`height`, with a few bytes of scan: a header-only bomb. */
async function declaredJpeg(width: number, height: number): Promise<Buffer> {
  const jpg = await noise(16, 16).jpeg().toBuffer()
  const sof = jpg.indexOf(Buffer.from([0xff, 0xc0]))
  const out = Buffer.from(jpg)
  out.writeUInt16BE(height, sof + 5)
  out.writeUInt16BE(width, sof + 7)
  return out
}

/**
 * A GIF of one white frame (`frame`, 1x1 at 0,0 unless given) on a logical screen of
 * `width`×`height`; its LZW data a clear code before every second pixel, so codes stay 3 bits.
 */
function screenGif(width: number, height: number, frame = { width: 1, height: 1, left: 0, top: 0 }): Buffer {
  const bits: number[] = []
  const push = (value: number, n: number) => {
    for (let i = 0; i < n; i++) bits.push((value >> i) & 1)
  }
  for (let i = 0; i < frame.width * frame.height; i++) {
    if (i % 2 === 0) push(4, 3) // clear
    push(1, 3) // white
  }
  push(5, 3) // end of information
  const data: number[] = []
  for (let i = 0; i < bits.length; i += 8) {
    let byte = 0
    for (let j = 0; j < 8 && i + j < bits.length; j++) byte |= bits[i + j]! << j
    data.push(byte)
  }
  const blocks: number[] = []
  for (let i = 0; i < data.length; i += 255)
    blocks.push(Math.min(255, data.length - i), ...data.slice(i, i + 255))
  const le = (v: number) => [v & 255, v >> 8]
  return Buffer.from([
    ...Buffer.from('GIF89a'),
    ...le(width),
    ...le(height),
    0x80,
    0,
    0,
    ...[0, 0, 0, 255, 255, 255],
    0x2c,
    ...le(frame.left),
    ...le(frame.top),
    ...le(frame.width),
    ...le(frame.height),
    0,
    2,
    ...blocks,
    0,
    0x3b,
  ])
}

function cases(): TransformCase[] {
  return [
    {
      id: 'cmyk-adobe',
      report:
        'libvips/libvips#1283 and lovell/sharp#1649 (a Photoshop CMYK JPEG, Adobe APP14, inks inverted: colours negated); LadybirdBrowser/ladybird#6486 (when browsers invert); a red 200,40,40 written as CMYK, no profile',
      ext: 'jpg',
      type: 'image/jpeg',
      make: () => solid(160, 120, 200, 40, 40).toColourspace('cmyk').jpeg().toBuffer(),
      args: [...keepRatio, '--encode', 'jpg'],
      convert: [...imKeepRatio, '-colorspace', 'sRGB'],
      convertExt: 'jpg',
    },
    {
      id: 'p3-jpeg',
      report:
        'lovell/sharp#2862 (a resized Display P3 photo lost its colours) and processwire/processwire-issues#2265 (the profile stripped, the pixels not converted: duller); sRGB 200,100,50 written in P3, profile embedded',
      ext: 'jpg',
      type: 'image/jpeg',
      make: () => solid(160, 120, 200, 100, 50).withIccProfile('p3').jpeg({ quality: 95 }).toBuffer(),
      args: keepRatio,
      convert: imKeepRatio,
    },
    {
      id: 'png16',
      report: 'lovell/sharp#3809 and lovell/sharp#2528 (a 16-bit PNG written back at 8 bits)',
      ext: 'png',
      type: 'image/png',
      make: () => solid(160, 120, 10, 200, 30).toColourspace('rgb16').png().toBuffer(),
      args: keepRatio,
      convert: imKeepRatio,
    },
    {
      id: 'palette-trns',
      report:
        'carrierwaveuploader/carrierwave#905 and Donaldcwl/browser-image-compression#119 (transparency written as JPEG comes out black); a palette PNG with tRNS, red at 50 %, --encode jpg',
      ext: 'png',
      type: 'image/png',
      make: () => solid(160, 120, 255, 0, 0, 0.5).png({ palette: true }).toBuffer(),
      args: ['--encode', 'jpg'],
      convert: ['-background', 'white', '-flatten'],
      convertExt: 'jpg',
    },
    {
      id: 'grey-alpha',
      report:
        "mozilla/addons#8312 (a PNG's transparency black once a JPEG); a grey+alpha PNG, grey 100 at 50 %, --encode jpg",
      ext: 'png',
      type: 'image/png',
      make: () => solid(160, 120, 100, 100, 100, 0.5).toColourspace('b-w').png().toBuffer(),
      args: ['--encode', 'jpg'],
      convert: ['-background', 'white', '-flatten'],
      convertExt: 'jpg',
    },
    {
      id: 'gama-only',
      report:
        'libvips/libvips#1238 (a PNG of gamma 1.0: libvips ignores gAMA, the thumbnail far too dark) and AOMediaCodec/libavif#1139; grey 128 with gAMA 1.0, no sRGB, iCCP or cICP',
      ext: 'png',
      type: 'image/png',
      make: async () => {
        const g = Buffer.alloc(4)
        g.writeUInt32BE(100_000)
        return afterIhdr(await solid(160, 120, 128, 128, 128).png().toBuffer(), pngChunk('gAMA', g))
      },
      args: keepRatio,
      convert: imKeepRatio,
    },
    {
      id: 'orient6-crop',
      report:
        "huggingface/dataset-viewer#2605 and facebookresearch/detectron2#262 (EXIF orientation ignored: a dataset's photos sideways); stored 300x200 with orientation 6, upright 200x300, center-crop",
      ext: 'jpg',
      type: 'image/jpeg',
      make: async () =>
        sharp(await noise(300, 200).png().toBuffer())
          .withMetadata({ orientation: 6 })
          .jpeg()
          .toBuffer(),
      args: crop,
      convert: imCrop,
    },
    {
      id: 'orient6-min-size',
      report:
        'open-edge-platform/datumaro#2113 (sizes reported before EXIF orientation: width and height swapped); --min-size 250 on a stored 300x200, upright 200x300',
      ext: 'jpg',
      type: 'image/jpeg',
      make: async () =>
        sharp(await noise(300, 200).png().toBuffer())
          .withMetadata({ orientation: 6 })
          .jpeg()
          .toBuffer(),
      args: ['--min-size', '250'],
      convert: [],
    },
    {
      id: 'orient8-png-exif',
      report:
        "libvips/libvips#4834 and w3c/png#310 (an orientation in a PNG's eXIf chunk: who honours it); stored 300x200, orientation 8",
      ext: 'png',
      type: 'image/png',
      make: async () =>
        sharp(await noise(300, 200).png().toBuffer())
          .withMetadata({ orientation: 8 })
          .png()
          .toBuffer(),
      args: keepRatio,
      convert: imKeepRatio,
    },
    {
      id: 'orient6-webp-exif',
      report:
        'SixLabors/ImageSharp.Web#381 (a WebP turned where a JPEG or PNG of the same photo was not); stored 300x200, orientation 6',
      ext: 'webp',
      type: 'image/webp',
      make: async () =>
        sharp(await noise(300, 200).png().toBuffer())
          .withMetadata({ orientation: 6 })
          .webp()
          .toBuffer(),
      args: keepRatio,
      convert: imKeepRatio,
    },
    {
      id: 'animated-webp',
      report:
        'lovell/sharp#2296 and firebase/extensions#696 (an animated WebP written back as one still frame); 3 frames, --encode webp',
      ext: 'webp',
      type: 'image/webp',
      make: async () => {
        const frames = await Promise.all(
          [0, 1, 2].map((i) =>
            solid(80, 60, i * 100, 50, 200 - i * 80)
              .raw()
              .toBuffer(),
          ),
        )
        // Frames stacked, their height given with the raw pixels: sharp writes them as an animation.
        return sharp(Buffer.concat(frames), {
          raw: { width: 80, height: 180, channels: 3, pageHeight: 60 } as never,
        })
          .webp({ loop: 0, delay: [100, 100, 100] })
          .toBuffer()
      },
      args: ['--encode', 'webp'],
      convert: [],
      convertExt: 'webp',
    },
    {
      id: 'apng-hidden-default',
      report:
        'opencv/opencv#27074 (an APNG whose default image is not part of its animation: the fallback a decoder without APNG shows); a red fallback, a blue first frame',
      ext: 'png',
      type: 'image/png',
      make: async () =>
        apng(
          await solid(160, 120, 255, 0, 0).png().toBuffer(),
          await solid(160, 120, 0, 0, 255).png().toBuffer(),
        ),
      args: keepRatio,
      convert: imKeepRatio,
    },
    {
      id: 'gif-common-screen',
      report:
        'libvips/libvips#2577 (libnsgif takes a logical screen of a common resolution, 640x480, 800x600..., for a broken one and sizes the image by its frames); an 800x600 screen with one 100x80 frame at 10,10',
      ext: 'gif',
      type: 'image/gif',
      make: async () => screenGif(800, 600, { width: 100, height: 80, left: 10, top: 10 }),
      args: keepRatio,
      convert: imKeepRatio,
    },
    {
      id: 'strip-1x5000',
      report:
        'lovell/sharp#2653 and lovell/sharp#767 (a 1-pixel side scaled to 0: the resize fails); a 1x5000 spacer, keep-ratio to 64',
      ext: 'png',
      type: 'image/png',
      make: () => solid(1, 5000, 255, 0, 0).png().toBuffer(),
      args: keepRatio,
      convert: imKeepRatio,
    },
    {
      id: 'one-pixel',
      report:
        'SixLabors/ImageSharp#1195 (images 1 or 2 pixels wide cannot be resized); a 1x1 tracking pixel, center-crop to 64',
      ext: 'png',
      type: 'image/png',
      make: () => solid(1, 1, 255, 0, 0).png().toBuffer(),
      args: crop,
      convert: imCrop,
    },
    {
      id: 'exact-size',
      report:
        "no report found: img2dataset's rule, an image already at the size is not re-encoded (losing quality); 64x64, center-crop 64",
      ext: 'jpg',
      type: 'image/jpeg',
      make: () => noise(SIZE, SIZE).jpeg().toBuffer(),
      args: crop,
      convert: imCrop,
    },
    {
      id: 'cut-progressive',
      report:
        'libvips/libvips#1509 (a truncated JPEG: "Premature end of JPEG file"; browsers decode what is there) and lovell/sharp#3624; a progressive JPEG cut at 60 % and closed with an end marker',
      ext: 'jpg',
      type: 'image/jpeg',
      make: async () => {
        const whole = await noise(320, 240).jpeg({ progressive: true }).toBuffer()
        // Closed with an end marker, as a server's truncated copy often is: the download's check passes it.
        return Buffer.concat([whole.subarray(0, Math.floor(whole.length * 0.6)), Buffer.from([0xff, 0xd9])])
      },
      args: keepRatio,
      convert: imKeepRatio,
    },
    {
      id: 'jpeg-trailer',
      report:
        'digital-preservation/pronom-research-week#13 (JPEGs padded after FF D9) and libjpeg-turbo/libjpeg-turbo#163 (a Samsung trailer); 4 KB after the end marker',
      ext: 'jpg',
      type: 'image/jpeg',
      make: async () => Buffer.concat([await noise(160, 120).jpeg().toBuffer(), Buffer.alloc(4096, 0x5a)]),
      args: keepRatio,
      convert: imKeepRatio,
    },
    {
      id: 'png-bad-ancillary-crc',
      report:
        'randy408/libspng#14 (libspng stricter than libpng: ancillary CRC errors) and python-pillow/Pillow#1991 (browsers open PNGs whose iTXt CRC is wrong); a tEXt chunk with a bad CRC',
      ext: 'png',
      type: 'image/png',
      make: async () => {
        const text = pngChunk('tEXt', 'Comment\0made by a broken tool')
        text.writeUInt32BE(0xdeadbeef, text.length - 4)
        return afterIhdr(await noise(160, 120).png().toBuffer(), text)
      },
      args: keepRatio,
      convert: imKeepRatio,
    },
    {
      id: 'tiff',
      report:
        'no report found: a TIFF on an image host (browsers but Safari show none); resized, its format is kept',
      ext: 'tif',
      type: 'image/tiff',
      make: () => noise(160, 120).tiff().toBuffer(),
      args: keepRatio,
      convert: imKeepRatio,
    },
    {
      id: 'bmp',
      report:
        'lovell/sharp#806 and lovell/sharp#3843 (BMP not read by the libvips sharp ships; browsers show it)',
      ext: 'bmp',
      type: 'image/bmp',
      make: async () => {
        const dir = await mkdtemp(join(tmpdir(), 'transform-bmp-'))
        await noise(160, 120).png().toFile(join(dir, 'in.png'))
        execFileSync('convert', [join(dir, 'in.png'), join(dir, 'out.bmp')])
        const bmp = await readFile(join(dir, 'out.bmp'))
        await rm(dir, { recursive: true, force: true })
        return bmp
      },
      args: keepRatio,
      convert: imKeepRatio,
      convertExt: 'png',
    },
    {
      id: 'svg-entities',
      report: "Kozea/CairoSVG#309 and svg/svgo GHSA-xpqw-6gx7-v673 (a billion laughs in an SVG's DOCTYPE)",
      ext: 'svg',
      type: 'image/svg+xml',
      make: async () => {
        let doc = '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "lollollollollollollollollollol">'
        for (let i = 1; i < 9; i++)
          doc += `<!ENTITY ${String.fromCharCode(97 + i)} "${`&${String.fromCharCode(96 + i)};`.repeat(10)}">`
        doc +=
          ']><svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><text y="20">&i;</text></svg>'
        return Buffer.from(doc)
      },
      args: keepRatio,
      convert: imKeepRatio,
      convertExt: 'png',
    },
    {
      id: 'jpeg-declared-bomb',
      report:
        'libvips/libvips#2179 (dimensions capped against memory bombs); a JPEG whose SOF declares 60000x60000 over a few bytes',
      ext: 'jpg',
      type: 'image/jpeg',
      make: () => declaredJpeg(60_000, 60_000),
      args: keepRatio,
      convert: imKeepRatio,
    },
    {
      id: 'gif-screen-bomb',
      report:
        "libvips/libvips#2577 (libnsgif ignores a GIF's logical screen it finds bogus) and libvips/libvips#2176; a 65535x65535 screen holding one 1x1 frame",
      ext: 'gif',
      type: 'image/gif',
      make: async () => screenGif(65_535, 65_535),
      args: keepRatio,
      convert: imKeepRatio,
    },
    {
      id: 'alpha-to-jpg',
      report:
        'carrierwaveuploader/carrierwave#905 (transparency black as JPEG); green at 30 % alpha, --encode jpg --background "#0000ff"',
      ext: 'png',
      type: 'image/png',
      make: () => solid(160, 120, 0, 200, 0, 0.3).png().toBuffer(),
      args: ['--encode', 'jpg', '--background', '#0000ff'],
      convert: ['-background', '#0000ff', '-flatten'],
      convertExt: 'jpg',
    },
    {
      id: 'avif-q1',
      report:
        "lovell/sharp#4430 (an encode that fails by the image's size) for the family; --encode avif --quality 1",
      ext: 'jpg',
      type: 'image/jpeg',
      make: () => noise(160, 120).jpeg().toBuffer(),
      args: ['--encode', 'avif', '--quality', '1'],
      convert: ['-quality', '1'],
      convertExt: 'avif',
    },
    {
      id: 'webp-q100',
      report: 'lovell/sharp#1399 (an output larger than its input); --encode webp --quality 100 on noise',
      ext: 'png',
      type: 'image/png',
      make: () => noise(160, 120).png().toBuffer(),
      args: ['--encode', 'webp', '--quality', '100'],
      convert: ['-quality', '100'],
      convertExt: 'webp',
    },
  ]
}

/** What an output is: WxH, format, colour space, bytes and its centre pixel, as sharp reads it. */
async function describe(bytes: Buffer): Promise<string> {
  try {
    const m = await sharp(bytes, { pages: 1 }).metadata()
    const frames = m.pages && m.pages > 1 ? ` ${m.pages} frames` : ''
    const depth = m.depth === 'ushort' ? ' 16-bit' : ''
    return `${m.width}x${m.pageHeight ?? m.height} ${m.format}${frames} ${m.space}${depth}${m.icc ? ' +icc' : ''} ${bytes.length} B, centre ${await centre(bytes)}`
  } catch (error) {
    return `${bytes.length} B unreadable (${String(error).slice(0, 60)})`
  }
}

async function centre(bytes: Buffer): Promise<string> {
  const { data, info } = await sharp(bytes, { pages: 1 })
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true })
  const at = (Math.floor(info.height / 2) * info.width + Math.floor(info.width / 2)) * info.channels
  return [...data.subarray(at, at + info.channels)].join(',')
}

/** Whether Chromium shows `bytes` (as `type`), and the centre pixel it paints. */
async function shown(browser: Browser | undefined, bytes: Buffer, type: string): Promise<string> {
  if (!browser) return 'not run'
  const page = await browser.open({ width: 400, height: 300 })
  try {
    const src = `data:${type};base64,${bytes.toString('base64')}`
    return await page.evaluate(async (url) => {
      const img = new Image()
      img.src = url
      try {
        await img.decode()
      } catch {
        return 'not shown'
      }
      const canvas = document.createElement('canvas')
      canvas.width = img.naturalWidth
      canvas.height = img.naturalHeight
      const g = canvas.getContext('2d')!
      g.drawImage(img, 0, 0)
      const p = g.getImageData(Math.floor(img.naturalWidth / 2), Math.floor(img.naturalHeight / 2), 1, 1).data
      return `${img.naturalWidth}x${img.naturalHeight}, centre ${[...p].join(',')}`
    }, src)
  } finally {
    await page.close()
  }
}

const MIME: Record<string, string> = {
  jpg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  avif: 'image/avif',
  gif: 'image/gif',
  tif: 'image/tiff',
}

async function runCase(c: TransformCase, browser: Browser | undefined) {
  const root = await mkdtemp(join(tmpdir(), `transform-${c.id}-`))
  const input = await c.make()
  let requests = 0
  const server = createServer((_req, res) => {
    requests++
    res.writeHead(200, { 'Content-Type': c.type, 'Content-Length': String(input.length) }).end(input)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/image.${c.ext}`
  const out = join(root, 'out')
  const args = [IMGPULL, url, '-o', out, '--no-report', ...c.args]
  const began = performance.now()
  const first = await spawnCapped(process.execPath, args, 120_000)
  const seconds = (performance.now() - began) / 1000
  const fetched = requests
  const again = await spawnCapped(process.execPath, args, 120_000)
  const refetched = requests - fetched
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
  const names = (await readdir(out).catch(() => [] as string[])).filter(
    (n) => !/^\.imgpull$|^manifest\.jsonl$|^report\.html$/.test(n),
  )
  const kept = names[0] === undefined ? undefined : await readFile(join(out, names[0]))
  const line = first.stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/img\/s|^Done|Details:/.test(l))
    .join(' | ')
    .slice(0, 300)
  const imgpull = kept
    ? `${names[0]}: ${kept.equals(input) ? 'kept byte for byte, ' : ''}${await describe(kept)}`
    : `none, exit ${first.code}: ${line}`
  // ImageMagick on the same bytes: the first frame, turned upright, then the case's operators.
  const src = join(root, `in.${c.ext}`)
  await writeFile(src, input)
  const dest = join(root, `convert.${c.convertExt ?? c.ext}`)
  const im = await spawnCapped(
    'timeout',
    ['60', 'convert', `${src}[0]`, '-auto-orient', ...c.convert, dest],
    70_000,
  )
  const imOut = await readFile(dest).catch(() => undefined)
  const convert = imOut
    ? await describe(imOut)
    : `none, exit ${im.code}: ${im.stderr.trim().split('\n')[0]?.slice(0, 160)}`
  const browserIn = await shown(browser, input, c.type)
  const browserOut = kept ? await shown(browser, kept, MIME[names[0]!.split('.').at(-1)!] ?? c.type) : '-'
  await rm(root, { recursive: true, force: true })
  return { imgpull, convert, browserIn, browserOut, refetched, seconds, again: again.code }
}

async function main() {
  const { argv, only } = benchArgs()
  const browser = argv.includes('--no-browser') ? undefined : await launchBrowser()
  const chosen = cases().filter((c) => !only || only.includes(c.id))
  const rows = [
    '| case | imgpull flags | imgpull keeps | convert keeps | Chromium: input | Chromium: imgpull output | rerun fetched |',
    '|---|---|---|---|---|---|---|',
  ]
  for (const c of chosen) {
    const r = await runCase(c, browser)
    console.error(`${c.id}: ${JSON.stringify(r)}`)
    rows.push(
      `| ${c.id} | \`${c.args.join(' ')}\` | ${r.imgpull} | ${r.convert} | ${r.browserIn} | ${r.browserOut} | ${r.refetched} |`,
    )
  }
  await browser?.close()
  printTable(rows, chosen)
}

await main()

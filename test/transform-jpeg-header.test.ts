// A plain JPEG's header read without libvips (src/transform/jpeg-header.ts): the same header as
// libvips' for every JPEG it reads, and none (libvips reads it) for anything it cannot vouch for.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import sharp from 'sharp'
import { inMemory } from '../src/transform/byte-source.js'
import { plainJpegHeader } from '../src/transform/jpeg-header.js'
import { libvipsHeader } from '../src/transform/resize.js'
import { fixture } from './fixtures/transform/index.js'

const plainOf = (bytes: Buffer) => plainJpegHeader(inMemory(bytes))
const images = new URL('./fixtures/images/', import.meta.url)

/** A noisy picture of `width`×`height`, so the encoder writes real tables. */
function picture(width: number, height: number, channels: 1 | 3 = 3) {
  const pixels = Buffer.alloc(width * height * channels)
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 7919) % 251
  return sharp(pixels, { raw: { width, height, channels } })
}

/** Where each marker segment before the first scan starts: [marker, offset]. */
function segments(jpeg: Buffer): [number, number][] {
  const found: [number, number][] = []
  for (let at = 2; at + 4 <= jpeg.length; at += 2 + jpeg.readUInt16BE(at + 2)) {
    found.push([jpeg[at + 1], at])
    if (jpeg[at + 1] === 0xda) break
  }
  return found
}
const offsetOf = (jpeg: Buffer, marker: number) => segments(jpeg).find(([m]) => m === marker)![1]

/** `jpeg` with `segment` (marker, then its body) put before its first table. */
function withSegment(jpeg: Buffer, marker: number, body: Buffer): Buffer {
  const at = offsetOf(jpeg, 0xdb)
  const head = Buffer.from([0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 255])
  return Buffer.concat([jpeg.subarray(0, at), head, body, jpeg.subarray(at)])
}

/** A JFIF `APP0` body of major version `major`, 72 dpi, no thumbnail. */
const jfif = (major: number) =>
  Buffer.from([...Buffer.from('JFIF\0', 'latin1'), major, 1, 1, 0, 72, 0, 72, 0, 0])

/** A copy of `jpeg` with the byte `offset` bytes into the segment of `marker` set to `value`. */
function poked(jpeg: Buffer, marker: number, offset: number, value: number): Buffer {
  const copy = Buffer.from(jpeg)
  copy[offsetOf(jpeg, marker) + offset] = value
  return copy
}

describe('plainJpegHeader', async () => {
  const baseline = await picture(64, 48).jpeg().toBuffer()
  it('reads the header libvips reads, for the JPEGs it takes', async () => {
    const jpegs: [string, Buffer][] = [
      ['baseline 4:2:0', baseline],
      ['a JFIF header', withSegment(baseline, 0xe0, jfif(1))],
      ['4:4:4', await picture(33, 17).jpeg({ chromaSubsampling: '4:4:4' }).toBuffer()],
      ['progressive', await picture(40, 90).jpeg({ progressive: true }).toBuffer()],
      ['grey', await picture(31, 29, 1).jpeg().toBuffer()],
      ['optimised, no JFIF version 2', await picture(20, 20).jpeg({ optimiseCoding: true }).toBuffer()],
      ['quantised tables', await picture(25, 25).jpeg({ mozjpeg: true }).toBuffer()],
      ...['baseline.jpg', 'progressive.jpg', 'restart.jpg', 'progressive-restart.jpg'].map(
        (name): [string, Buffer] => [name, readFileSync(new URL(name, images))],
      ),
      ['a JPEG cut in its scan', fixture('truncated.jpg')],
    ]
    for (const [name, jpeg] of jpegs) {
      const plain = plainOf(jpeg)
      assert.ok(plain, `${name}: read here`)
      assert.deepStrictEqual(plain, await libvipsHeader(jpeg), name)
    }
  })
  it('leaves to libvips what it cannot vouch for: metadata, other colour spaces and codings, odd bytes', async () => {
    const tables = offsetOf(baseline, 0xdb)
    const sof = offsetOf(baseline, 0xc0)
    const cases: [string, Buffer][] = [
      ['EXIF', await picture(30, 20).jpeg().withMetadata({ orientation: 6 }).toBuffer()],
      ['an ICC profile', await picture(30, 20).jpeg().withIccProfile('p3').toBuffer()],
      ['a comment', withSegment(baseline, 0xfe, Buffer.from('Created with GIMP'))],
      ["Adobe's APP14", withSegment(baseline, 0xee, Buffer.from('Adobe\0\x64\0\0\0\0\x01', 'latin1'))],
      ['an APP0 that is not JFIF', withSegment(baseline, 0xe0, Buffer.from('JFXX\0\x10', 'latin1'))],
      ['CMYK', await picture(30, 20).toColourspace('cmyk').jpeg().toBuffer()],
      ['JFIF version 2 (libjpeg warns)', withSegment(baseline, 0xe0, jfif(2))],
      ['12 bits', poked(baseline, 0xc0, 4, 12)],
      ['extended (SOF1)', poked(baseline, 0xc0, 1, 0xc1)],
      ['lossless (SOF3)', poked(baseline, 0xc0, 1, 0xc3)],
      ['arithmetic (SOF9)', poked(baseline, 0xc0, 1, 0xc9)],
      [
        'no rows (DNL)',
        Buffer.concat([baseline.subarray(0, sof + 5), Buffer.from([0, 0]), baseline.subarray(sof + 7)]),
      ],
      ['sampling 0', poked(baseline, 0xc0, 11, 0x01)],
      ['a quantisation table 4', poked(baseline, 0xdb, 4, 4)],
      ['16-bit quantisation entries', poked(baseline, 0xdb, 4, 0x10)],
      ['a Huffman table of class 2', poked(baseline, 0xc4, 4, 0x20)],
      ['a scan of a component the frame lacks', poked(baseline, 0xda, 5, 9)],
      [
        'a stray byte before a marker',
        Buffer.concat([baseline.subarray(0, tables), Buffer.from([0]), baseline.subarray(tables)]),
      ],
      [
        'a fill byte before a marker',
        Buffer.concat([baseline.subarray(0, tables), Buffer.from([0xff]), baseline.subarray(tables)]),
      ],
      [
        'two frames',
        withSegment(baseline, 0xc0, baseline.subarray(sof + 4, sof + 2 + baseline.readUInt16BE(sof + 2))),
      ],
      ['cut before its scan', baseline.subarray(0, offsetOf(baseline, 0xda) + 6)],
      ['not a JPEG', await picture(8, 8).png().toBuffer()],
    ]
    for (const [name, jpeg] of cases) assert.equal(plainOf(jpeg), undefined, name)
  })
})

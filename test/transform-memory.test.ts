import assert from 'node:assert/strict'
import { open, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { resourceUsage } from 'node:process'
import { test } from 'node:test'
import { FileBytes } from '../src/transform/byte-source.js'
import { jpegCarriesMetadata } from '../src/transform/jpeg-metadata.js'
import { pngCarriesMetadata } from '../src/transform/png-metadata.js'
import { transformImage } from '../src/transform/resize.js'
import { resolveTransformSpec } from '../src/transform/spec.js'
import { pngChunk as chunk } from './support/png-chunk.js'

test("a large PNG's chunks are walked from its file, not read whole into the worker", async () => {
  // 64x48, one IDAT of 512 MB (a sparse file: no disk used), then a tEXt chunk and IEND.
  const idat = 512 * 1024 * 1024
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(64, 0)
  ihdr.writeUInt32BE(48, 4)
  ihdr.set([8, 2, 0, 0, 0], 8)
  const head = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), chunk('IHDR', ihdr)])
  const idatHead = Buffer.alloc(8)
  idatHead.writeUInt32BE(idat, 0)
  idatHead.write('IDAT', 4, 'latin1')
  const tail = Buffer.concat([
    Buffer.alloc(4),
    chunk('tEXt', Buffer.from('Comment\0hi')),
    chunk('IEND', Buffer.alloc(0)),
  ])
  const path = join(tmpdir(), `imgpull-sparse-${process.pid}.png`)
  const file = await open(path, 'w')
  try {
    await file.write(Buffer.concat([head, idatHead]), 0)
    await file.write(tail, 0, tail.length, head.length + 8 + idat)
    await file.close()
    const reader = new FileBytes(path)
    try {
      assert.equal(pngCarriesMetadata(reader), true, 'the text chunk after 512 MB of image data is seen')
    } finally {
      reader.close()
    }
    // The header read (the chunk walk included), then the plan refuses it: nothing is decoded.
    const before = resourceUsage().maxRSS
    await assert.rejects(transformImage({ path }, resolveTransformSpec({ minSize: 100 })), {
      code: 'too-small',
    })
    const grew = (resourceUsage().maxRSS - before) / 1024
    assert.ok(grew < 64, `the peak grew by ${grew.toFixed(0)} MB`)
  } finally {
    await rm(path, { force: true })
  }
})

test('a file read by windows gives the chunk walkers what the bytes in memory give, across window edges', async () => {
  const { webpFacts } = await import('../src/transform/webp-coding.js')
  const path = join(tmpdir(), `imgpull-windows-${process.pid}`)
  try {
    for (const size of [1, 7, 99, 4093]) {
      // PNG: many small private chunks (headers at every offset modulo the window), then tEXt.
      const pieces = Array.from({ length: Math.ceil(300_000 / (size + 12)) }, () =>
        chunk('prIv', Buffer.alloc(size)),
      )
      const png = Buffer.concat([
        Buffer.from('89504e470d0a1a0a', 'hex'),
        ...pieces,
        chunk('tEXt', Buffer.from('a\0b')),
        chunk('IEND', Buffer.alloc(0)),
      ])
      // WebP: many odd-sized unknown chunks (padded to even), then a lossless bitstream.
      const riffChunk = (type: string, n: number) => {
        const c = Buffer.alloc(8 + n + (n & 1))
        c.write(type, 0, 'latin1')
        c.writeUInt32LE(n, 4)
        return c
      }
      const body = Buffer.concat([
        Buffer.from('WEBP'),
        ...pieces.map(() => riffChunk('UNKN', size)),
        riffChunk('VP8L', 5),
      ])
      const webp = Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), body])
      webp.writeUInt32LE(body.length, 4)
      // JPEG: many APP0 segments (no metadata), then a comment.
      const segment = (marker: number, n: number) => {
        const c = Buffer.alloc(4 + n)
        c.writeUInt16BE(0xff00 | marker, 0)
        c.writeUInt16BE(n + 2, 2)
        return c
      }
      const jpeg = Buffer.concat([
        Buffer.from([0xff, 0xd8]),
        ...pieces.map(() => segment(0xe0, size)),
        segment(0xfe, 3),
        Buffer.from([0xff, 0xda, 0x00, 0x02, 0xff, 0xd9]),
      ])
      for (const [bytes, walk] of [
        [png, pngCarriesMetadata],
        [webp, (s: Uint8Array | FileBytes) => JSON.stringify(webpFacts(s))],
        [jpeg, jpegCarriesMetadata],
      ] as const) {
        const f = await open(path, 'w')
        await f.write(bytes)
        await f.close()
        const reader = new FileBytes(path)
        try {
          assert.deepEqual(walk(reader), walk(bytes), `chunks of ${size}`)
        } finally {
          reader.close()
        }
      }
      assert.equal(pngCarriesMetadata(png), true)
      assert.equal(jpegCarriesMetadata(jpeg), true)
      assert.deepEqual(webpFacts(webp), { lossless: true, metadata: false })
    }
  } finally {
    await rm(path, { force: true })
  }
})

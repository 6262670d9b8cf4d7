import assert from 'node:assert/strict'
import { test } from 'node:test'
import { fileTypeFromBuffer } from 'file-type'
import { dimensions, sniff, sniffCommon } from '../src/verify/sniff.js'
import { dimsOf, makeImage } from './support/images.js'

test('common formats: the fast path agrees with file-type, and dimensions are read', async () => {
  for (const format of ['jpg', 'png', 'gif', 'webp'] as const) {
    const image = makeImage(`sniff-${format}`, 5000, format)
    const fast = sniffCommon(image)
    assert.equal(fast?.ext, format)
    assert.equal((await fileTypeFromBuffer(image))?.ext, format)
    assert.deepEqual(await dimensions(image, format), dimsOf(`sniff-${format}`), format)
  }
})

test('dimensions of other formats come from image-size in full; a header it cannot read gives none', async () => {
  const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30"></svg>')
  assert.deepEqual(await dimensions(svg, 'svg'), { width: 40, height: 30 })
  assert.deepEqual(await dimensions(Buffer.from([0xff, 0xd8, 0xff, 0xe0]), 'jpg'), {})
})

test('a JPEG whose segment chain breaks gets no dimensions, not a byte-by-byte search for a frame', async () => {
  // SOI, an APP0 marker, then no further segment: only filler, with a frame header (40x30) where
  // image-size's search through broken bytes would land on it.
  const corrupt = Buffer.alloc(8000, 7)
  Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]).copy(corrupt, 0)
  Buffer.from([0xff, 0xc0, 0x00, 0x11, 0x08, 0x00, 0x1e, 0x00, 0x28]).copy(corrupt, 1805)
  assert.deepEqual(await dimensions(corrupt, 'jpg'), {})
  // The same frame header where the chain leads (the APP0 segment's end) is read.
  const sound = Buffer.alloc(8000, 7)
  Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]).copy(sound, 0)
  Buffer.from([0xff, 0xc0, 0x00, 0x11, 0x08, 0x00, 0x1e, 0x00, 0x28]).copy(sound, 20)
  assert.deepEqual(await dimensions(sound, 'jpg'), { width: 40, height: 30 })
})

test('other images through file-type; SVG by its root element; HTML, JSON and empty bodies are not images', async () => {
  const avifHeader = Buffer.from('000000206674797061766966000000006176696600000000', 'hex')
  assert.equal((await sniff(Buffer.concat([avifHeader, Buffer.alloc(200)])))?.ext, 'avif')
  assert.equal(
    (await sniff(Buffer.from('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>')))?.ext,
    'svg',
  )
  assert.equal(await sniff(Buffer.from('<!doctype html><html><body>Access denied</body></html>')), undefined)
  assert.equal(await sniff(Buffer.from('{"errors":["Rate Limit Exceeded"]}')), undefined)
  assert.equal(await sniff(Buffer.alloc(0)), undefined)
  assert.equal(await sniff(Buffer.from('%PDF-1.7\n')), undefined, 'a PDF is not an image')
})

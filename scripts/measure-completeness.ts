/**
 * Measures the completeness check's cost on the thread that moves bytes, beside sha256 on the same bytes:
 * one 200 MB JPEG-like body fed in 64 KB chunks (ns per byte), and 5,000 JPEG-like bodies of 20–200 KB
 * (µs per file, fed in 64 KB chunks). Bodies come from test/support/images.ts (byte-stuffed noise as scan
 * data: an FF every 256 bytes or so, about as often as in real photos).
 * Run: node --import tsx scripts/measure-completeness.ts [--mb 200] [--files 5000] [--format jpg]
 */
import { createHash } from 'node:crypto'
import { parseArgs } from 'node:util'
import { completenessCheck } from '../src/verify/complete/index.js'
import { type Format, makeImage, sizeOf } from '../test/support/images.js'

const { values } = parseArgs({
  options: {
    mb: { type: 'string', default: '200' },
    files: { type: 'string', default: '5000' },
    format: { type: 'string', default: 'jpg' },
  },
})
const format = values.format as Format
const CHUNK = 64 * 1024
const none = async () => new Uint8Array(0)

function chunks(body: Buffer): Buffer[] {
  const out: Buffer[] = []
  for (let at = 0; at < body.length; at += CHUNK) out.push(body.subarray(at, at + CHUNK))
  return out
}

async function check(parts: Buffer[]): Promise<void> {
  const c = completenessCheck(format)
  for (const part of parts) c.update(part)
  const verdict = await c.end(none)
  if (!verdict.complete) throw new Error(`not complete: ${verdict.reason}`)
}

function hash(parts: Buffer[]): void {
  const h = createHash('sha256')
  for (const part of parts) h.update(part)
  h.digest()
}

/** Best of `runs` timings of `fn`, in ns. */
async function best(runs: number, fn: () => unknown): Promise<number> {
  let min = Number.POSITIVE_INFINITY
  for (let r = 0; r < runs; r++) {
    const start = process.hrtime.bigint()
    await fn()
    min = Math.min(min, Number(process.hrtime.bigint() - start))
  }
  return min
}

const large = chunks(makeImage('measure-large', Number(values.mb) * 1024 * 1024, format))
const bytes = large.reduce((n, c) => n + c.length, 0)
const checkLarge = await best(5, () => check(large))
const hashLarge = await best(5, () => hash(large))
console.log(
  `${format} ${values.mb} MB in 64 KB chunks: check ${(checkLarge / bytes).toFixed(3)} ns/byte ` +
    `(${(bytes / checkLarge).toFixed(2)} GB/s), sha256 ${(hashLarge / bytes).toFixed(3)} ns/byte`,
)

const n = Number(values.files)
const small = Array.from({ length: n }, (_, i) => chunks(makeImage(`m${i}`, sizeOf(`m${i}`, 20_000, 200_000), format)))
const smallBytes = small.reduce((s, parts) => s + parts.reduce((t, c) => t + c.length, 0), 0)
const checkSmall = await best(5, async () => {
  for (const parts of small) await check(parts)
})
const hashSmall = await best(5, () => {
  for (const parts of small) hash(parts)
})
console.log(
  `${n} ${format} files of 20-200 KB (${(smallBytes / 1e6).toFixed(0)} MB): check ${(checkSmall / n / 1000).toFixed(1)} µs/file ` +
    `(${(checkSmall / smallBytes).toFixed(3)} ns/byte), sha256 ${(hashSmall / n / 1000).toFixed(1)} µs/file`,
)

/**
 * Measures the completeness check's cost on the thread that moves bytes, beside sha256 on the same bytes
 * (each the best of several alternating runs, so a busy machine slows both alike):
 * - a 200 MB JPEG-like body in 64 KB chunks, ns per byte: "cold", the body read once from memory; "warm",
 *   every scan chunk the same 64 KB already in the CPU cache, as a chunk just read from a socket is;
 * - 5,000 JPEG-like bodies of 20–200 KB in 64 KB chunks, µs per file.
 * Bodies come from test/support/images.ts: byte-stuffed noise as scan data, an FF (then a stuffed 00)
 * every 256 bytes on average, as in the entropy-coded data of real photos.
 * Run: node --import tsx scripts/measure-completeness.ts [--mb 200] [--files 5000] [--format jpg] [--runs 7]
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
    runs: { type: 'string', default: '7' },
  },
})
const runs = Number(values.runs)
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

/** Best timings (ns) of the check and of sha256 over `parts`, run alternately `runs` times. */
async function race(run: (parts: Buffer[][]) => unknown, all: Buffer[][]): Promise<[number, number]> {
  let check = Number.POSITIVE_INFINITY
  let sha = Number.POSITIVE_INFINITY
  for (let r = 0; r < runs; r++) {
    let start = process.hrtime.bigint()
    await run(all)
    check = Math.min(check, Number(process.hrtime.bigint() - start))
    start = process.hrtime.bigint()
    for (const parts of all) hash(parts)
    sha = Math.min(sha, Number(process.hrtime.bigint() - start))
  }
  return [check, sha]
}
const checkAll = async (all: Buffer[][]) => {
  for (const parts of all) await check(parts)
}
const count = (all: Buffer[][]) => all.reduce((s, parts) => s + parts.reduce((t, c) => t + c.length, 0), 0)

const mb = Number(values.mb)
const cold = [chunks(makeImage('measure-large', mb * 1024 * 1024, format))]
const [coldCheck, coldHash] = await race(checkAll, cold)
const bytes = count(cold)
console.log(
  `${format} ${mb} MB, cold: check ${(coldCheck / bytes).toFixed(3)} ns/byte, sha256 ${(coldHash / bytes).toFixed(3)} ns/byte`,
)
cold.length = 0
if (format === 'jpg') {
  // The headers of one image, then one 64 KB stretch of its scan data over and over, then EOI.
  const image = makeImage('measure-warm', 256 * 1024)
  const scan = image.indexOf(Buffer.from([0xff, 0xda])) + 14
  let piece = image.subarray(scan, scan + CHUNK)
  if (piece.at(-1) === 0xff) piece = piece.subarray(0, -1)
  const warm = [
    [
      image.subarray(0, scan),
      ...new Array(Math.ceil((mb * 1024 * 1024) / CHUNK)).fill(piece),
      Buffer.from([0xff, 0xd9]),
    ],
  ]
  const [warmCheck, warmHash] = await race(checkAll, warm)
  const warmBytes = count(warm)
  console.log(
    `${format} ${mb} MB, warm: check ${(warmCheck / warmBytes).toFixed(3)} ns/byte, sha256 ${(warmHash / warmBytes).toFixed(3)} ns/byte`,
  )
}

const n = Number(values.files)
const small = Array.from({ length: n }, (_, i) =>
  chunks(makeImage(`m${i}`, sizeOf(`m${i}`, 20_000, 200_000), format)),
)
const smallBytes = count(small)
const [checkSmall, hashSmall] = await race(checkAll, small)
console.log(
  `${n} ${format} files of 20-200 KB (${(smallBytes / 1e6).toFixed(0)} MB): check ${(checkSmall / n / 1000).toFixed(1)} µs/file ` +
    `(${(checkSmall / smallBytes).toFixed(3)} ns/byte), sha256 ${(hashSmall / n / 1000).toFixed(1)} µs/file`,
)

/**
 * A stand-in for the Unsplash API on this machine, to try `imgpull unsplash` without an access key
 * or internet: the test suite's mock API (test/support/unsplash-mock.ts, built from the documented
 * answers: listings, `X-Ratelimit-*`, download tracking) and its image host
 * (test/support/image-server.ts, serving real JPEGs made by bench/jpegs.ts). It prints the two variables that point
 * imgpull at it, then serves until Ctrl-C (or SIGTERM).
 *
 * Its listings: searches "mountain lake" (40 photos) and "forest" (12), collection 1580860 (35),
 * user and likes anniespratt (45, 10), topic nature (40), random photos, and photo Dwu85P9SOIk
 * (the README's `imgpull unsplash photo` example) as well as any photo a listing sent; the key it takes is
 * `test-access-key`, 5,000 calls an hour (`--limit N` for fewer: a demo key's 50, to see a
 * rate-limit wait or `--on-rate-limit stop`; `--window S`, a window of S seconds from when the calls
 * ran out, to see it end: give imgpull the same `--rate-limit-window`).
 *
 * Run: node --import tsx scripts/unsplash-mock.ts [--limit 50] [--window 3600]
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { makeJpegs } from '../bench/jpegs.js'
import { startImageServer } from '../test/support/image-server.js'
import { startUnsplashMock } from '../test/support/unsplash-mock.js'

const { values } = parseArgs({
  options: { limit: { type: 'string', default: '5000' }, window: { type: 'string', default: '3600' } },
})
const limit = Number(values.limit)
const window = Number(values.window)
for (const [name, value, given] of [
  ['--limit', limit, values.limit],
  ['--window', window, values.window],
] as const) {
  if (!Number.isInteger(value) || value < 1) {
    process.stderr.write(`unsplash-mock: ${name} must be a whole number, 1 or more: ${given}\n`)
    process.exit(2)
  }
}

// Photos that decode (the benchmarks' JPEGs, 320-1280 px a side), one chosen by each photo's id, so
// that --resize, --encode and --verify decode run as on Unsplash's files: the image host's made-up
// JPEGs are whole in structure but noise that does not decode (the README's resize example failed
// 28 of 35 as undecodable, 'bad Huffman code'). No request log: it would grow as long as the server runs.
const photos = (await makeJpegs(8)).map((path) => readFileSync(path))
const images = await startImageServer({
  record: false,
  body: (name) =>
    name.startsWith('photo-')
      ? photos[createHash('sha256').update(name).digest()[0]! % photos.length]
      : undefined,
})
const api = await startUnsplashMock({
  imageOrigin: images.origin,
  limit,
  window: window * 1000,
  searches: { 'mountain lake': 40, forest: 12 },
  collections: { '1580860': 35 },
  users: { anniespratt: 45 },
  likes: { anniespratt: 10 },
  topics: { nature: 40 },
  photos: ['Dwu85P9SOIk'],
})
process.stdout.write(
  `export UNSPLASH_API_URL=${api.origin} UNSPLASH_ACCESS_KEY=${api.key}\n` +
    `# a mock Unsplash API (${limit} calls a window of ${window} s) and its image host at ${images.origin}; Ctrl-C stops them\n`,
)

let closing = false
async function stop() {
  if (closing) return
  closing = true
  await Promise.all([api.close(), images.close()])
  process.exit(0)
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)

/**
 * Real JPEGs for the benchmarks that decode (the resize scenario, bench/transform.ts): `count`
 * files of 20–200 KB, 320–1280 px a side (smooth colour with some grain, quality 80, made with
 * sharp), kept in `dir` so later runs reuse them. Deterministic: the same `dir` and `count` give
 * the same files.
 */
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'

export const JPEG_DIR = join(tmpdir(), 'imgpull-bench-jpegs')

const MIN_BYTES = 20 * 1024
const MAX_BYTES = 200 * 1024

/** Paths of `count` JPEGs of 20–200 KB in `dir`, made there first where there are not enough (off-range ones are made and skipped). */
export async function makeJpegs(count: number, dir = JPEG_DIR, log = (_: string) => {}): Promise<string[]> {
  mkdirSync(dir, { recursive: true })
  const inRange = (path: string) => {
    const size = statSync(path).size
    return size >= MIN_BYTES && size <= MAX_BYTES
  }
  const paths = readdirSync(dir)
    .filter((name) => name.endsWith('.jpg'))
    .sort()
    .map((name) => join(dir, name))
    .filter(inRange)
  if (paths.length < count) log(`making ${count - paths.length} more JPEGs of 20–200 KB in ${dir} ...`)
  let seed = 42 + readdirSync(dir).length
  const random = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    return seed / 0x7fffffff
  }
  for (let i = readdirSync(dir).length; paths.length < count; i++) {
    const width = 320 + Math.floor(random() * 960)
    const height = 320 + Math.floor(random() * 960)
    const grain = 4 + Math.floor(random() * 20)
    const pixels = Buffer.alloc(width * height * 3)
    const [r, g, b] = [random() * 255, random() * 255, random() * 255]
    for (let y = 0, at = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const n = random() * grain
        pixels[at++] = (r + (x * 128) / width + n) & 255
        pixels[at++] = (g + (y * 128) / height + n) & 255
        pixels[at++] = (b + n) & 255
      }
    }
    const path = join(dir, `${String(i).padStart(5, '0')}.jpg`)
    writeFileSync(
      path,
      await sharp(pixels, { raw: { width, height, channels: 3 } })
        .jpeg({ quality: 80 })
        .toBuffer(),
    )
    if (inRange(path)) paths.push(path)
  }
  return paths.slice(0, count)
}

import { createReadStream, type Dirent, readdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import tar from 'tar-stream'
import type { Expected, Verdict } from './verify.js'

const IMAGE_EXT = /\.(jpe?g|png|gif|webp|avif|svg)$/i
/** The outputs of a WebDataset run beside the tars; checked by the tests, not here. */
const SIDE_FILES = /^\d+(\.parquet|_stats\.json)$/

/** An item's name from a sample's URL: its last path segment, without query or image extension. */
function itemName(url: string): string {
  const path = new URL(url).pathname
  return path.slice(path.lastIndexOf('/') + 1).replace(IMAGE_EXT, '')
}

/**
 * `verifyDir` for a folder of WebDataset shards: every image in every `NNNNN.tar`, mapped to its item
 * through the `url` in the sample's `KEY.json` (the image and its JSON are adjacent), checked
 * against the server's bytes. A sample whose JSON does not name an item, a second sample of one
 * item, an image without JSON, and any file but the shards and their `.parquet`/`_stats.json`
 * count as stray. `ignore` skips the tool's own bookkeeping (journal, manifest).
 */
export async function verifyShards(
  dir: string,
  expected: Expected,
  ignore: (rel: string) => boolean = () => false,
  detail = false,
): Promise<Verdict> {
  const v: Verdict = { ok: 0, corrupt: 0, stray: 0, bytes: 0, corruptNames: [], strayNames: [] }
  if (detail) {
    v.okItems = new Set()
    v.corruptItems = []
  }
  const stray = (rel: string) => {
    v.stray++
    if (v.strayNames.length < 5) v.strayNames.push(rel)
  }
  const seen = new Set<string>()
  const check = (rel: string, image: Buffer, url: string) => {
    const name = itemName(url)
    if (!expected.has(name) || seen.has(name)) return stray(rel)
    seen.add(name)
    if (expected.matches(name, image)) {
      v.ok++
      v.bytes += image.length
      v.okItems?.add(name)
    } else {
      v.corrupt++
      v.corruptItems?.push(name)
      if (v.corruptNames.length < 5) v.corruptNames.push(rel)
    }
  }
  const walk = async (folder: string) => {
    let entries: Dirent[]
    try {
      entries = readdirSync(folder, { withFileTypes: true })
    } catch {
      return
    }
    for (const entry of entries) {
      const path = join(folder, entry.name)
      const rel = relative(dir, path)
      if (entry.isDirectory()) await walk(path)
      else if (ignore(rel) || SIDE_FILES.test(rel)) continue
      else if (/^\d+\.tar$/.test(rel)) await checkTar(path, rel)
      else stray(rel)
    }
  }
  const checkTar = async (path: string, rel: string) => {
    const extract = tar.extract()
    createReadStream(path).pipe(extract)
    let image: { name: string; data: Buffer } | undefined
    for await (const entry of extract) {
      const chunks: Buffer[] = []
      for await (const chunk of entry) chunks.push(chunk as Buffer)
      const name = entry.header.name
      const key = name.slice(0, name.indexOf('.'))
      if (name.endsWith('.json')) {
        if (image?.name.startsWith(`${key}.`))
          check(`${rel}:${image.name}`, image.data, JSON.parse(Buffer.concat(chunks).toString()).url)
        image = undefined
      } else if (!name.endsWith('.txt')) {
        if (image) stray(`${rel}:${image.name}`)
        image = { name, data: Buffer.concat(chunks) }
      }
    }
    if (image) stray(`${rel}:${image.name}`)
  }
  await walk(dir)
  return v
}

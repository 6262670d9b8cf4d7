import { createReadStream } from 'node:fs'
import tar from 'tar-stream'
import { type Expected, filesUnder, IMAGE_EXT, type Verdict, verdictOf } from './verify.js'

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
  const { verdict, stray, check: checkItem } = verdictOf(expected, detail)
  const check = (rel: string, image: Buffer, url: string) => checkItem(itemName(url), rel, () => image)
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
  for (const { path, rel } of filesUnder(dir)) {
    if (ignore(rel) || SIDE_FILES.test(rel)) continue
    if (/^\d+\.tar$/.test(rel)) await checkTar(path, rel)
    else stray(rel)
  }
  return verdict
}

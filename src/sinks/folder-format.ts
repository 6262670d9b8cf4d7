import { existsSync } from 'node:fs'
import { readFile, rename, writeFile } from 'node:fs/promises'
import { UsageError } from '../errors.js'
import type { Journal } from '../journal/journal.js'
import type { Layout } from '../layout.js'

/** What an output folder holds, as `OUT/.imgpull/dataset.json` says (written by webdataset runs). */
interface DatasetInfo {
  format: 'webdataset'
  shardSize: number
}

async function readInfo(path: string): Promise<DatasetInfo | undefined> {
  if (!existsSync(path)) return undefined
  try {
    const info = JSON.parse(await readFile(path, 'utf8')) as DatasetInfo
    if (info.format === 'webdataset' && Number.isInteger(info.shardSize)) return info
  } catch {}
  throw new UsageError(`${path} is not what imgpull wrote there: remove it, or use another output folder`)
}

/**
 * Keep one output folder to one kind of output: a sample's shard and key follow from the shard
 * size, and a folder of files and a folder of shards resume differently. A webdataset run records
 * its shard size in `OUT/.imgpull/dataset.json`; a later run with another output format or shard
 * size, or a webdataset run into a folder an earlier files run used, is a `UsageError` before
 * anything is fetched. `hasRecords`: whether the journal knows jobs of earlier runs.
 */
export async function claimFolder(
  paths: Layout,
  format: 'files' | 'webdataset',
  shardSize: number,
  journal: Journal,
): Promise<void> {
  const info = await readInfo(paths.dataset)
  const again = (n: number) => `--output-format webdataset --shard-size ${n}`
  if (format === 'files') {
    if (info)
      throw new UsageError(
        `${paths.out} holds WebDataset shards of ${info.shardSize} samples: run with ${again(info.shardSize)}, or use another output folder`,
      )
    return
  }
  if (info) {
    if (info.shardSize !== shardSize)
      throw new UsageError(
        `${paths.out} holds WebDataset shards of ${info.shardSize} samples, not ${shardSize}: run with --shard-size ${info.shardSize}, or use another output folder`,
      )
    return
  }
  const records = journal.records()[Symbol.iterator]()
  const earlier = !records.next().done
  records.return?.()
  if (earlier)
    throw new UsageError(
      `${paths.out} holds the files of an earlier run (--output-format files): use another output folder for WebDataset shards`,
    )
  const text = `${JSON.stringify({ format: 'webdataset', shardSize } satisfies DatasetInfo)}\n`
  await writeFile(`${paths.dataset}.tmp`, text)
  await rename(`${paths.dataset}.tmp`, paths.dataset)
}

import { rename, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ATTRIBUTION, type Layout, layout } from '../../layout.js'
import { parseSamplePath } from '../../sinks/webdataset/keys.js'
import { Spool } from '../../sinks/webdataset/spool.js'
import { photographer, photoPageUrl, profileUrl, withUtm } from './photo-job.js'
import type { Photo } from './types.js'

/**
 * What a credit drops from the API's text: control characters (a terminal `cat`ting the file acts
 * on ESC and C1 sequences) and the bidirectional embeddings, overrides and isolates (U+202A–U+202E,
 * U+2066–U+2069), which left open show the rest of the line reversed (Unicode TR #36, §2.1). Names
 * in any script, emoji, and the joiners and marks that shape them stay.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is dropped
const UNSHOWN = /[\u0000-\u0008\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g

/** Text safe inside Markdown link text: no emphasis, code or link syntax survives, nor what hides or reorders it. */
export function escapeMarkdown(text: string): string {
  return text
    .replace(UNSHOWN, '')
    .replace(/[\\`*_{}[\]()<>#+!|~]/g, '\\$&')
    .replace(/\s+/g, ' ')
}

/**
 * A relative file link: spaces and other specials escaped, folders kept. A WebDataset sample
 * (`00000.tar/KEY.jpg`) links to its shard, the file a reader can open.
 */
function fileLink(path: string): string {
  const sample = parseSamplePath(path)
  return (sample ? `${sample.stem}.tar` : path)
    .split('/')
    .map((s) => encodeURIComponent(s))
    .join('/')
}

/**
 * Whether the photo's file is in the folder: the file itself, or for a WebDataset sample its
 * staged file or spool entry (before the shard is sealed) or its sealed shard. Those are looked at
 * in the reverse of the order a seal moves them (the tar takes its name before the staged files
 * and the spool go, see shard.ts): a sample not found staged nor spooled is in the tar if anywhere.
 * Looked at the other way, a shard sealed between the looks hid its sample from both (the credits
 * said 7 photos of 8, once, where the first shard was sealed as the run ended).
 */
async function present(
  out: string,
  path: string,
  spools: Map<string, Promise<Map<string, unknown>>>,
): Promise<boolean> {
  const sample = parseSamplePath(path)
  if (!sample) return exists(join(out, path))
  if (await exists(join(layout(out).shards, sample.stem, sample.member))) return true
  // A sample that came whole in memory waits in its shard's spool until the shard is sealed.
  const spool = join(layout(out).shards, `${sample.stem}.spool`)
  if (!spools.has(spool)) spools.set(spool, Spool.list(spool))
  if ((await spools.get(spool)!).has(sample.member)) return true
  return exists(join(out, `${sample.stem}.tar`))
}

const exists = (path: string): Promise<boolean> =>
  stat(path).then(
    () => true,
    () => false,
  )

/**
 * A URL as a Markdown link's destination: its parentheses escaped (`%28`, `%29`), which a URL may
 * hold as they are and which would end the destination there, the rest taken for text and links.
 */
function linkTarget(url: string | undefined): string {
  return (url ?? '').replace(/[()]/g, (c) => (c === '(' ? '%28' : '%29'))
}

/**
 * "Photo by NAME on Unsplash", both linked (profile and photo page, with the API's UTM tags);
 * "Photo on Unsplash" for a photo whose photographer the API left out.
 */
export function creditLine(photo: Photo): string {
  const name = photographer(photo)
  const on = `on [Unsplash](${linkTarget(photoPageUrl(photo))})${photo.premium ? PLUS : ''}`
  if (!name) return `Photo ${on}`
  const profile = profileUrl(photo)
  const by = profile ? `[${escapeMarkdown(name)}](${linkTarget(profile)})` : escapeMarkdown(name)
  return `Photo by ${by} ${on}`
}

/**
 * What an Unsplash+ photo's credit adds: the API lists those among the others (`premium: true`),
 * and a free key gets their files watermarked, under another license (unsplash/unsplash-js#212).
 */
const PLUS =
  ' (Unsplash+: under the Unsplash+ License, not the Unsplash License; without a subscription the file is watermarked)'

export function renderAttribution(files: { path: string; photo: Photo }[]): string {
  const lines = [
    '# Photo credits',
    '',
    `The photos in this folder come from [Unsplash](${withUtm('https://unsplash.com/')}) and may be used under the [Unsplash License](https://unsplash.com/license)${files.some((f) => f.photo.premium) ? ', except the Unsplash+ photos marked below' : ''}. Credit the photographers as below.`,
    '',
  ]
  for (const { path, photo } of files) {
    lines.push(`- [${escapeMarkdown(path)}](${fileLink(path)}): ${creditLine(photo)}`)
  }
  return `${lines.join('\n')}\n`
}

/**
 * Write `ATTRIBUTION.md` (at `paths.attribution`) for every photo file the source put in the
 * output folder that is still there. Atomic: a reader never sees half a file. Returns how many
 * photos it credits; with none, nothing is written.
 */
export async function writeAttribution(
  paths: Pick<Layout, 'out' | 'attribution' | 'tmp'>,
  files: { path: string; photo: Photo }[],
): Promise<number> {
  const kept: typeof files = []
  const spools = new Map<string, Promise<Map<string, unknown>>>()
  for (const f of files) if (await present(paths.out, f.path, spools)) kept.push(f)
  if (kept.length === 0) return 0
  const tmp = paths.tmp(ATTRIBUTION)
  await writeFile(tmp, renderAttribution(kept))
  await rename(tmp, paths.attribution)
  return kept.length
}

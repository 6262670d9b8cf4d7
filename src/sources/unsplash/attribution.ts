import { rename, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ATTRIBUTION, type Layout } from '../../layout.js'
import { photoPageUrl, profileUrl, withUtm } from './photo-job.js'
import type { Photo } from './types.js'

/** Text safe inside Markdown link text: no emphasis, code or link syntax survives. */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()<>#+!|~]/g, '\\$&').replace(/\s+/g, ' ')
}

/** A relative file link: spaces and other specials escaped, folders kept. */
function fileLink(path: string): string {
  return path
    .split('/')
    .map((s) => encodeURIComponent(s))
    .join('/')
}

/** "Photo by NAME on Unsplash", both linked (profile and photo page, with the API's UTM tags). */
export function creditLine(photo: Photo): string {
  const name = escapeMarkdown(photo.user.name || photo.user.username)
  return `Photo by [${name}](${profileUrl(photo)}) on [Unsplash](${photoPageUrl(photo)})`
}

export function renderAttribution(files: { path: string; photo: Photo }[]): string {
  const lines = [
    '# Photo credits',
    '',
    `The photos in this folder come from [Unsplash](${withUtm('https://unsplash.com/')}) and may be used under the [Unsplash License](https://unsplash.com/license). Credit the photographers as below.`,
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
  const present: typeof files = []
  for (const f of files) {
    try {
      await stat(join(paths.out, f.path))
      present.push(f)
    } catch {}
  }
  if (present.length === 0) return 0
  const tmp = paths.tmp(ATTRIBUTION)
  await writeFile(tmp, renderAttribution(present))
  await rename(tmp, paths.attribution)
  return present.length
}

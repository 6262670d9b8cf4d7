import { readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { layout, REPORT } from '../../layout.js'
import { makeFolders } from '../../utils/folders.js'
import { writeOwnFile } from '../../utils/own-file.js'
import { staleTemporary } from '../../utils/processes.js'
import { renameInto } from '../../utils/rename-into.js'
import { renderReport } from './page.js'
import type { RenderOptions, ReportInput } from './types.js'

/** The report's name in the output folder. */
export const REPORT_FILE = REPORT

/**
 * Render the report and write it to `OUT/report.html` atomically: the page is written to a
 * temporary file in `OUT/.imgpull/` (same file system) and renamed over the old one, so a reader
 * sees the old report or the new one, never half of one (a `.imgpull/` on another disk: copied
 * beside it, then renamed, see `renameInto`). Returns the report's path.
 *
 * @throws TypeError for a bad option; the file system's error (`ENOSPC`, `EACCES`...) when the
 * page cannot be written (the temporary file is removed).
 */
export async function writeReport(
  outDir: string,
  input: ReportInput,
  options: RenderOptions = {},
): Promise<string> {
  const html = renderReport(input, options)
  const paths = layout(outDir)
  await makeFolders(paths.work)
  await removeStaleReports(paths.work)
  const tmp = paths.tmp(REPORT)
  const target = paths.report
  try {
    await writeOwnFile(tmp, html)
    await renameInto(tmp, target)
  } catch (error) {
    await rm(tmp, { force: true })
    throw error
  }
  return target
}

/**
 * The report's temporary files that processes of this host left when killed while writing one:
 * `imgpull report` holds no lock (it runs beside a run), so without this only the next pull run
 * removed them. Another process's, still writing, is left alone.
 */
async function removeStaleReports(work: string): Promise<void> {
  for (const name of await readdir(work).catch(() => [] as string[]))
    if (name.startsWith(`${REPORT}.`) && staleTemporary(name))
      await rm(join(work, name), { force: true }).catch(() => {})
}

import { mkdir, rename, rm } from 'node:fs/promises'
import { layout, REPORT } from '../../layout.js'
import { writeOwnFile } from '../../utils/own-file.js'
import { renderReport } from './page.js'
import type { RenderOptions, ReportInput } from './types.js'

/** The report's name in the output folder. */
export const REPORT_FILE = REPORT

/**
 * Render the report and write it to `OUT/report.html` atomically: the page is written to a
 * temporary file in `OUT/.imgpull/` (same file system) and renamed over the old one, so a reader
 * sees the old report or the new one, never half of one. Returns the report's path.
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
  await mkdir(paths.work, { recursive: true })
  const tmp = paths.tmp(REPORT)
  const target = paths.report
  try {
    await writeOwnFile(tmp, html)
    await rename(tmp, target)
  } catch (error) {
    await rm(tmp, { force: true })
    throw error
  }
  return target
}

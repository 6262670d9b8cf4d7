import { RESUME_OVERLAP } from '../../src/fetch/judge.js'

/**
 * The `Range` a resume sends with `onDisk` bytes of the file on disk: it asks again for the last
 * `RESUME_OVERLAP` of them, to compare (see judge.ts).
 */
export const resumeRange = (onDisk: number): string => `bytes=${Math.max(0, onDisk - RESUME_OVERLAP)}-`

/**
 * The paths a body takes to its output, each with its own code for cut and resumed bodies: the
 * main thread's part file, a transfer thread's, and a WebDataset sample held in memory (written
 * to a part file only when cut, for its resume). A fault about bodies is tried on each.
 */
export const BODY_PATHS: Readonly<
  Record<string, { threads?: number; outputFormat?: 'webdataset'; name?: undefined }>
> = {
  'on the main thread': {},
  'on transfer threads': { threads: 2 },
  // Samples are named by their keys: a `name` the tests give the other paths is unset (pull() refuses one).
  'into WebDataset shards': { outputFormat: 'webdataset', name: undefined },
}

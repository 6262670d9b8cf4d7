import { RESUME_OVERLAP } from '../../src/fetch/judge.js'

/**
 * The `Range` a resume sends with `onDisk` bytes of the file on disk: it asks again for the last
 * `RESUME_OVERLAP` of them, to compare (see judge.ts).
 */
export const resumeRange = (onDisk: number): string => `bytes=${Math.max(0, onDisk - RESUME_OVERLAP)}-`

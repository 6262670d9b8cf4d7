/**
 * Where the command's warning lines go (see start.ts): stderr, or, while a run draws a progress
 * line, above it (see `runPull`): a line written under it was half erased by the next redraw.
 */
export const warnings = {
  say: (line: string): void => {
    process.stderr.write(`${line}\n`)
  },
}

import pc from 'picocolors'

/**
 * Whether a stream is a terminal that acts on escape codes: a terminal whose TERM is `dumb` (Emacs'
 * `M-x shell`, Acme's and 9term's windows, a line printer) shows them as they are, so a live
 * progress line that erases and redraws itself is there a wall of `^[[2K^[[1A` (cargo#4832).
 */
export function liveTerminal(env: NodeJS.ProcessEnv, isTTY: boolean | undefined): boolean {
  return isTTY === true && env.TERM !== 'dumb'
}

/** Whether stderr gets a live progress line (see {@link liveTerminal}). */
export const stderrLive = liveTerminal(process.env, process.stderr.isTTY)

/**
 * Whether to colour what goes to one stream. NO_COLOR (present and not empty, as
 * https://no-color.org has said since 2022: an empty one counts as unset) wins;
 * then FORCE_COLOR (any value but `0` or `false`) turns colour on; else only a terminal whose
 * TERM is not `dumb` gets it. picocolors alone decides from stdout and from `CI` being set, so a
 * log of stderr (`2> err.log`, a CI runner) would collect escape codes.
 */
export function wantsColor(env: NodeJS.ProcessEnv, isTTY: boolean | undefined): boolean {
  if (env.NO_COLOR) return false
  const force = env.FORCE_COLOR
  if (force !== undefined) return force !== '0' && force.toLowerCase() !== 'false'
  return liveTerminal(env, isTTY)
}

/** Colours for stderr, where imgpull writes everything meant for people. */
export const stderrColors = pc.createColors(wantsColor(process.env, process.stderr.isTTY))

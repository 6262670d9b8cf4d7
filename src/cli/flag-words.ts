/**
 * The library's hints and messages name its options (`out`, `journal: false`), which a caller of
 * `pull()` gave; the command line names its flags. Each pair: the words of a hint naming an
 * option, and the command line's for them. Said whole (`with \`out\``), so that a name of the
 * user's in a message (a column `out`) is never taken for one.
 */
const OPTION_FLAGS: readonly (readonly [option: string, flag: string])[] = [
  [' with `out`', ' with -o'],
  ['`journal: false`', '--no-journal'],
  ['`report: false`', '--no-report'],
  ['`threads: 0`', '--threads 0'],
  ['`accessKey`', '--access-key'],
  ['`apiUrl`', '--api-url'],
]

/** A library hint or message in the command line's words: its options named as their flags. Pure. */
export function flagWords(text: string): string {
  let said = text
  for (const [option, flag] of OPTION_FLAGS) said = said.replaceAll(option, flag)
  return said
}

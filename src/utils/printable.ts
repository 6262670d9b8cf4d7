/**
 * Text from outside (a line of a list, a server's `Content-Type`) made fit to print to a terminal.
 *
 * A terminal acts on control characters instead of showing them: ESC starts the sequences that
 * move the cursor, clear the screen, set the window title or make a link (OSC 8), and the C1
 * controls U+0080–U+009F do the same alone (U+009B is CSI, U+009D OSC: xterm and VTE act on
 * them in UTF-8); `\r` and `\b` overwrite what was printed. The invisible marks that reorder or
 * hide text (bidirectional overrides and isolates, zero-width characters) show `‮gnp.exe` as
 * `exe.png` (Unicode TR #36, §2.1). A lone UTF-16 surrogate has no UTF-8 form at all.
 */

/** The invisible marks that reorder or hide text, as a character class body: also kept out of file names. */
export const INVISIBLE_MARKS = '\\u200b-\\u200f\\u202a-\\u202e\\u2060\\u2066-\\u2069\\ufeff'

/** A UTF-16 surrogate without its other half (JSON's `"\ud800"` makes one): no UTF-8 encodes it. */
export const LONE_SURROGATE = '[\\ud800-\\udbff](?![\\udc00-\\udfff])|(?<![\\ud800-\\udbff])[\\udc00-\\udfff]'

/** Every character `printable` writes as an escape, as a regular expression's source. */
export const HIDDEN_CHARS = `[\\u0000-\\u001f\\u007f-\\u009f${INVISIBLE_MARKS}]|${LONE_SURROGATE}`

const HIDDEN = new RegExp(HIDDEN_CHARS, 'g')

/**
 * `text` with every control character, invisible mark and lone surrogate written as its escape
 * (`\x1b`, `\u202e`), as JavaScript and Python write them: seen, never acted on.
 */
export function printable(text: string): string {
  return text.replace(HIDDEN, (c) => {
    const code = c.charCodeAt(0)
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, '0')}`
      : `\\u${code.toString(16).padStart(4, '0')}`
  })
}

/** Longest text from a server (a `Content-Type`, a `Location`) a message quotes: a header may run to kilobytes. */
export const QUOTED_CHARS = 160

/** A server's words as a one-line message quotes them: cut to `max` characters (with `…`), then printable. */
export function quoted(text: string, max = QUOTED_CHARS): string {
  if (text.length <= max) return printable(text)
  return printable(`${headOf(text, max - 1)}…`)
}

/**
 * The first `count` UTF-16 units of `text`, one fewer where the cut would fall between the two
 * halves of a pair (an emoji, a CJK Extension B character): the half left alone has no UTF-8 form,
 * and `printable` shows it as `\ud83d`, a character the text never held (pydantic/logfire-js#237,
 * langfuse/langfuse#16172 cut so).
 */
export function headOf(text: string, count: number): string {
  const end =
    /[\ud800-\udbff]/.test(text[count - 1] ?? '') && /[\udc00-\udfff]/.test(text[count] ?? '')
      ? count - 1
      : count
  return text.slice(0, Math.max(end, 0))
}

/** The last `count` UTF-16 units of `text`, one fewer where the cut would split a pair (see `headOf`). */
export function tailOf(text: string, count: number): string {
  if (count <= 0) return ''
  const start = text.length - count
  const split = /[\udc00-\udfff]/.test(text[start] ?? '') && /[\ud800-\udbff]/.test(text[start - 1] ?? '')
  return text.slice(Math.max(split ? start + 1 : start, 0))
}

/** What JSON.stringify and SQLite's json_object leave in strings that a terminal acts on or hides. */
const JSON_HIDDEN = new RegExp(`[\\u007f-\\u009f\\u2028\\u2029${INVISIBLE_MARKS}]`, 'g')

/**
 * A line of JSON with the characters a terminal acts on or hides written as `\u009b` escapes: both
 * serialisers escape C0 controls but leave DEL, C1 and the invisible marks as they are. In valid
 * JSON they occur only inside strings, where the escape parses to the same value: `cat` or
 * `tail -f` of a manifest whose captions came from the web shows them, acts on none.
 */
export function jsonLineForTerminal(line: string): string {
  return line.replace(JSON_HIDDEN, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

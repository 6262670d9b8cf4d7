/**
 * What a terminal shows after some output: a small screen model that understands what imgpull's
 * progress line (log-update) writes: text, CR, LF, cursor up (`ESC[nA`), erase line (`ESC[2K`),
 * cursor to column 1 (`ESC[G`). Colours, cursor visibility and synchronized output are ignored.
 */
export function screen(output: string): string[] {
  const lines: string[] = ['']
  let row = 0
  let col = 0
  const put = (ch: string) => {
    while (lines.length <= row) lines.push('')
    const line = lines[row].padEnd(col)
    lines[row] = line.slice(0, col) + ch + line.slice(col + 1)
    col++
  }
  for (let i = 0; i < output.length; i++) {
    const ch = output[i]
    if (ch === '\x1b') {
      // biome-ignore lint/suspicious/noControlCharactersInRegex: escape sequences are what it reads
      const m = /^\x1b\[([?\d;]*)([A-Za-z])/.exec(output.slice(i))
      if (!m) continue
      i += m[0].length - 1
      const n = Number(m[1] || 1)
      if (m[2] === 'A') row = Math.max(0, row - n)
      else if (m[2] === 'K' && m[1] === '2') lines[row] = ''
      else if (m[2] === 'G') col = 0
    } else if (ch === '\r') col = 0
    else if (ch === '\n') {
      row++
      col = 0
      while (lines.length <= row) lines.push('')
    } else put(ch)
  }
  return lines.map((l) => l.trimEnd()).filter((l) => l !== '')
}

/**
 * What a terminal shows after some output: a small screen model that understands what imgpull's
 * progress line writes (its own, and log-update's while URLs are typed): text, CR, LF, cursor up
 * (`ESC[nA`), erase line (`ESC[2K`, `ESC[K`), cursor to column 1 (`ESC[G`), erase to the end of
 * the screen (`ESC[J`). Colours, cursor visibility and synchronized output are ignored.
 */
export function screen(output: string): string[] {
  // A terminal of no width limit: what is written past a row's end stays on it.
  const terminal = new ReflowTerminal(Number.POSITIVE_INFINITY)
  terminal.write(output)
  return terminal.lines()
}

/**
 * A terminal `cols` wide that wraps what passes its last column onto the next row and re-wraps
 * its rows when made narrower or wider (`resize`), as VTE (GNOME Terminal), Konsole, kitty,
 * iTerm2, Windows Terminal and tmux do: the rows a line was wrapped into are one line again, cut
 * at the new width, and the cursor stays at the character it stood on. It reads what `screen`
 * reads, and `ESC[K` (erase to the end of the row); other escape codes are ignored.
 */
export class ReflowTerminal {
  /** The rows, and for each whether it goes on in the next (wrapped there, not ended by a line feed). */
  #rows: { text: string; wraps: boolean }[] = [{ text: '', wraps: false }]
  #row = 0
  #col = 0

  constructor(public cols: number) {}

  write(output: string): boolean {
    for (let i = 0; i < output.length; i++) {
      const ch = output[i]
      if (ch === '\x1b') {
        // biome-ignore lint/suspicious/noControlCharactersInRegex: escape sequences are what it reads
        const m = /^\x1b\[([?\d;]*)([A-Za-z])/.exec(output.slice(i))
        if (!m) continue
        i += m[0].length - 1
        const n = Number(m[1] || 1)
        const here = this.#at(this.#row)
        if (m[2] === 'A') this.#row = Math.max(0, this.#row - n)
        else if (m[2] === 'G') this.#col = 0
        else if (m[2] === 'K' && m[1] === '2') Object.assign(here, { text: '', wraps: false })
        else if (m[2] === 'K' && m[1] === '')
          Object.assign(here, { text: here.text.slice(0, this.#col), wraps: false })
        else if (m[2] === 'J' && m[1] === '') {
          Object.assign(here, { text: here.text.slice(0, this.#col), wraps: false })
          this.#rows.length = this.#row + 1
        }
      } else if (ch === '\r') this.#col = 0
      else if (ch === '\n') {
        this.#row++
        this.#col = 0
        this.#at(this.#row)
      } else {
        if (this.#col >= this.cols) {
          this.#at(this.#row).wraps = true
          this.#row++
          this.#col = 0
        }
        const row = this.#at(this.#row)
        row.text = row.text.padEnd(this.#col).slice(0, this.#col) + ch + row.text.slice(this.#col + 1)
        this.#col++
      }
    }
    return true
  }

  /** The terminal made `cols` wide: each line that was wrapped is cut again at the new width. */
  resize(cols: number): void {
    const lines: { text: string; cursor?: number }[] = []
    let joining = false
    this.#rows.forEach((row, i) => {
      if (!joining) lines.push({ text: '' })
      const line = lines[lines.length - 1]
      if (i === this.#row) line.cursor = line.text.length + this.#col
      line.text += row.text.padEnd(row.wraps ? this.cols : 0)
      joining = row.wraps
    })
    this.cols = cols
    this.#rows = []
    for (const line of lines) {
      const first = this.#rows.length
      for (let at = 0; at === 0 || at < line.text.length; at += cols)
        this.#rows.push({ text: line.text.slice(at, at + cols), wraps: at + cols < line.text.length })
      if (line.cursor !== undefined) {
        this.#row = first + Math.floor(line.cursor / cols)
        this.#col = line.cursor % cols
      }
    }
  }

  /** The rows shown, trailing spaces and empty rows left out. */
  lines(): string[] {
    return this.#rows.map((r) => r.text.trimEnd()).filter((l) => l !== '')
  }

  #at(row: number) {
    while (this.#rows.length <= row) this.#rows.push({ text: '', wraps: false })
    return this.#rows[row]
  }
}

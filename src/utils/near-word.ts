/**
 * The word of `words` a mistyped `word` most likely meant (`stauts` → `status`), or `undefined`:
 * at most 2 edits away (a letter added, dropped, changed, or two neighbours swapped: optimal string
 * alignment distance), and more alike than not, as commander suggests a near option.
 */
export function nearWord(word: string, words: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = 3
  for (const candidate of words) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase())
    const length = Math.max(word.length, candidate.length)
    if (distance < bestDistance && (length - distance) / length > 0.5) {
      best = candidate
      bestDistance = distance
    }
  }
  return best
}

/** Optimal string alignment distance between `a` and `b`. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i])
  for (let j = 1; j <= b.length; j++) d[0][j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1)
    }
  }
  return d[a.length][b.length]
}

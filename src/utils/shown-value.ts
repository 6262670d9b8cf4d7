/** Longest JSON of an array a message shows whole. */
const SHOWN_ARRAY = 60

/**
 * A value as an option's message shows it: a string in quotes, so that `totalTimeout: '10'` is
 * refused as `got the string "10"`, not as `got 10`, which reads as the number it was meant to be;
 * an array as JSON (`headers: []` said `got ` and nothing after it), cut past 60 characters; another
 * object as `an object`, not `[object Object]`.
 */
export function shownValue(value: unknown): string {
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`
  if (Array.isArray(value)) {
    let json: string | undefined
    try {
      json = JSON.stringify(value)
    } catch {
      // A cycle, a BigInt: said as an array alone.
    }
    if (json === undefined) return 'an array'
    return `the array ${json.length > SHOWN_ARRAY ? `${json.slice(0, SHOWN_ARRAY)}…` : json}`
  }
  if (typeof value === 'object' && value !== null) return 'an object'
  return String(value)
}

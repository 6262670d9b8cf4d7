/**
 * A value as an option's message shows it: a string in quotes, so that `totalTimeout: '10'` is
 * refused as `got the string "10"`, not as `got 10`, which reads as the number it was meant to be.
 */
export function shownValue(value: unknown): string {
  return typeof value === 'string' ? `the string ${JSON.stringify(value)}` : String(value)
}

/**
 * `true` where `Names` lists every key of `T`, else `never`: `const _: EveryKey<T, typeof NAMES> =
 * true` compiles only while a list of an options type's keys is whole, so a new option is never
 * refused as unknown.
 */
export type EveryKey<T, Names extends readonly PropertyKey[]> = [Exclude<keyof T, Names[number]>] extends [
  never,
]
  ? true
  : never

/**
 * Throw a `TypeError` for the first key of `given` not in `names` (`what`: `table option`): a
 * misspelt option (`captionColumn`) is refused, where it was ignored without a word.
 */
export function refuseUnknownKeys(given: object, names: readonly string[], what: string): void {
  for (const key of Object.keys(given))
    if (!names.includes(key))
      throw new TypeError(`Unknown ${what} \`${key}\`; the ${what}s are: ${names.join(', ')}`)
}

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
  const hidden = hiddenEntries(given)
  if (hidden !== undefined) throw new TypeError(`Expected the ${what}s to be a plain object, got ${hidden}`)
  for (const key of Object.keys(given))
    if (!names.includes(key))
      throw new TypeError(`Unknown ${what} \`${key}\`; the ${what}s are: ${names.join(', ')}`)
}

/**
 * How `value` holds entries that `Object.keys` and a spread do not see, as the message words it;
 * `undefined` for an object whose entries are its own properties. A `Headers` or a `Map` (fetch's
 * and undici's own headers, `new Headers(req.headers)`) keeps its entries inside, and was read as
 * `{}`: its headers went unsent, its options left at their defaults (a `Map` of options wrote into
 * the working folder), without a word (developit/unfetch#124, RedHatInsights/insights-chrome#2461);
 * so was a key inherited from a prototype (`Object.create(shared)`), which a spread drops.
 */
export function hiddenEntries(value: object): string | undefined {
  if (Symbol.iterator in value && !Array.isArray(value)) {
    const kind = value.constructor?.name
    return `${kind ? `a ${kind} object` : 'an iterable'}: give Object.fromEntries(it)`
  }
  // A plain object's prototype is Object.prototype, whose own prototype is null: keys a library
  // added there are every object's, not this one's.
  const prototype = Object.getPrototypeOf(value)
  if (prototype === null || Object.getPrototypeOf(prototype) === null) return undefined
  for (const key in value)
    if (!Object.hasOwn(value, key))
      return `one whose \`${key}\` is inherited from its prototype: give each as its own property`
  return undefined
}

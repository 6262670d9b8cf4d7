import { fileURLToPath } from 'node:url'

/** A path option's value once its `file:` URLs are paths. */
export type PathOf<V> = V extends URL
  ? never
  : V extends readonly (infer E)[]
    ? readonly Exclude<E, URL>[]
    : V

/**
 * The path a path option names: a `file:` URL, an object (`new URL('./photos/', import.meta.url)`)
 * or its href (`import.meta.resolve`), taken as the path it is, as Node's `fs` takes a URL object
 * (motdotla/dotenv#720); anything else as it is given. An href was a path relative to the working
 * folder, the files written under `./file:/…`; a URL object a `TypeError` saying only "an object".
 * A URL of another scheme, or a `file:` URL of another host, is a `TypeError` naming the option.
 */
export function filePath<V>(key: string, value: V): PathOf<V> {
  if (Array.isArray(value)) return value.map((item) => filePath(key, item)) as PathOf<V>
  const href =
    value instanceof URL
      ? value.href
      : typeof value === 'string' && /^file:\/\//i.test(value)
        ? value
        : undefined
  if (href === undefined) return value as PathOf<V>
  try {
    return fileURLToPath(href) as PathOf<V>
  } catch (error) {
    throw new TypeError(
      `Expected \`${key}\` to be a path or a file: URL of this machine, got the URL ${href} (${(error as Error).message})`,
    )
  }
}

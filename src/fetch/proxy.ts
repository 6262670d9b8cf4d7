/** Placeholder replaced below. */
export function proxyUrl(value: string): URL {
  return new URL(value)
}

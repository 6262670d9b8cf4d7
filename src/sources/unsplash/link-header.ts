/** RFC 8288 `Link` header → `{ rel: url }`: `<https://…?page=2>; rel="next", <…>; rel="last"`. */
export function parseLink(value: string | string[] | undefined): Record<string, string> {
  const text = Array.isArray(value) ? value.join(',') : (value ?? '')
  const links: Record<string, string> = {}
  for (const m of text.matchAll(/<([^>]*)>\s*((?:;\s*[^;,]+)*)/g)) {
    const rel = /;\s*rel\s*=\s*"?([^";,]+)"?/i.exec(m[2])
    if (!rel) continue
    for (const name of rel[1].trim().split(/\s+/)) links[name.toLowerCase()] = m[1]
  }
  return links
}

/** The `page` a link points to, if it names one. */
export function pageOf(url: string | undefined): number | undefined {
  if (!url) return undefined
  try {
    const page = Number(new URL(url, 'http://x').searchParams.get('page'))
    return Number.isInteger(page) && page > 0 ? page : undefined
  } catch {
    return undefined
  }
}

import { domainToUnicode } from 'node:url'
import { redactHeader } from '../../utils/command-line.js'
import { maskSigning, withoutUserInfo } from '../../utils/url.js'

/**
 * Everything shown comes from the network or the file system (a URL can hold `<script>`, a file
 * name a quote), so every value goes through one of these on its way into the page.
 */

const HTML: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/** Text for an element's content or a quoted attribute value. */
export function esc(value: string | number): string {
  return String(value).replace(/[&<>"']/g, (c) => HTML[c])
}

/**
 * JSON to embed in `<script type="application/json">`: `<` is written `\u003c`, so no `</script>`
 * or `<!--` can end or change the element; U+2028 and U+2029 (line breaks to older JavaScript) and
 * `>` and `&` are escaped too. `JSON.parse` of the element's text gives the value back.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  )
}

/** An absolute http(s) address fit for a link, or `undefined` (`javascript:`, `data:`, relative...). */
export function httpHref(url: string | undefined): string | undefined {
  if (!url) return undefined
  try {
    const u = new URL(url)
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : undefined
  } catch {
    return undefined
  }
}

/**
 * A link to a file of the output folder from `report.html`, which sits at its top: each segment
 * percent-encoded (`#`, `?`, `%` and spaces are legal in file names), so no path can become a
 * scheme, a query or a fragment. Leading slashes are dropped: the path stays relative.
 */
export function fileHref(path: string): string {
  return path
    .replace(/^\/+/, '')
    .split('/')
    .map((segment) => encodeURIComponent(segment))
    .join('/')
}

/**
 * The command line as shown: what `commandLine` takes out is taken out again here, for commands a
 * journal kept before it did (`--access-key`, secret `-H` headers, credentials in URLs), and the
 * values of a signed URL's signing parameters given as arguments (the journal keeps those).
 */
export function redactCommand(command: string): string {
  return maskSigning(
    withoutUserInfo(
      command
        .replace(/(--access-key(?:=|\s+))("[^"]*"|'[^']*'|\S+)/g, '$1***')
        // `'-HName: v'` and `'--header=Name: v'`, quoted whole, as commandLine writes them.
        .replace(
          /'(-H|--header=)([^']*)'/g,
          (_, option: string, header: string) => `'${option}${redactHeader(header)}'`,
        )
        .replace(/((?:-H|--header)(?:=|\s+)?)('[^']*'|"[^"]*"|\S+)/g, (_, option: string, word: string) => {
          const quote = /^['"]/.test(word) ? word[0] : ''
          return `${option}${quote}${redactHeader(quote ? word.slice(1, -1) : word)}${quote}`
        }),
    ),
  )
}

/**
 * An origin as people read it: an internationalised host in its own script (`https://例え.jp`),
 * not as its ASCII form (`https://xn--r8jz45g.jp`), which the URL parser gives and the examples
 * beside it, as listed, do not show. A label that mixes scripts a reader could not tell apart
 * (`xn--pple-43d`: a Cyrillic а among Latin letters, which reads as apple) stays in its ASCII form,
 * as browsers keep it (see `mixesScripts`). Anything that does not parse is returned as it is.
 */
export function readableOrigin(origin: string): string {
  if (!origin.includes('xn--')) return origin
  try {
    const url = new URL(origin)
    const labels = url.hostname.split('.').map((label) => {
      if (!label.startsWith('xn--')) return label
      const shown = domainToUnicode(label)
      return shown && !mixesScripts(shown) ? shown : label
    })
    return `${url.protocol}//${labels.join('.')}${url.port ? `:${url.port}` : ''}`
  } catch {
    return origin
  }
}

/** Scripts told apart in a label; a letter of any other is its own (see `mixesScripts`). */
const SCRIPTS = [
  'Latin',
  'Cyrillic',
  'Greek',
  'Armenian',
  'Georgian',
  'Hebrew',
  'Arabic',
  'Han',
  'Hiragana',
  'Katakana',
  'Bopomofo',
  'Hangul',
  'Thai',
  'Devanagari',
  'Bengali',
  'Tamil',
].map((name) => ({ name, test: new RegExp(`\\p{Script=${name}}`, 'u') }))

/** Mixes of scripts one language writes in: Japanese, Chinese, Korean with Latin (UTS #39 §5.2). */
const ALLOWED_MIXES: readonly ReadonlySet<string>[] = [
  new Set(['Latin', 'Han', 'Hiragana', 'Katakana']),
  new Set(['Latin', 'Han', 'Bopomofo']),
  new Set(['Latin', 'Han', 'Hangul']),
]

/**
 * Whether a domain label's letters come from scripts no single language mixes (UTS #39's
 * "moderately restrictive" level without its Latin + one-other allowance, as Chromium's IDN spoof
 * checker refuses Latin mixed with Cyrillic or Greek). Digits, hyphens and marks belong to every
 * script. Pure.
 */
export function mixesScripts(label: string): boolean {
  const seen = new Set<string>()
  for (const char of label) {
    if (!/\p{L}/u.test(char)) continue
    seen.add(SCRIPTS.find((script) => script.test.test(char))?.name ?? `other:${char}`)
  }
  if (seen.size <= 1) return false
  return !ALLOWED_MIXES.some((mix) => [...seen].every((script) => mix.has(script)))
}

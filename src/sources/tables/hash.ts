import type { HashType } from './options.js'
import { hexHead, strictUtf8 } from './values.js'

/** A hash the downloaded body must have; `value` is lowercase hex. */
export interface ExpectedHash {
  type: HashType
  value: string
}

/** Bytes of each digest. */
export const DIGEST_BYTES: Record<HashType, number> = { sha256: 32, md5: 16 }
const PREFIX = /^(sha256|md5)[:-]/i
const HEX = /^[0-9a-f]+$/i
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/

/**
 * What exports write for a missing value in a text cell: MySQL's, PostgreSQL's and Hive's `\N`, R's
 * `NA`, pandas' `nan`/`None` (`astype(str)`), spreadsheets' `#N/A`. pandas reads them as missing;
 * none can be a digest, so a hash cell holding one is no hash, not a row refused.
 */
export const NULL_MARKERS: ReadonlySet<string> = new Set([
  '\\N',
  'NULL',
  'null',
  'NaN',
  'nan',
  'None',
  'NA',
  'N/A',
  'n/a',
  '<NA>',
  '#N/A',
])

const shown = (text: string) => JSON.stringify(text.length > 80 ? `${text.slice(0, 77)}...` : text)

/**
 * The expected hash in a table cell, normalised to lowercase hex. Accepted: hex (any case), base64
 * or base64url (padded or not), either optionally prefixed `sha256:`/`md5:` or in the Subresource
 * Integrity form `sha256-BASE64` (W3C SRI), and raw digest bytes (a Parquet binary cell of
 * exactly the digest's length; other binary cells are read as UTF-8 text).
 * An empty or null cell, or one holding a null marker (`\N`, `NA`, `NULL`, `nan`...), gives
 * `undefined` (no check for that row); anything else that is not a
 * digest of `type` gives `{ problem }`, a one-line reason, so the row can fail as `invalid-hash`.
 */
export function parseExpectedHash(
  cell: unknown,
  type: HashType,
): ExpectedHash | { problem: string } | undefined {
  if (cell === null || cell === undefined) return undefined
  const bytes = DIGEST_BYTES[type]
  if (cell instanceof Uint8Array && cell.length === bytes)
    return { type, value: Buffer.from(cell).toString('hex') }
  // Other bytes are text stored as binary (a Parquet column without a string annotation), when
  // they are text: well-formed UTF-8 without control characters.
  const given = cell instanceof Uint8Array ? binaryText(cell) : String(cell)
  if (given === undefined) return { problem: binaryProblem(cell as Uint8Array, type) }
  const text = given.trim()
  if (text === '' || NULL_MARKERS.has(text)) return undefined
  let digest = text
  const prefix = PREFIX.exec(text)
  if (prefix) {
    if (prefix[1].toLowerCase() !== type)
      return { problem: `${shown(text)} is ${an(prefix[1].toLowerCase())} hash, not ${type}` }
    digest = text.slice(prefix[0].length)
  }
  if (digest.length === bytes * 2 && HEX.test(digest)) return { type, value: digest.toLowerCase() }
  const unpadded = digest.replace(/=+$/, '')
  if (unpadded.length === Math.ceil((bytes * 4) / 3) && BASE64.test(digest)) {
    const decoded = Buffer.from(unpadded, 'base64')
    if (decoded.length === bytes) return { type, value: decoded.toString('hex') }
  }
  return {
    problem: `${shown(text)} is not ${an(type)} (${bytes * 2} hex digits or base64 of ${bytes} bytes)${otherType(digest, type)}`,
  }
}

/** A binary cell's bytes as text, or `undefined` where they are not (bad UTF-8, a control character). */
function binaryText(cell: Uint8Array): string | undefined {
  let text: string
  try {
    text = strictUtf8.decode(cell)
  } catch {
    return undefined
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is looked for
  return /[\u0000-\u0008\u000e-\u001f\u007f]/.test(text) ? undefined : text
}

/**
 * Why a binary cell that is neither text nor a digest's bytes is no digest of `type`: its length and
 * its bytes in hex (shown as text they were U+FFFD and control characters: hardwood-hq/hardwood#1012
 * shows such bytes as hex for the same reason), and the `--hash-type` whose digest is that long.
 */
function binaryProblem(cell: Uint8Array, type: HashType): string {
  const other = (Object.entries(DIGEST_BYTES) as [HashType, number][]).find(
    ([name, length]) => name !== type && length === cell.length,
  )?.[0]
  const hint = other ? `: it is as long as ${an(other)} (give --hash-type ${other})` : ''
  return `a binary cell of ${cell.length} bytes (hex ${hexHead(cell)}) is neither text nor ${an(type)} (${DIGEST_BYTES[type]} bytes)${hint}`
}

const an = (type: string) => `${type === 'md5' ? 'an' : 'a'} ${type}`

/**
 * `: it is as long as a sha256 (give --hash-type sha256)` where the digest is one of the other
 * type: the column holds that kind, and the option, not every row, is what to mend.
 */
function otherType(digest: string, type: HashType): string {
  for (const [other, bytes] of Object.entries(DIGEST_BYTES) as [HashType, number][]) {
    if (other === type) continue
    const unpadded = digest.replace(/=+$/, '')
    const fits =
      (digest.length === bytes * 2 && HEX.test(digest)) ||
      (unpadded.length === Math.ceil((bytes * 4) / 3) && BASE64.test(digest))
    if (fits) return `: it is as long as ${an(other)} (give --hash-type ${other})`
  }
  return ''
}

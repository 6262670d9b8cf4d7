/**
 * Checksums a server states of the file it sends, read from the answer's headers: the one place
 * that knows which header covers what. Pure, table-tested (test/stated-digest.test.ts);
 * `verify-step.ts` compares the file with what this returns.
 *
 * Headers, and what each digest covers:
 * - `Repr-Digest` (RFC 9530 §3: `sha-256=:BASE64:`, a structured dictionary) and `Digest` (RFC
 *   3230 §4.3.2: `SHA-256=BASE64`), of the selected representation: the whole file, whatever
 *   part a 206 carries, as long as no content coding was applied.
 * - `Content-Digest` (RFC 9530 §2) and `Content-MD5` (RFC 1864), of the message content: the file
 *   only when one 200 carried all of it.
 * - `x-goog-hash: crc32c=…, md5=…` (Google Cloud Storage), of the stored object: the file unless
 *   the object is stored compressed (`x-goog-stored-content-encoding`), which GCS then either
 *   sends encoded or decompresses on the way ("decompressive transcoding"), so the hash is not of
 *   the bytes that arrive. crc32c is not checked (Node has no CRC-32C).
 * An answer with a content coding (a `Content-Encoding` imgpull decoded) has digests of its encoded
 * bytes, not of the file: `encodedDigests` gives those, checked against the bytes as they came
 * (Brotli and raw deflate carry no checksum of their own: this is their only guard). Transfer
 * codings alone (`Transfer-Encoding: gzip`) are undone before the content those headers cover
 * (RFC 9112 §7, RFC 9530 §2): the file's digests as for any answer. Not checked: an answer an edge
 * says it made anew (`cf-polished`, `Warning: 214`), GCS's hash of an object whose stored size
 * (`x-goog-stored-content-length`) is not the body's. A malformed value is ignored, not held
 * against the file.
 */

/** A digest algorithm as Node's `crypto.createHash` names it. */
export type DigestAlgorithm = 'sha256' | 'sha512' | 'sha1' | 'md5'

export interface StatedDigest {
  algorithm: DigestAlgorithm
  /** The digest's bytes, lowercase hex. */
  hex: string
  /** The header that stated it, for messages. */
  header: string
}

/** Algorithm names of the headers (RFC 9530 §7.2 registry, RFC 3230 §4.1), lower-cased. */
const ALGORITHMS: Record<string, DigestAlgorithm> = {
  'sha-256': 'sha256',
  'sha-512': 'sha512',
  sha: 'sha1',
  md5: 'md5',
}

/** Preferred first: sha-256 is the one imgpull already computes; then the stronger, then the rest. */
const PREFERENCE: DigestAlgorithm[] = ['sha256', 'sha512', 'md5', 'sha1']

const BYTES: Record<DigestAlgorithm, number> = { sha256: 32, sha512: 64, sha1: 20, md5: 16 }

type Headers = Record<string, string | string[] | undefined>

/**
 * The digests in `headers` that cover the whole file, best first (see the module's comment).
 * `whole`: this one answer carried the whole file (a 200, or a 206 from byte 0 to its end);
 * `encoded`: the body had a content coding that was decoded (a transfer coding alone is not one);
 * `bytes`: the file's size, when known.
 */
export function statedDigests(
  headers: Headers,
  whole: boolean,
  encoded: boolean,
  bytes?: number,
): StatedDigest[] {
  // The file is not the bytes the digests were made of: encoded ones (see `encodedDigests`).
  if (encoded || madeAnew(headers)) return []
  return digests(headers, whole, true, bytes)
}

/** The fields that state a digest of what an answer carried (see `digests`), lower-case. */
const DIGEST_FIELDS = ['repr-digest', 'digest', 'content-digest', 'content-md5', 'x-goog-hash'] as const

/**
 * An answer's `headers` with the digests its trailer section (`trailers`, a chunked body's, or
 * an HTTP/2 stream's last HEADERS) states in place of the head's own, for `statedDigests`;
 * `undefined` when the trailers state none. RFC 9530 §2-3 name trailers as a place for
 * `Content-Digest` and `Repr-Digest` (a server that streams a body knows its digest only once
 * it is sent), RFC 2616 §14.15 for `Content-MD5`. Every other field is the head's: what it says
 * of codings and edges (`cf-polished`) rules the trailer's digests too.
 */
export function trailerDigests(headers: Headers, trailers: Headers | undefined): Headers | undefined {
  if (!trailers || !DIGEST_FIELDS.some((name) => trailers[name] !== undefined)) return undefined
  const merged: Headers = { ...headers }
  for (const name of DIGEST_FIELDS) merged[name] = trailers[name]
  return merged
}

/**
 * The digests in `headers` of a content-coded body's encoded bytes, as they came (RFC 9530: a
 * representation's and a message's content include its content coding; RFC 1864's Content-MD5
 * too), best first: `whole`, the one answer carried all of them. Only for a body with no transfer
 * coding on top (whose bytes as they came are then those encoded bytes). GCS's `x-goog-hash` is
 * left out (stored encoded and sent decoded, or not, its hash says nothing clear of these bytes).
 */
export function encodedDigests(headers: Headers, whole: boolean): StatedDigest[] {
  return madeAnew(headers) ? [] : digests(headers, whole, false)
}

/**
 * The algorithms a content-coded body's encoded bytes are hashed by as they come, for digests its
 * trailer section may state of them (see `trailerDigests`, `encodedDigests`): those bytes are not
 * kept, so a digest by another algorithm cannot be compared. sha-256 always (RFC 9530's servers
 * use it; about 1 ms a MB); sha-512 where the head's `Trailer` field (RFC 9110 §6.6.2) announces a
 * `Repr-Digest` or `Content-Digest`; md5 and sha-1 too where it announces `Digest` (RFC 3230's
 * usual ones); md5 where it announces `Content-MD5`. Deduplicated, in that order.
 */
export function trailerAlgorithms(headers: Headers): DigestAlgorithm[] {
  const announced = new Set(
    (joined(headers.trailer) ?? '')
      .split(',')
      .map((name) => name.trim().toLowerCase())
      .filter((name) => name !== ''),
  )
  const algorithms = new Set<DigestAlgorithm>(['sha256'])
  if (announced.has('repr-digest') || announced.has('content-digest') || announced.has('digest'))
    algorithms.add('sha512')
  if (announced.has('digest')) {
    algorithms.add('md5')
    algorithms.add('sha1')
  }
  if (announced.has('content-md5')) algorithms.add('md5')
  return [...algorithms]
}

/** An edge says it made the body anew (Cloudflare Polish's `cf-polished`; `Warning: 214 Transformation Applied`, RFC 7234). */
const madeAnew = (headers: Headers): boolean =>
  headers['cf-polished'] !== undefined || /\b214\b/.test(joined(headers.warning) ?? '')

function digests(headers: Headers, whole: boolean, storage: boolean, bytes?: number): StatedDigest[] {
  const found: StatedDigest[] = []
  const add = (header: string, name: string, base64: string) => {
    const algorithm = ALGORITHMS[name.trim().toLowerCase()]
    const hex = algorithm && fromBase64(base64.trim(), BYTES[algorithm])
    if (algorithm && hex) found.push({ algorithm, hex, header })
  }
  for (const [name, value] of dictionary(headers['repr-digest']))
    add('Repr-Digest', name, byteSequence(value))
  for (const [name, value] of dictionary(headers.digest)) add('Digest', name, value)
  const storedEncoding = joined(headers['x-goog-stored-content-encoding'])?.trim().toLowerCase()
  const storedLength = Number(joined(headers['x-goog-stored-content-length']) ?? Number.NaN)
  const asStored = !(bytes !== undefined && Number.isInteger(storedLength) && storedLength !== bytes)
  if (storage && (storedEncoding === undefined || storedEncoding === 'identity') && asStored) {
    for (const [name, value] of dictionary(headers['x-goog-hash'])) add('x-goog-hash', name, value)
  }
  if (whole) {
    for (const [name, value] of dictionary(headers['content-digest'])) {
      add('Content-Digest', name, byteSequence(value))
    }
    const md5 = joined(headers['content-md5'])
    if (md5 !== undefined) add('Content-MD5', 'md5', md5)
  }
  return found.sort((a, b) => PREFERENCE.indexOf(a.algorithm) - PREFERENCE.indexOf(b.algorithm))
}

function joined(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value
}

/** `a=1, b=2` (also over several header lines) as [name, value] pairs; a member without `=` is skipped. */
function dictionary(value: string | string[] | undefined): [string, string][] {
  const text = joined(value)
  if (text === undefined) return []
  return text.split(',').flatMap((member): [string, string][] => {
    // Parameters (`;k=v`) of a structured field member are not part of the value.
    const at = member.indexOf('=')
    return at > 0 ? [[member.slice(0, at), member.slice(at + 1).split(';')[0]]] : []
  })
}

/** A structured-field byte sequence `:BASE64:` (RFC 8941 §3.3.5) as its base64; '' when it is not one. */
function byteSequence(value: string): string {
  const v = value.trim()
  return v.length >= 2 && v.startsWith(':') && v.endsWith(':') ? v.slice(1, -1) : ''
}

/** Strict base64 of exactly `bytes` bytes, as hex; `undefined` when it is not that. */
function fromBase64(text: string, bytes: number): string | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || text.length % 4 !== 0) return undefined
  const decoded = Buffer.from(text, 'base64')
  return decoded.length === bytes ? decoded.toString('hex') : undefined
}

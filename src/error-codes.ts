import { UNASKED_STATUSES } from './fetch/unasked-status.js'

/**
 * The failure codes of a job: a contract (results, the manifest, `--json`, dataset metadata),
 * documented in the README's table, which a test keeps in step with this one. `rerun`: whether a
 * plain rerun tries a job that failed so again (a passing cause) or skips it (a permanent one,
 * until `--retry-failed`).
 */
export const ERROR_CODES = {
  'invalid-url': {
    rerun: false,
    meaning:
      'the input is not an http(s) URL, or its host, under a top-level name that exists nowhere (.example, .invalid: RFC 2606), did not resolve',
  },
  'invalid-row': {
    rerun: false,
    meaning: "a table's row is malformed (not JSON, more fields than its header)",
  },
  'invalid-hash': { rerun: false, meaning: "a table's hash cell is not a digest of the --hash-type" },
  'hash-mismatch': { rerun: false, meaning: 'the body does not have the hash the table gives for it' },
  'digest-mismatch': {
    rerun: true,
    meaning:
      'the body does not have the checksum its server states (Repr-Digest, Content-MD5, x-goog-hash), or an encoded body decodes to bytes its gzip CRC-32, zlib Adler-32 or zstd checksum does not match: changed on the way',
  },
  dns: {
    rerun: true,
    meaning: 'the host name does not resolve (but for one under .example or .invalid: invalid-url)',
  },
  network: { rerun: true, meaning: 'the connection failed or was cut (refused, reset)' },
  proxy: {
    rerun: true,
    meaning:
      'the proxy could not be reached, asked for credentials (407), would not open a tunnel (a SOCKS5 proxy: refused the credentials, or could not reach the host), or wrote a 4xx to an http:// URL itself (a web server or a CONNECT-only proxy given as the proxy)',
  },
  tls: {
    // Not retried within a run (every attempt fails alike), but a rerun tries again: the cure is
    // usually on this side (--ca-cert, NODE_EXTRA_CA_CERTS) or a renewed certificate.
    rerun: true,
    meaning:
      "the server's certificate cannot be trusted (self-signed, unknown CA, expired, other host), or the TLS handshake failed",
  },
  timeout: { rerun: true, meaning: 'connect, headers, idle (a stalled body) or total timeout' },
  truncated: {
    rerun: true,
    meaning:
      'the body ended before the file did: short of its length, structurally incomplete, ended unmarked before it could be identified, or a format whose end its bytes do not show on a body nothing marked the end of',
  },
  corrupt: {
    rerun: false,
    meaning:
      "the file's structure contradicts itself (segments or boxes that do not fit), or its checksum is not the one its server states (Repr-Digest, Content-MD5, x-goog-hash)",
  },
  'hash-failed': {
    rerun: true,
    meaning: 'the thread hashing large bodies stopped; the file is fetched again',
  },
  'bad-range': {
    rerun: true,
    meaning: "the server's partial answers cannot be put together into one version of the file",
  },
  'empty-body': {
    rerun: true,
    meaning:
      'the answer was a success with no body at all, or one whose Content-Encoding decodes to nothing: most often a passing fault (a cache or CDN edge that served an empty object for a moment), so it is retried',
  },
  'not-an-image': {
    rerun: false,
    meaning: 'the body is not an image of a known format (an HTML page served with 200...)',
  },
  'unsupported-encoding': {
    rerun: false,
    meaning:
      'the server applied a Content-Encoding imgpull cannot decode (zstd before Node 22.15, or an unknown one)',
  },
  'too-large': { rerun: false, meaning: 'the file is larger than --max-size' },
  'redirect-loop': {
    rerun: false,
    meaning:
      'a redirect would send the same request (URL and cookies) a fourth time (one whose 3xx still names a Retry-After is an http-503)',
  },
  'too-many-redirects': { rerun: false, meaning: 'more redirects than --max-redirects' },
  'bad-redirect': {
    rerun: false,
    meaning:
      'a redirect to something other than http(s), to no valid URL, or to a host under .example or .invalid that did not resolve',
  },
  'robots-tag': {
    rerun: false,
    meaning: 'the server asks AI tools not to use the image (X-Robots-Tag: noai or noimageai)',
  },
  'too-small': { rerun: false, meaning: 'refused by --min-size: a side is smaller' },
  'bad-aspect-ratio': { rerun: false, meaning: 'refused by --max-aspect-ratio' },
  'too-many-pixels': {
    rerun: false,
    meaning:
      "refused by --max-pixels, the image or the output it would make (also the decoder's guard against decompression bombs), or an output with a side longer than its format holds",
  },
  undecodable: {
    rerun: false,
    meaning: 'the image cannot be decoded (damaged pixel data, or a format the decoder cannot read)',
  },
  'bad-name': {
    rerun: true,
    meaning:
      'the file system refuses the file name (too long for it even shortened, characters it does not take); a rerun with another --name saves it',
  },
  'transform-failed': {
    rerun: true,
    meaning: 'resizing or re-encoding this image crashed, hung or could not be written',
  },
} as const

/**
 * The input's own failures: no request is made for them (a placeholder host, `images.example`, is
 * looked up, never asked: see `notFoundCode`), and every run that reads the line or row fails it
 * again, `--retry-failed` or not, until the list or table is mended.
 */
export const INPUT_ERRORS: ReadonlySet<string> = new Set(['invalid-url', 'invalid-row', 'invalid-hash'])

/**
 * Of the input's own failures, those decided from a row's cells and the table options alone,
 * before any request (a line that does not parse, a hash cell that is no digest of `--hash-type`):
 * a row that no longer gives one was mended (its cell corrected, or `--hash-col` naming the right
 * column), so an earlier run's such failure does not hold for it. `invalid-url` is not among them:
 * a URL that parses but names a placeholder host (`images.example`) fails at its lookup, and a
 * row whose URL cell was mended holds another URL, fetched as new anyway.
 */
export const ROW_ERRORS: ReadonlySet<string> = new Set(['invalid-row', 'invalid-hash'])

/** Failure codes of `http-NNN` form: any HTTP status that is not a success. */
export type HttpErrorCode = `http-${number}`

/** The status of an `http-NNN` failure code (`http-404` → 404); `undefined` for any other code. */
export function httpStatusOf(code: string): number | undefined {
  const status = /^http-(\d{3})$/.exec(code)
  return status ? Number(status[1]) : undefined
}

/** Every failure code a result may carry. */
export type ErrorCode = keyof typeof ERROR_CODES | HttpErrorCode

/** HTTP statuses whose failure a rerun tries again: the server's passing trouble, not a verdict on the URL. */
export function httpRerun(status: number): boolean {
  // A 304, 412 or 416 answers what imgpull does not ask (see `unaskedStatus`): a slip, retried.
  return (
    status >= 500 ||
    status === 202 ||
    status === 408 ||
    status === 425 ||
    status === 429 ||
    UNASKED_STATUSES.has(status)
  )
}

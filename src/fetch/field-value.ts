/**
 * Whether `value` (a header value as undici gives it: one Latin-1 character per byte) can go out
 * as a request's header value as it is. RFC 9110 §5.5: a field value is visible characters,
 * obs-text (bytes 0x80-0xFF) and spaces or tabs between them; no other control character (NUL,
 * CR, LF, DEL...). undici refuses to send any other (`invalid if-range header`,
 * `UND_ERR_INVALID_ARG`: its `headerCharRegex`), while the llhttp leniency that reads the answers
 * curl reads (see `LENIENCIES` in undici-h1-parser.ts) passes them in an answer's. A value an answer gives
 * and a request sends back (an ETag in `If-Range`, a cookie, a Digest nonce) is checked with this
 * first: one that failed it failed every request that carried it, as a `network` error. Pure.
 */
export const fitsRequest = (value: string): boolean => !NOT_FIELD_VALUE.test(value)

/** A character no request's header value may carry (undici's `headerCharRegex`). */
const NOT_FIELD_VALUE = /[^\t\x20-\x7e\x80-\xff]/

/**
 * Why a request header of the user's own (`-H`, `headers`) cannot be given, or `undefined` when
 * it can: `range` and `if-range` are imgpull's, to resume a file cut off (one of one's own made a
 * `206` of 100 bytes the kept file, and every retry's resume range fought it); `transfer-encoding`,
 * `content-length`, `expect`, `upgrade` and `keep-alive` describe a request body or the connection,
 * which the HTTP client sets itself (undici refuses them: every file failed as a `network` error
 * after its retries, `invalid transfer-encoding header`, `expect header not supported`). `name` in
 * any case. Pure.
 */
export function reservedHeader(name: string): string | undefined {
  const lower = name.toLowerCase()
  if (lower === 'range' || lower === 'if-range')
    return 'imgpull asks for ranges itself, to resume a file cut off; one of your own would keep a part of a file as the whole'
  if (['transfer-encoding', 'content-length', 'expect', 'upgrade', 'keep-alive'].includes(lower))
    return 'the HTTP client sets it itself (a GET has no body, and connections are its own); no request can carry one given'
  return undefined
}

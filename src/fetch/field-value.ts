/**
 * Whether `value` (a header value as undici gives it: one Latin-1 character per byte) can go out
 * as a request's header value as it is. RFC 9110 §5.5: a field value is visible characters,
 * obs-text (bytes 0x80-0xFF) and spaces or tabs between them; no other control character (NUL,
 * CR, LF, DEL...). undici refuses to send any other (`invalid if-range header`,
 * `UND_ERR_INVALID_ARG`: its `headerCharRegex`), while the llhttp leniency that reads the answers
 * curl reads (see `LENIENCIES` in undici.ts) passes them in an answer's. A value an answer gives
 * and a request sends back (an ETag in `If-Range`, a cookie, a Digest nonce) is checked with this
 * first: one that failed it failed every request that carried it, as a `network` error. Pure.
 */
export const fitsRequest = (value: string): boolean => !NOT_FIELD_VALUE.test(value)

/** A character no request's header value may carry (undici's `headerCharRegex`). */
const NOT_FIELD_VALUE = /[^\t\x20-\x7e\x80-\xff]/

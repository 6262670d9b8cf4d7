/**
 * How large an answer's header section imgpull reads, on every connection it makes (direct, to
 * an HTTP/2 origin, through an HTTP(S) proxy).
 *
 * Node's and undici's default is 16 KiB (`--max-http-header-size`), which real image hosts pass:
 * ten 2 KB `Set-Cookie` headers, a 40 KB `Content-Security-Policy` (sindresorhus/got#778 on
 * flickr.com, nodejs/node#47246, withastro/astro#12583). Browsers take far more: Chrome refuses
 * a response head over 256 KiB (`kMaxHeaderBufSize` in net/http/http_stream_parser.cc), Firefox
 * about 1 MB, curl 300 KB (curl/curl#11582). imgpull takes what Chrome takes.
 */

/**
 * Most bytes of header names and values in one answer over HTTP/1.1, 256 KiB (Chrome's limit).
 * undici's `maxHeaderSize` counts exactly these (client-h1.js `trackHeader`: names and values,
 * not the status line, colons or line ends); past it the answer fails with
 * `UND_ERR_HEADERS_OVERFLOW`.
 */
export const MAX_HEADER_BYTES = 256 * 1024

/**
 * Most header fields in one answer over HTTP/2. Node's http2 client refuses a stream with more
 * than 128 (`maxHeaderListPairs`, pseudo-headers included) by resetting it with
 * ENHANCE_YOUR_CALM. 8192 fields of the smallest size HPACK counts (32 bytes each, RFC 7541 §4.1)
 * make 256 KiB: so `MAX_HEADER_BYTES`, not the count, is what limits an answer.
 */
export const MAX_HEADER_FIELDS = 8192

/** `MAX_HEADER_BYTES` as messages say it (`256 KB`). */
export const MAX_HEADER_WORDS = `${MAX_HEADER_BYTES / 1024} KB`

/**
 * The options of an HTTP/2 session (`http2.connect`) that let it read as large a header section
 * as HTTP/1.1 does: the field count, and the size announced to the server in SETTINGS
 * (SETTINGS_MAX_HEADER_LIST_SIZE, RFC 9113 §6.5.2: advisory; Node's default is 65535).
 */
export const HTTP2_HEADER_OPTIONS = {
  maxHeaderListPairs: MAX_HEADER_FIELDS,
  settings: { maxHeaderListSize: MAX_HEADER_BYTES },
} as const

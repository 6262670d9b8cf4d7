import { createRequire } from 'node:module'
import { attachClientIdentity, readClientCert, warnClientCert } from './fetch/client-cert.js'
import { attachCookies, readCookiesFile } from './fetch/cookies.js'
import { fitsRequest, reservedHeader } from './fetch/field-value.js'
import type { HostGate } from './fetch/host-gate.js'
import { attachNetrc, netrcPath, readNetrcFile } from './fetch/netrc.js'
import { proxyPlan } from './fetch/proxy.js'
import { readCaFile } from './fetch/trust.js'
import { grouped } from './report/format.js'
import { resolveTransformSpec, type TransformOptions, type TransformSpec } from './transform/spec.js'
import { definedFields } from './utils/defined-fields.js'
import { filePath, type PathOf } from './utils/file-path.js'
import { type EveryKey, hiddenEntries, refuseUnknownKeys } from './utils/known-keys.js'
import { shownValue } from './utils/shown-value.js'
import { unexpandedTilde } from './utils/tilde.js'
import { HOMEPAGE, VERSION } from './version.js'

/**
 * node:http through `require`, not `import`: an ES module's import of a built-in enumerates every
 * export, and node:http's lazy `WebSocket` getters (Node 22 and later) then load Node's own copy of
 * undici, ~20 ms of start-up before the first request.
 */
const { validateHeaderName } = createRequire(import.meta.url)('node:http') as typeof import('node:http')

/** Options for `pull()`. Every field is optional; the defaults are below each. */
export interface Options {
  /**
   * Output folder: a path, relative to the working folder, or a `file:` URL (an object, as
   * `new URL('./photos/', import.meta.url)` makes, or its href), as Node's `fs` takes one. @default '.'
   */
  out?: string | URL | undefined
  /** Most transfers in flight at once, over all hosts. @default 128 */
  concurrency?: number | undefined
  /**
   * Transfers in flight to one host (origin). `auto` starts at 16 (the article's 15 photos all at
   * once) and grows towards 128 while the host answers fast and clean, backing off at once on
   * 429/503/timeouts or when its answers slow down. A number is a fixed ceiling (still cut under
   * pressure and regrown slowly).
   * @default 'auto'
   */
  perHost?: number | 'auto' | undefined
  /**
   * Least time between two requests to one host (origin), in ms, as the host sees them: from when
   * the last was sent (written on its connection), not when it got its turn (see
   * fetch/host-sends.ts). A rate limit of your own, for hosts that ban clients faster than they
   * say so (wget's `--wait`, gallery-dl's `--sleep-request`). A pair `[min, max]` draws each wait
   * at random between them (gallery-dl's `2.0-4.0`, wget's `--random-wait`). Kept by every
   * thread, and with a queue by every worker sharing its Redis (between workers, from the turns
   * they take). 0: no wait, the per-host limit alone holds. @default 0
   */
  wait?: number | readonly [number, number] | undefined
  /** File name template: `{name}`, `{ext}`, `{host}`, `{path}`, `{index}`, `{hash}` and job fields. @default '{name}{ext}' */
  name?: string | undefined
  /**
   * Retries after the first attempt, for network errors, timeouts, a body cut short and
   * 202/408/425/429/500/502/503/504/520-524 (other statuses fail at once; a rerun tries every 5xx
   * again). @default 5
   */
  retries?: number | undefined
  /**
   * Longest `Retry-After` honoured, in ms; longer waits are cut to this. One longer than the
   * file's `totalTimeout` too is cut once a file and once a host: a file asked for it again after
   * the shorter wait fails then (its status's code, `http-503`...), and a host that asks again for
   * it, of three files in a row, is given up for the run (its files fail with the status it answered,
   * `http-429` or `http-503`, retried by a rerun; see `outlasts` in fetch/retry-policy.ts). 0: `Retry-After` is
   * ignored and the own backoff applies. Durations here and below are cut to about 24.8 days
   * (2^31 - 1 ms, the longest a Node timer waits). @default 60_000
   */
  maxRetryAfter?: number | undefined
  /** Connect timeout in ms: the name lookup, the TCP and TLS handshakes, a proxy's answer to a CONNECT. @default 10_000 */
  connectTimeout?: number | undefined
  /** Time to the response headers in ms. @default 30_000 */
  headersTimeout?: number | undefined
  /** Longest gap between body bytes in ms: a stalled transfer is cut and retried. @default 15_000 */
  idleTimeout?: number | undefined
  /**
   * Longest time for one file, all attempts included, in ms; a body still coming then at a pace
   * that brings the rest of its length within as long again is given that time, once (see
   * fetch/steady-body.ts). @default 600_000
   */
  totalTimeout?: number | undefined
  /** Largest body accepted, in bytes. @default 536_870_912 (512 MiB) */
  maxSize?: number | undefined
  /** Redirects followed per file. @default 20 */
  maxRedirects?: number | undefined
  /** Checksum kept for each file. @default 'sha256' */
  hash?: 'sha256' | 'none' | undefined
  /**
   * Retry jobs that failed in an earlier run (by default a rerun skips them). The journal says
   * which: with `journal: false`, a `TypeError`. @default false
   */
  retryFailed?: boolean | undefined
  /** Keep a journal in `OUT/.imgpull/journal.db` so reruns skip finished work. @default true */
  journal?: boolean | undefined
  /** `User-Agent` header. @default `imgpull/<version> (+<homepage>)` */
  userAgent?: string | undefined
  /**
   * Extra request headers, by name (any case; one given replaces imgpull's own; an empty value
   * leaves the header out, imgpull's own too, as curl's `-H 'Accept:'`). `Range`,
   * `If-Range` (imgpull's, to resume) and `Transfer-Encoding`, `Content-Length`, `Expect`,
   * `Upgrade`, `Keep-Alive` (the HTTP client's) are refused with a `TypeError` (see
   * `reservedHeader`). @default {}
   */
  headers?: Record<string, string> | undefined
  /** Use HTTP/2 where the server offers it over TLS. @default true */
  http2?: boolean | undefined
  /**
   * Resize, re-encode and filter every image on a pool of worker processes (see `TransformSpec`:
   * `resize`, `size`, `encode`, `quality`, `minSize`, `maxAspectRatio`, `maxPixels`,
   * `keepMetadata`, `verifyDecode`...). Nothing asked: no pool, the bytes are kept as downloaded.
   * @default {} (no transform)
   */
  transform?: TransformOptions | undefined
  /**
   * Transfer threads: worker threads that carry transfers (requests, bodies, checks, hashes, part
   * files) beside the main thread, which keeps the plan, the limits, the journal and publishing.
   * 0: every transfer on the main thread; at most `MAX_THREADS` (64), else a `TypeError`.
   * `'auto'` (what the command line uses): one a core beyond the first, at most
   * `AUTO_THREADS_MAX` (see `autoThreads`), started only once the run has begun
   * `AUTO_THREADS_AFTER` (16) transfers on the main thread, which carries every transfer until one
   * is ready, so no transfer waits for them and a short run starts none; the
   * process's count, shared by its runs at once (see `AutoThreadBudget`).
   * @default 0
   */
  threads?: number | 'auto' | undefined
  /** Write `OUT/report.html` at the end of the run. @default true */
  report?: boolean | undefined
  /**
   * How messages name the ways of trying failures again: a plain rerun (the passing failures) and
   * `retryFailed: true` (all; the command passes its `--retry-failed`). A queue's workers pass
   * enqueue's (a worker runs what it is given).
   * @default { rerun: 'a rerun', retryFailed: '`retryFailed: true`' }
   */
  rerun?: { readonly rerun: string; readonly retryFailed: string } | undefined
  /** The command line that started the run, shown in the report (the CLI passes its own). @default '' */
  command?: string | undefined
  /**
   * Download images whose `X-Robots-Tag` says `noai` or `noimageai` (for everyone, or scoped to
   * `imgpull`). By default they fail with `robots-tag`, before any byte of the body is read.
   * @default false
   */
  ignoreRobotsTag?: boolean | undefined
  /**
   * A PEM file of certificates to trust besides the system's (a private CA; OpenSSL's TRUSTED
   * CERTIFICATEs too, their purposes kept), or one DER certificate (a `.cer` or `.der` as Windows
   * and browsers export a CA), as `NODE_EXTRA_CA_CERTS` does for the whole process. Read when the
   * run starts; an unreadable file, or one without a certificate, is a `TypeError` naming it.
   * Several files (an array; `--ca-cert` given more than once) are each trusted: an https://
   * proxy's CA and a private server's, which curl gives as `--proxy-cacert` and `--cacert`.
   * @default none (the system's CAs, and `NODE_EXTRA_CA_CERTS`, `SSL_CERT_FILE`, `SSL_CERT_DIR`)
   */
  caCert?: string | URL | readonly (string | URL)[] | undefined
  /**
   * A client certificate, shown to an image host that asks for one (mutual TLS, RFC 8446 §4.4.2;
   * curl's `--cert`): a PEM file of the certificate, then any intermediates, the key optionally
   * after them (else in `clientKey`); one DER certificate (key in `clientKey`); or a PKCS #12
   * `.p12`/`.pfx` (its key inside), told apart by their content. Sent to image hosts alone, never
   * to an https:// proxy; through a proxy's tunnel, to the host at its end. Read and checked when
   * the run starts: a file that cannot be read, holds no certificate or no key, a key that is not
   * the certificate's, or an encrypted key or PKCS #12 without `clientCertPassword` or with a wrong
   * one is a `TypeError` naming it; one out of its dates, or not meant for a TLS client, is warned
   * about (`IMGPULL_CLIENT_CERT`). @default none (no certificate is sent)
   */
  clientCert?: string | URL | undefined
  /** The private key of `clientCert`, when in a file of its own: PEM (encrypted or not) or DER. @default none */
  clientKey?: string | URL | undefined
  /**
   * The password of an encrypted `clientKey` (or key in `clientCert`), or of a PKCS #12 file. Kept
   * in memory only; a queue's workers never get it from Redis (see `WorkerOptions`). @default none
   */
  clientCertPassword?: string | undefined
  /**
   * Skip TLS certificate checks (expired, self-signed, wrong host name...): anyone on the path can
   * then read and change what is downloaded. A warning is emitted once per run
   * (`process.emitWarning`, code `IMGPULL_INSECURE`). Prefer `caCert`.
   * @default false
   */
  insecure?: boolean | undefined
  /**
   * The proxy every request goes through: `http://`, `https://`, `socks5://` or `socks5h://`
   * (`[user:password@]host:port`; credentials are never shown; `socks5://` resolves host names
   * here and gives the proxy their address, `socks5h://` gives it the names, as curl does). `'env'`: from `HTTP_PROXY` for
   * http:// URLs, `HTTPS_PROXY` for https:// ones and `ALL_PROXY` for either (or their lower-case
   * forms), as curl does; `false`: none, whatever the environment says. `NO_PROXY` is honoured
   * either way.
   * @default 'env'
   */
  proxy?: string | false | undefined
  /**
   * A Netscape cookies.txt file (as curl's `-b`, yt-dlp and gallery-dl read) whose cookies are sent
   * where their domain, path, secure flag and expiry allow. Read when the run starts; a malformed
   * line is a `TypeError` naming the file and the line.
   * @default none (only the cookies a redirect chain sets are sent, along that chain)
   */
  cookies?: string | URL | undefined
  /**
   * Take the user and password of a URL that names none (or the password of the user it names)
   * from a `.netrc` file, as curl `-n`/`--netrc-file`, wget and aria2c do: `true` reads `$NETRC`,
   * else `~/.netrc`; a string, that file. Read when the run starts: one that cannot be read, or a
   * malformed line, is a `TypeError` naming the file (and the line); one the group or others may
   * read is used, with a warning (`IMGPULL_NETRC`). A `machine` matches a URL's host, in any case
   * and on any port; `default` any URL listed, never a host a redirect leads to. The credentials go
   * as a URL's do (Basic, or answering a Digest challenge), and only to the host they are named
   * for: a redirect to another host sends that host's entry, if the file names it, or none.
   * @default false (curl reads none unless asked: a file of passwords read unasked is a surprise)
   */
  netrc?: boolean | string | URL | undefined
  /**
   * What the run writes in `out`. `files`: each image under its own name. `webdataset`: tar shards
   * of `shardSize` samples (`00000.tar`, `00001.tar`...), each with a `00000.parquet` (one row per
   * input row, failures included) and a `00000_stats.json` beside it, img2dataset's layout. A job
   * is the sample at its `row` (tables set it; otherwise its position in the source, from 0), with
   * the key `SHARD` + `INDEX` zero-padded (`000030042`), and `Result.path` is `SHARD.tar/KEY.EXT`;
   * `name` does not apply (one other than the default is a `TypeError`; a source's own is left
   * unused). A folder keeps the format and shard size of its first run (another is a `UsageError`).
   * @default 'files'
   */
  outputFormat?: 'files' | 'webdataset' | undefined
  /**
   * Samples per WebDataset shard (the last shard may have fewer), at most 1,000,000; one other than
   * the default without `outputFormat: 'webdataset'` is a `TypeError`. @default 10_000
   */
  shardSize?: number | undefined
  /**
   * A per-host limit and pauses shared with other processes: the workers of a queue (`imgpull
   * worker`) pass one backed by Redis, so that together they hold each host to one run's limit.
   * Consulted before every transfer starts. @default none (the limits are this run's alone)
   */
  hostGate?: HostGate | undefined
  /**
   * Stop everything at once: transfers are cut (their partial files kept for a rerun to resume),
   * and the loop rejects with the signal's reason (an `AbortError` `DOMException` for a signal
   * without one) once it has given the result of every file saved. One aborted before the run
   * begins rejects it with nothing made. @default none
   */
  signal?: AbortSignal | undefined
  /**
   * Stop taking new work and let transfers in flight finish (a clean stop): the loop ends normally,
   * `stats.stopped` `true` when work was left for a later run. One aborted before the run begins
   * ends it with nothing made. @default none
   */
  drainSignal?: AbortSignal | undefined
}

/** Options without a default: each is `undefined` when not given. */
type Unset =
  | 'signal'
  | 'drainSignal'
  | 'caCert'
  | 'clientCert'
  | 'clientKey'
  | 'clientCertPassword'
  | 'cookies'
  | 'hostGate'

/** Every field of `T` given: required, and never `undefined` (which `Required` keeps under exactOptionalPropertyTypes). */
type Filled<T> = { [K in keyof T]-?: Exclude<T[K], undefined> }

/** The options that name a file or a folder: a path, or a `file:` URL (see `filePaths`). */
const PATH_OPTIONS = ['out', 'caCert', 'clientCert', 'clientKey', 'cookies', 'netrc'] as const

/** `T` with its path options' `file:` URLs taken as paths. */
type Pathed<T> = { [K in keyof T]: K extends (typeof PATH_OPTIONS)[number] ? PathOf<T[K]> : T[K] }

export type ResolvedOptions = Pathed<Filled<Omit<Options, Unset | 'transform'>>> &
  Pathed<Pick<Options, Unset>> & { transform: TransformSpec }

export const DEFAULT_USER_AGENT = `imgpull/${VERSION} (+${HOMEPAGE})`

/**
 * The `User-Agent` requests carry: one given in `headers` (`-H`), else `userAgent` (`-A`). What a
 * proxy is asked besides them (a `CONNECT`, a question of its own) carries it too: '' none.
 */
export const userAgentOf = (o: Pick<ResolvedOptions, 'headers' | 'userAgent'>): string =>
  Object.entries(o.headers).find(([name]) => name.toLowerCase() === 'user-agent')?.[1] ?? o.userAgent

/** `ResolvedOptions` as `defaults` holds them: read-only, their objects too. */
export type DefaultOptions = { readonly [K in keyof ResolvedOptions]: Readonly<ResolvedOptions[K]> }

/** `value` frozen, with every object it holds: what no caller may change. */
function frozen<T extends object>(value: T): T {
  for (const inner of Object.values(value)) if (typeof inner === 'object' && inner !== null) frozen(inner)
  return Object.freeze(value)
}

/**
 * What `pull()` fills an option left out with. Frozen: every run of the process is filled from
 * it, so a change to it (`Object.assign(defaults, mine)`) would reach them all; a change is refused
 * instead (a `TypeError` in strict-mode code, an ES module; ignored in sloppy-mode scripts). Give your
 * own values to `pull()`.
 */
export const defaults: DefaultOptions = frozen<ResolvedOptions>({
  out: '.',
  concurrency: 128,
  perHost: 'auto',
  wait: 0,
  name: '{name}{ext}',
  retries: 5,
  maxRetryAfter: 60_000,
  connectTimeout: 10_000,
  headersTimeout: 30_000,
  idleTimeout: 15_000,
  totalTimeout: 600_000,
  maxSize: 512 * 1024 * 1024,
  // What browsers (Chrome, Firefox), wget and aria2c follow; curl follows 50.
  maxRedirects: 20,
  hash: 'sha256',
  retryFailed: false,
  journal: true,
  userAgent: DEFAULT_USER_AGENT,
  headers: {},
  http2: true,
  threads: 0,
  report: true,
  command: '',
  rerun: { rerun: 'a rerun', retryFailed: '`retryFailed: true`' },
  transform: resolveTransformSpec(),
  ignoreRobotsTag: false,
  insecure: false,
  proxy: 'env',
  netrc: false,
  outputFormat: 'files',
  shardSize: 10_000,
})

/** The longest wait a Node timer allows, ms (about 24.8 days). */
export const LONGEST_TIMER_MS = 2 ** 31 - 1
/** The options that are durations in ms, each cut to `LONGEST_TIMER_MS`. */
const DURATIONS = [
  'maxRetryAfter',
  'connectTimeout',
  'headersTimeout',
  'idleTimeout',
  'totalTimeout',
] as const

function integer(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    // A number past 2^53 - 1 is refused as over it, not as below `min` (it is rounded already).
    const range =
      max === Number.MAX_SAFE_INTEGER && !(value > max) ? `>= ${min}` : `from ${min} to ${grouped(max)}`
    throw new TypeError(`Expected \`${name}\` to be an integer ${range}, got ${shownValue(value)}`)
  }
}

/**
 * Most transfer threads a run may start: each has a heap of its own (about 65 MB), so 1,000 took
 * 13 GB and a one-URL run 9 minutes on 2 cores; threads beyond the cores only take turns (the
 * command warns past them), and 64 is beyond most machines'.
 */
export const MAX_THREADS = 64

/**
 * Most samples a WebDataset shard may hold: far above img2dataset's 10,000, and each open shard
 * keeps 13 bytes per sample of its size in memory (13 MB here); a larger size would allocate
 * gigabytes for a handful of rows.
 */
const MAX_SHARD_SIZE = 1_000_000

/**
 * Check an option that takes an AbortSignal (one of a polyfill too: its `addEventListener` and
 * `aborted`); throws a `TypeError` naming it and what it got.
 */
export function checkSignal(key: string, value: unknown): void {
  const signal = value as Partial<AbortSignal> | undefined
  if (
    signal !== undefined &&
    (typeof signal?.addEventListener !== 'function' || typeof signal.aborted !== 'boolean')
  )
    throw new TypeError(`Expected \`${key}\` to be an AbortSignal, got ${notASignal(key, signal)}`)
}

/**
 * What a `signal` that is not one is: the controller itself, given for its signal (what it holds,
 * as `controller.aborted` was read for `controller.signal.aborted`: remix-run/react-router#8780), is
 * named so, where it was "an object that is not one".
 */
function notASignal(key: string, value: unknown): string {
  if (value instanceof AbortController)
    return `its AbortController: give its signal (\`${key}: controller.signal\`)`
  return typeof value === 'object' ? 'an object that is not one' : shownValue(value)
}

/** Check a shard size (a run's, or a queue's, whose workers' shards it sizes); throws a `TypeError`. */
export function checkShardSize(value: number): void {
  integer('shardSize', value, 1, MAX_SHARD_SIZE)
}

/** The options that are switches: `journal: 'no'` is truthy, so a string is refused, not taken as yes. */
const SWITCHES = ['retryFailed', 'journal', 'http2', 'report', 'ignoreRobotsTag', 'insecure'] as const

/**
 * Options that are a switch, a text or a signal, of another kind: refused by name here, not met
 * later as a crash inside the run (`out: 123`, `signal: {}`) or as every file failing with
 * `network` (a header name with a space, a value with a line break, which undici refuses per request).
 */
function checkKinds(o: ResolvedOptions): void {
  for (const key of SWITCHES)
    if (typeof o[key] !== 'boolean')
      throw new TypeError(`Expected \`${key}\` to be a boolean, got ${shownValue(o[key])}`)
  if (typeof o.out !== 'string' || o.out === '')
    throw new TypeError(
      `Expected \`out\` to be a folder's path, got ${o.out === '' ? 'an empty string' : shownValue(o.out)}`,
    )
  // `out: '~/photos'`: Node expands no ~ (a shell does), so this made a folder named `~` in the
  // working folder without a word, which a later `rm -rf ~` meant for it takes for the home folder
  // (airtasker/spot#97, boostorg/build#346); the command refuses `--out=~/photos` so too.
  if (unexpandedTilde(o.out))
    throw new TypeError(
      `Expected \`out\` to be a folder's path, got ${shownValue(o.out)}: Node expands no ~ as a shell does, so it would make a folder named ~ here; give join(homedir(), ${JSON.stringify(o.out.slice(2) || '.')})`,
    )
  // A NUL byte (a C string's end, a fixed-size buffer decoded whole: OpenBeta/open-tacos#74) is in
  // no path: said now, where the run failed as 'cannot create output folder …: ERR_INVALID_ARG_VALUE'
  // with the hint to make the folder writable.
  if (o.out.includes('\0'))
    throw new TypeError(
      `Expected \`out\` to be a folder's path, got ${shownValue(o.out)}, with a NUL byte, which no path holds`,
    )
  if (![o.caCert ?? []].flat().every((file: unknown) => typeof file === 'string'))
    throw new TypeError(
      `Expected \`caCert\` to be a file's path or an array of them, got ${shownValue(o.caCert)}`,
    )
  for (const key of ['cookies', 'command', 'clientCert', 'clientKey', 'clientCertPassword'] as const)
    if (o[key] !== undefined && typeof o[key] !== 'string')
      throw new TypeError(`Expected \`${key}\` to be a string, got ${shownValue(o[key])}`)
  if (!isHeaderValue(o.userAgent))
    throw new TypeError(
      `Expected \`userAgent\` to be a header value (a string without line breaks), got ${shownValue(o.userAgent)}`,
    )
  const headers: object | undefined =
    typeof o.headers === 'object' && !Array.isArray(o.headers) ? o.headers : undefined
  const hidden = headers === undefined || headers === null ? undefined : hiddenEntries(headers)
  if (headers === undefined || headers === null || hidden !== undefined)
    throw new TypeError(
      `Expected \`headers\` to be an object of header names and values, got ${hidden ?? shownValue(o.headers)}`,
    )
  // Worded for -H too (the command line names its options for a message that starts "Expected `x`").
  for (const [name, value] of Object.entries(o.headers)) {
    if (!isHeaderName(name))
      throw new TypeError(
        `Invalid header name ${JSON.stringify(name)}: a name is one word of letters, digits and !#$%&'*+-.^_\`|~`,
      )
    if (!isHeaderValue(value))
      throw new TypeError(
        `Invalid value of the header ${name}: ${shownValue(value)} (a header value is a string without line breaks)`,
      )
    const reserved = reservedHeader(name)
    if (reserved) throw new TypeError(`The header ${name} cannot be given: ${reserved}; leave it out`)
  }
  for (const key of ['signal', 'drainSignal'] as const) checkSignal(key, o[key])
  // Met only at the first transfer otherwise, as the run's rejection "gate.acquire is not a function".
  const gate = o.hostGate as Partial<HostGate> | undefined
  if (gate !== undefined && (typeof gate?.acquire !== 'function' || typeof gate.pause !== 'function'))
    throw new TypeError(
      `Expected \`hostGate\` to be a HostGate (with \`acquire\` and \`pause\`), got ${typeof gate === 'object' ? 'an object that is not one' : shownValue(gate)}`,
    )
  if (typeof o.rerun?.rerun !== 'string' || typeof o.rerun.retryFailed !== 'string')
    throw new TypeError('Expected `rerun` to be `{ rerun: string, retryFailed: string }`')
}

/** A header name as Node's HTTP client sends one: an RFC 9110 token. */
function isHeaderName(name: string): boolean {
  try {
    validateHeaderName(name)
    return true
  } catch {
    return false
  }
}

/** `wait`: ms, or a pair of them, the first no more than the second. */
function checkWait(wait: unknown): void {
  const ms = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= LONGEST_TIMER_MS
  if (ms(wait)) return
  if (Array.isArray(wait) && wait.length === 2 && ms(wait[0]) && ms(wait[1]) && wait[0] <= wait[1]) return
  // The bound is said: a wait past Node's longest timer (sindresorhus/delay#57) was refused as if it
  // were not whole ms >= 0, naming no reason it met.
  throw new TypeError(
    `Expected \`wait\` to be whole ms from 0 to ${grouped(LONGEST_TIMER_MS)} (Node's longest timer, 24.8 days), or a pair [min, max] of them with min <= max, got ${shownValue(wait)}`,
  )
}

/** The wait before the next request to a host, ms (see `Options.wait`), drawn when a pair. */
export function drawWait(wait: ResolvedOptions['wait'], random = Math.random()): number {
  if (typeof wait === 'number') return wait
  return Math.round(wait[0] + random * (wait[1] - wait[0]))
}

/** A header's value a request can carry (see `fitsRequest`: no line break, NUL or other control character). */
const isHeaderValue = (value: unknown): boolean => typeof value === 'string' && fitsRequest(value)

/** What an option given alone would need to do anything (see `optionMisfit`). */
export interface OptionMisfit {
  readonly option: 'retryFailed' | 'name' | 'shardSize'
  /** `journal`: a journal kept; `files`: `outputFormat: 'files'`; `webdataset`: `outputFormat: 'webdataset'`. */
  readonly needs: 'journal' | 'files' | 'webdataset'
}

/**
 * The first option given where it does nothing, or `undefined`: `retryFailed` without a journal
 * (no failure is remembered: every job is tried), `name` for WebDataset shards (their samples are
 * named by their keys), `shardSize` for files. Given so, each did nothing without a word. An
 * option is given here when it is not `undefined`; the command line passes its flags so, `pull()`
 * its options with a default value taken as not given (what the command and a queue's stored
 * options pass). Pure.
 */
export function optionMisfit(
  given: Pick<Options, 'retryFailed' | 'journal' | 'name' | 'shardSize' | 'outputFormat'>,
): OptionMisfit | undefined {
  if (given.retryFailed === true && given.journal === false)
    return { option: 'retryFailed', needs: 'journal' }
  if (given.name !== undefined && given.outputFormat === 'webdataset')
    return { option: 'name', needs: 'files' }
  if (given.shardSize !== undefined && given.outputFormat !== 'webdataset')
    return { option: 'shardSize', needs: 'webdataset' }
  return undefined
}

/** An `OptionMisfit` in the words of `pull()`'s options. */
function misfitMessage({ option }: OptionMisfit, value: unknown): string {
  if (option === 'retryFailed')
    return '`retryFailed: true` tries again the failures the journal remembers: with `journal: false` none are remembered and every job is tried; leave one of them out'
  if (option === 'name')
    return `\`name\` (${shownValue(value)}) names the files of \`outputFormat: 'files'\`: WebDataset samples are named by their keys; leave \`name\` out`
  return `\`shardSize\` (${shownValue(value)}) is for \`outputFormat: 'webdataset'\`: give it, or leave \`shardSize\` out`
}

/** Every option's name: a key not among them is a typo (`concurency`), refused, not ignored. */
const OPTION_NAMES = [
  'out',
  'concurrency',
  'perHost',
  'wait',
  'name',
  'retries',
  'maxRetryAfter',
  'connectTimeout',
  'headersTimeout',
  'idleTimeout',
  'totalTimeout',
  'maxSize',
  'maxRedirects',
  'hash',
  'retryFailed',
  'journal',
  'userAgent',
  'headers',
  'transform',
  'threads',
  'report',
  'command',
  'rerun',
  'ignoreRobotsTag',
  'caCert',
  'clientCert',
  'clientKey',
  'clientCertPassword',
  'insecure',
  'proxy',
  'cookies',
  'netrc',
  'outputFormat',
  'shardSize',
  'hostGate',
  'signal',
  'drainSignal',
  'http2',
] as const satisfies readonly (keyof Options)[]
// Compiles only while the list names every option.
const _everyOption: EveryKey<Options, typeof OPTION_NAMES> = true

/**
 * Fill in defaults and check every value; throws a `TypeError` naming the bad option. The result is
 * the caller's own: no object in it is `defaults`' or another call's (the objects given stay as given).
 */
export function resolveOptions(options: Options = {}): ResolvedOptions {
  refuseUnknownKeys(options, OPTION_NAMES, 'option')
  const set = definedFields(options)
  // The defaults' headers are frozen and every run's: each resolved options gets its own.
  const o = {
    ...defaults,
    headers: {},
    ...set,
    transform: resolveTransformSpec(options.transform),
  } as ResolvedOptions
  for (const key of PATH_OPTIONS) Object.assign(o, { [key]: filePath(key, o[key]) })
  checkKinds(o)
  integer('concurrency', o.concurrency, 1)
  if (o.perHost !== 'auto' && !(Number.isInteger(o.perHost) && o.perHost >= 1)) {
    throw new TypeError(`Expected \`perHost\` to be 'auto' or an integer >= 1, got ${shownValue(o.perHost)}`)
  }
  checkWait(o.wait)
  integer('retries', o.retries, 0)
  // Node's timers hold at most 2^31 - 1 ms: a longer one fires at once (TimeoutOverflowWarning).
  // A month-long timeout means none: it becomes the longest a timer can wait, however huge it was
  // (`--total-timeout 1e99`, `Infinity`), before the checks, which hold it to a safe integer.
  for (const key of DURATIONS) {
    if (typeof o[key] === 'number' && o[key] > LONGEST_TIMER_MS) o[key] = LONGEST_TIMER_MS
  }
  integer('maxRetryAfter', o.maxRetryAfter, 0)
  integer('connectTimeout', o.connectTimeout, 1)
  integer('headersTimeout', o.headersTimeout, 1)
  integer('idleTimeout', o.idleTimeout, 1)
  integer('totalTimeout', o.totalTimeout, 1)
  integer('maxSize', o.maxSize, 1)
  integer('maxRedirects', o.maxRedirects, 0)
  if (
    o.threads !== 'auto' &&
    (typeof o.threads !== 'number' ||
      !Number.isInteger(o.threads) ||
      o.threads < 0 ||
      o.threads > MAX_THREADS)
  )
    throw new TypeError(
      `Expected \`threads\` to be 'auto' or an integer from 0 to ${MAX_THREADS}, got ${shownValue(o.threads)}`,
    )
  if (o.hash !== 'sha256' && o.hash !== 'none') {
    throw new TypeError(`Expected \`hash\` to be 'sha256' or 'none', got ${shownValue(o.hash)}`)
  }
  if (o.insecure === true && o.caCert !== undefined)
    throw new TypeError(
      `\`insecure\` checks no certificate, so the CA of \`caCert\` (${o.caCert}) would never be used: give one of them`,
    )
  // The CA file given is read now: one that cannot be used is said at once. What the environment
  // adds (SSL_CERT_FILE, SSL_CERT_DIR) is read with the first https:// connection (client.ts).
  for (const file of [o.caCert ?? []].flat()) readCaFile(file)
  // So is the client certificate, with its key and password (see `readClientCert`).
  const clientCert = readClientCert(o)
  if (clientCert) {
    attachClientIdentity(o, clientCert.identity)
    warnClientCert(clientCert, o.clientCert!)
  }
  if (o.cookies !== undefined) attachCookies(o, readCookiesFile(o.cookies))
  if (typeof o.netrc !== 'boolean' && (typeof o.netrc !== 'string' || o.netrc === ''))
    throw new TypeError(`Expected \`netrc\` to be a boolean or a file's path, got ${shownValue(o.netrc)}`)
  const netrcFile = netrcPath(o.netrc)
  if (netrcFile !== undefined) attachNetrc(o, readNetrcFile(netrcFile))
  if (o.proxy !== false && typeof o.proxy !== 'string') {
    throw new TypeError(`Expected \`proxy\` to be a URL, 'env' or false, got ${shownValue(o.proxy)}`)
  }
  // The proxy option, or the proxy variables of the environment, must be usable.
  proxyPlan(o.proxy)
  // Proxy credentials go with the proxy, never as a header every server would see.
  if (Object.keys(o.headers ?? {}).some((name) => name.toLowerCase() === 'proxy-authorization'))
    throw new TypeError(
      'Proxy-Authorization is not a header to send to every server (-H, headers): give the proxy credentials in its URL, http://user:password@proxy:3128',
    )
  if (o.outputFormat !== 'files' && o.outputFormat !== 'webdataset') {
    throw new TypeError(
      `Expected \`outputFormat\` to be 'files' or 'webdataset', got ${shownValue(o.outputFormat)}`,
    )
  }
  checkShardSize(o.shardSize)
  if (typeof o.name !== 'string' || o.name.length === 0) {
    throw new TypeError(`Expected \`name\` to be a non-empty template string, got ${shownValue(o.name)}`)
  }
  const misfit = optionMisfit({
    ...o,
    name: o.name === defaults.name ? undefined : o.name,
    shardSize: o.shardSize === defaults.shardSize ? undefined : o.shardSize,
  })
  if (misfit) throw new TypeError(misfitMessage(misfit, o[misfit.option]))
  return o
}

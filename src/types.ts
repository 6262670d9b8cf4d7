import type { ErrorCode } from './error-codes.js'
import type { Dispatcher } from './fetch/undici.js'
import type { Layout } from './layout.js'

/** One image to fetch. Sources produce these; every later stage passes them along untouched. */
export interface Job {
  /** The address to fetch (http or https). */
  url: string
  /**
   * Identity of the job, for dedupe and the journal. Defaults to the URL.
   * Sources whose URLs change between runs (signed links) set a stable key instead.
   */
  key?: string | undefined
  /** Values for the naming template (`{id}`, `{slug}`, ...), e.g. from an API source. */
  fields?: Record<string, string> | undefined
  /**
   * Free-form data carried to the result and the manifest (attribution, a table row's columns...).
   * The manifest, the journal and a shard's `.json` keep it JSON-safe (`jsonSafe`): a bigint past
   * 2^53 as its digits, bytes as base64, a `Date` as ISO 8601, a `Map` as an object.
   */
  meta?: Record<string, unknown> | undefined
  /** Position of the job's row in a dataset's input (0-based, over all inputs): its sample key derives from it. */
  row?: number | undefined
  /**
   * Where the job was read (`'urls.txt' line 50000`): a message about its URL names it, so a bad
   * line of a long list is found without a search.
   */
  where?: string | undefined
  /** The row's caption (`KEY.txt` in a WebDataset shard; `''` an empty `KEY.txt`, the Parquet's caption null). */
  caption?: string | undefined
  /**
   * The hash the downloaded body must have (from a table's hash column): a body whose hash differs
   * fails as `hash-mismatch` and is not kept. `value` is lowercase hex.
   */
  expectedHash?: { type: 'sha256' | 'md5'; value: string } | undefined
  /**
   * Set when the job cannot be fetched as it stands (a malformed table row, a hash cell that is
   * not a digest): it fails with this code and message without a request, and keeps its row.
   */
  invalid?: { code: ErrorCode; message: string } | undefined
}

export type Status = 'ok' | 'skipped' | 'failed'

export interface Timings {
  /** Milliseconds from the first request to the first response headers (last attempt). */
  ttfb?: number
  /** Milliseconds from the job's first request to its outcome, retries included. */
  total: number
}

/**
 * What became of one job: the fields a `Result`, a journal row, a manifest line and a dataset row
 * share, defined once. Its mappers and journal columns are in `outcome.ts`: adding a field means
 * adding it here and to `OUTCOME_COLUMNS` (the journal's column for it is made on the next run).
 */
export interface Outcome {
  /** Final file path, relative to the output folder (a file that is there: `ok`, `skipped`). */
  path?: string
  /**
   * The HTTP status of the answer that decided it: for a file, the answer that gave it (200 for one
   * verified whole from partial answers: 206, one or a cut one and its resumes, or 416); for a
   * failure, the status that failed it (`http-404`: 404). Absent for any other failure, one whose
   * body was refused after a 200 too (`not-an-image`, `too-large`, `truncated`, `too-small`...), as
   * the WebDataset Parquet's `http_status` is null for it.
   */
  httpStatus?: number
  /**
   * The URL that gave the file, when redirects led away from the one asked for (without
   * credentials, nor a signed URL's signing parameters): many URLs with one `finalUrl` are often one
   * placeholder ("image removed"). For a failure, the URL last asked when redirects had led away:
   * the target that answered 404, refused the connection or sent a bad `Location`.
   */
  finalUrl?: string
  /** Size of the file, in bytes. */
  bytes?: number
  /** sha256 of the file, lowercase hex (unless `hash: 'none'`). */
  sha256?: string
  /** Detected format, as an extension without the dot: `jpg`, `png`, `webp`... */
  format?: string
  /** Pixel size of the file kept, when it could be read. */
  width?: number
  height?: number
  /** Pixel size of the image as downloaded (as displayed), when a transform was asked for. */
  originalWidth?: number
  originalHeight?: number
  /**
   * Whether the transform stage changed the image (resized or re-encoded it); `false` when it was
   * asked for but the image needed no change and was kept byte for byte. Absent without a transform.
   */
  transformed?: boolean
  /** Attempts made (0 when none could be: an invalid URL). */
  attempts: number
  /** Why it failed (see `ErrorCode`). */
  error?: ErrorCode
  /** One-line failure message. */
  message?: string
  /** ms from the last request to its response headers. */
  ttfb?: number
  /** ms from the job's first request to its outcome, retries included. */
  total?: number
  /** ms since the epoch when the outcome was reached. */
  finishedAt?: number
  /**
   * HTTP statuses of the attempts' answers, with counts, e.g. `{ "429": 2, "200": 1 }` (the report's
   * 429/503 counts per host): those that failed an attempt by their status, and the one that gave
   * the file (as `httpStatus` counts it); an answer whose body was refused (a `not-an-image` 200) is
   * not counted.
   */
  answers?: Record<string, number>
}

/** What every `Result` holds, whatever its `status`. */
export interface ResultFields extends Omit<Outcome, 'ttfb' | 'total'> {
  job: Job
  status: Status
  /**
   * The outcome was recorded by an earlier run and stands: a file done before (`skipped`), or a
   * permanent failure a plain rerun does not try again (`failed`; `retryFailed` does).
   */
  earlier?: boolean
  timings: Timings
}

/** A job whose verified file is at `path`: fetched by this run (`ok`) or by an earlier one (`skipped`). */
export interface DoneResult extends ResultFields {
  status: 'ok' | 'skipped'
  /** The file, relative to the output folder (`join(out, result.path)` opens it). */
  path: string
  /** Its size, in bytes. */
  bytes: number
}

/** A job that failed: why (`error`, an `ErrorCode`) and in one line (`message`). Never thrown. */
export interface FailedResult extends ResultFields {
  status: 'failed'
  error: ErrorCode
  message: string
}

/**
 * What happened to one job: its outcome (see `Outcome`), with the job, its status and its timings.
 * A union on `status`, so that a check of it narrows the rest, as a discriminated union does
 * (farcasterxyz/auth-monorepo#161, supabase/supabase-js#1905): `ok` and `skipped` results have a
 * verified file at `path` of `bytes` (`DoneResult`), `failed` ones an `error` and a `message`
 * (`FailedResult`); where each was `| undefined` to `tsc --strict` after the check.
 */
export type Result = DoneResult | FailedResult

/** What makes a partial file resumable (`If-Range`), as the server sent it and the journal keeps it. */
export interface Validators {
  etag?: string
  /**
   * `Last-Modified` as sent; prefixed `W/` when it is weak (the answer's `Date` is less than a
   * minute after it, or missing: see `STRONG_DATE_MS` in fetch/judge.ts, from RFC 9110 §8.8.2.2), as
   * a weak ETag is. Only a strong one goes in `If-Range`.
   */
  lastModified?: string
  /** Full size of the file, when the server said. */
  length?: number
  /**
   * The URL that answered with them, after redirects: a resume whose redirects now end at another
   * URL asks another resource, which these prove nothing about (RFC 9110 §13.1.5).
   */
  from?: string
  /**
   * An earlier attempt's body that ran until its connection closed, in a format whose end its
   * bytes cannot show (see `FileCheck.finish`): its size and sha256. The same again settles it.
   * Kept for the run, not in the journal.
   */
  seen?: { bytes: number; sha256: string }
  /**
   * An earlier attempt's body whose checksum was not the one its server stated: the checksum it
   * had (hex). The same again is what the URL serves (an image-optimising edge that passes the
   * origin's digest on with the bytes it made), not bytes changed on the way. Kept for the run,
   * not in the journal.
   */
  mismatched?: string
  /**
   * A checksum of the whole file that an answer of this version stated (`Content-MD5` of a 200,
   * say): a file resumed from it is checked against it, though the resume's 206 does not say it
   * again. Kept in the journal with the other validators: a part a killed or failed run left is
   * resumed by the next one, whose 206 states nothing.
   */
  stated?: { algorithm: 'sha256' | 'sha512' | 'sha1' | 'md5'; hex: string; header: string }
  /**
   * `lastModified` is the answer's own time: within `ANSWER_DATE_MS` of its `Date` (fetch/judge.ts),
   * as a script that stamps every answer `Last-Modified: now` sends it (contao/core#8773). Two
   * answers so stamped are not told apart by their dates (see `mismatch`). Kept for the run, not
   * in the journal.
   */
  stamped?: true
  /**
   * The part's first answer named its full length but no strong validator: this run resumes it all
   * the same, as aria2c does, on its proofs alone (see `resumesInRun`); a later one starts over.
   * Kept for the run, not in the journal.
   */
  unproven?: true
  /**
   * With `unproven`: the part's first answer in this run was a part of a file of unknown size
   * (`206 bytes 0-B/*`, a front that caps every answer) with no strong validator: its rest is
   * asked for in this run all the same, each part proving itself (see `resumesInRun`). Kept for
   * the run, not in the journal.
   */
  unsized?: true
  /**
   * An answer in this run gave these (not the journal): a later answer of this run naming another
   * strong ETag, all else the same, shows an ETag that changes at every answer (see `etagShifted`).
   * Kept for the run, not in the journal.
   */
  thisRun?: true
  /**
   * The ETag and Last-Modified an answer of this run gave before the one these came from, where it
   * named the file otherwise at the same length: the same again shows validators that go back and
   * forth between the servers behind one URL (see `validatorsFlap`). Kept for the run, not in the
   * journal.
   */
  other?: Pick<Validators, 'etag' | 'lastModified'>
  /**
   * The server answered a resume whose If-Range named these very validators with the whole file
   * (see `ifRangeMisread`): this run's resumes send no If-Range, the 206's validators compared
   * instead. Kept for the run, not in the journal.
   */
  ifRangeMisread?: true
}

/** Live counters of a run, for progress displays. */
export interface RunStats {
  /** Jobs read from the source so far (duplicates included). */
  read: number
  /** Inputs seen before in this run, fetched once. */
  duplicates: number
  /** Transfers in flight. */
  active: number
  /** Body bytes received so far, partial transfers included. */
  bytes: number
  /** Jobs left for a later run by a stop. */
  interrupted: number
  /**
   * Set as the run ends: whether it left work for a later run (a stop or an error came before
   * every job of the source had its outcome), as its journal records it. A stop asked for once
   * every job had its outcome (while the manifest and report are written) leaves it `false`.
   */
  stopped: boolean
  /**
   * Set as the run ends: whether the source was read to its end. A stop, a fatal error or an input
   * error that came first leaves the rest of it unread, counted neither in `read` nor in `interrupted`.
   */
  readToEnd: boolean
  /**
   * Set as the run ends: milliseconds from its start to its end as its journal records it, the
   * report's wall time (the manifest and the report written after are not in it); 0 before.
   */
  wallMs: number
  /**
   * Milliseconds until the last file waiting to retry may go again (sleeping out its backoff, or
   * held with its host paused by a `Retry-After`), or the source goes on after a wait of its own
   * (`Source.waitLeft`: an Unsplash rate limit's reset), whichever is later; 0 when none waits.
   * Read live.
   */
  readonly waitLeft: number
}

/** What a source is told when a run opens it. */
export interface SourceContext {
  /** Where everything lives in the output folder (its lock is held). */
  paths: Layout
  /** Whether the run keeps a journal (without one, a rerun starts over). */
  journal: boolean
  /** The run's `User-Agent`. */
  userAgent: string
  /** The run's hard-stop signal. */
  signal?: AbortSignal
  /**
   * The run's connection pool (undici `Dispatcher`), with its proxies, trusted CAs and HTTP/2: for
   * a source's own requests (an API). Closed by the run, never by the source.
   */
  dispatcher?: Dispatcher
}

/** A job whose `url` is a `URL` object: taken as its href (`result.job.url` is that string). */
export type UrlJob = Omit<Job, 'url'> & { url: URL }

/**
 * What `pull()` takes: URLs (strings or `URL` objects) or jobs, from an array, a generator, or a
 * stream of them; anything else is refused, the source itself when the run is made (a `TypeError`),
 * an item when it is read (a `UsageError` ending the run once the items read before it are done). A source may
 * also take part in the run (the Unsplash source does): `open` once the output folder is locked,
 * before the first job is read (an error there ends the run before anything is fetched, and the
 * folders the run made are taken back); `onResult` for every result, before the caller sees it;
 * `close` at the end, however the run ended. A readline interface over a list (`createInterface({
 * input })`) is a source as it is: its `close` (which returns nothing) closes it when the run ends,
 * and its lines are read as the command reads a list file (blank lines and comments are no jobs).
 * An object: a string is an iterable of its characters, each of which would be a URL, so one URL
 * given where a list was meant (`pull(url)`) is a type error here, as it is a `TypeError` at run time.
 */
export type Source = (Iterable<string | URL | Job | UrlJob> | AsyncIterable<string | URL | Job | UrlJob>) &
  object & {
    open?(context: SourceContext): Promise<void>
    onResult?(result: Result): void | Promise<void>
    close?(): void | Promise<void>
    /** How many inputs there are in all, once known (for progress and its ETA). */
    total?(): number | undefined
    /**
     * Milliseconds until the source gives more jobs after a wait of its own (an API's rate-limit
     * reset), 0 when it is not waiting: the run's `stats.waitLeft`, and its progress line's ETA.
     */
    waitLeft?(): number
    /**
     * The name-template placeholders this source's jobs fill in, beyond the built-in ones: checked
     * against `name` when the run starts. Without it, each job is checked against its own `fields`.
     */
    readonly fields?: readonly string[]
    /** The name template this source's files get when the caller gives none (`Options.name`). */
    readonly name?: string
    /**
     * The types of the carried columns (`Job.meta`) in a WebDataset shard's Parquet, where the source
     * knows them before reading (a table's schema): every shard then has the same columns of the same
     * types, a column null in all of one shard's rows included. Columns it leaves out take a type
     * from their values, shard by shard.
     */
    readonly columnTypes?: Readonly<Record<string, CarriedType>>
    /**
     * Every carried column a WebDataset shard's Parquet has, where the source knows them before
     * reading (a table's header or schema, a JSON lines file's first lines): a value of another
     * column (a JSON lines key first seen past those lines) is left out of the Parquet, kept in the
     * sample's `.json` and the manifest, so that every shard has one schema; the run warns once a
     * column (`IMGPULL_COLUMN_LATE`). Without it, a shard's Parquet has every column its rows carry.
     */
    readonly parquetColumns?: readonly string[]
    /**
     * What the rows of this source say besides their URL: a table's caption column (`--caption-col`)
     * and the columns it carries (`--columns`, or those the tables show). A WebDataset folder records
     * it, and a rerun whose rows say otherwise is refused once a shard is sealed: it would seal every
     * shard again, a forgotten `--caption-col` dropping every caption. A folder of files records it
     * too, and refuses such a rerun once it holds an image: the manifest would mix two runs' captions
     * and columns (see `claimFiles`). Without it, nothing is checked.
     */
    readonly rowColumns?: RowColumns
    /**
     * Where the source offers several images of an item (Unsplash's ready-made sizes and imgix
     * options), the flags that chose this run's (`--size full`), `''` for its default. A folder
     * records them with the transform options, and a rerun asking for another image of the items
     * already kept is refused, as one with another `--resize` is. Without it, nothing is recorded.
     */
    readonly imageFlags?: string
  }

/** See `Source.rowColumns`: `null` where there is no caption column, or the carried ones are not known. */
export interface RowColumns {
  readonly caption: string | null
  readonly columns: readonly string[] | null
}

/**
 * The Parquet type of a carried column in a shard: text, a 64-bit integer, a double, a boolean, or
 * JSON text (lists, objects, columns of mixed kinds).
 */
export type CarriedType = 'STRING' | 'INT64' | 'DOUBLE' | 'BOOLEAN' | 'JSON'

/** What the scheduler did for one host at one moment: taken about once a second while a run lasts. */
export interface HostSample {
  /** ms since the epoch. */
  t: number
  /** The host's origin (`https://host:port`). */
  host: string
  /** The host's concurrency limit at that moment. */
  limit: number
  /** Transfers to the host in flight at that moment. */
  inFlight: number
}

/** What the journal keeps of one run: when it started and ended, and the command that made it. */
export interface RunInfo {
  id: number
  /** ms since the epoch. */
  startedAt: number
  /** ms since the epoch; absent while the run goes on, or when it was killed. */
  endedAt?: number
  /** The command line, when the CLI ran it (the library's runs have none). */
  command?: string
  /** The run stopped before its end (Ctrl-C, a fatal error); a killed run has no `endedAt` either. */
  interrupted?: boolean
}

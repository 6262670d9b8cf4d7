/**
 * What `report.html` is made from. The engine, the journal and the manifest know these facts; the
 * caller gathers them (after a run, or later from the folder) and the renderer turns them into
 * one page. Nothing here reads files: the report is a pure function of this input.
 */

/** One job the journal knows, with its latest outcome. */
export interface ReportItem {
  /** The address fetched. Shown redacted (no credentials) wherever it appears. */
  url: string
  /**
   * The job's origin (`https://host:port`), the unit of per-host limits and of the host table;
   * `''` for a job whose URL has none (`invalid-url`): shown as "no host".
   */
  host: string
  /**
   * `ok`: downloaded by the run the report describes; `skipped`: already there from an earlier run
   * (counted, shown, but not charted nor counted as requests); `failed`; `pending`: not finished
   * (a stopped run, or not reached yet).
   */
  status: 'ok' | 'skipped' | 'failed' | 'pending'
  /** The file, relative to the output folder (where `report.html` lives), `/`-separated. */
  path?: string
  /** File size in bytes. */
  bytes?: number
  /** Detected format, e.g. `jpg`. */
  format?: string
  width?: number
  height?: number
  /** HTTP status of the last answer. */
  httpStatus?: number
  /**
   * The URL last asked when redirects led away from `url` (see `Outcome.finalUrl`): for a failure,
   * the target that answered 404 or refused the connection. Shown redacted, in a failure's story.
   */
  finalUrl?: string
  /** Failure code (`http-404`, `timeout`, ...). */
  error?: string
  /** One-line failure message. */
  message?: string
  /** A table row's caption (`--caption-col`): shown on its image's tile, and as the image's text alternative. */
  caption?: string
  /** Where the input holds a failed job (`'urls.txt' line 3`, `photos.csv line 12`): shown with its message. */
  place?: string
  /**
   * Whether the failure is transient: trying again may succeed (the `retryable` of the
   * `ImgpullError` that ended the job). When absent it is derived from `error` ({@link isTransient}).
   */
  retryable?: boolean
  /** Requests made for this job, retries included. */
  attempts: number
  /**
   * Failed in an earlier run and skipped by this one (a permanent failure): counted as failed,
   * but its `attempts`, `answers` and `ttfb` are that run's, not requests of the run reported.
   */
  failedBefore?: true
  /** Milliseconds from request to response headers (last attempt). */
  ttfb?: number
  /** Milliseconds the last attempt took, from its request to the body's end: the viewer's "time taken", a sort of the sheet. */
  total?: number
  /** When the outcome was reached, ms since the epoch: places the item on the throughput chart. */
  finishedAt?: number
  /**
   * HTTP statuses seen over the attempts, with counts, e.g. `{ "429": 2, "200": 1 }`. When absent,
   * the last `httpStatus` stands for one answer.
   */
  answers?: Record<string, number>
  /** A small thumbnail, relative to the output folder, when one was made; else the file is shown scaled. */
  thumb?: string
  /**
   * Failed or not finished in an earlier run, and not seen by this one, which read its input to
   * the end: another input was run into the folder, so a rerun of this command leaves the job.
   */
  otherInput?: boolean
}

/** What the scheduler did for one host at one moment (defined with the engine's types). */
export type { HostSample } from '../../types.js'

import type { HostSample } from '../../types.js'

/** Credit for one Unsplash photo (the API guidelines ask for the photographer and Unsplash, linked). */
export interface Attribution {
  /** The file, relative to the output folder. */
  path: string
  photographer: string
  /** The photographer's Unsplash profile (with the referral query). Only http(s) addresses are linked. */
  profileUrl: string
  /** The photo's page on Unsplash (with the referral query). Only http(s) addresses are linked. */
  photoUrl: string
}

export interface ReportInput {
  /** Heading of the page, e.g. the output folder's name. */
  title: string
  /** The command line that produced the folder; an `--access-key` value in it is hidden. */
  command?: string
  /** When the run began and ended, ms since the epoch. Wall time, rates and the charts' span. */
  startedAt: number
  endedAt: number
  /** The run stopped before its end (Ctrl-C, kill, crash): the page says so at the top. */
  interrupted: boolean
  /**
   * The run is still going on (a process holds the folder): the page says so at the top, with the
   * moment its figures are of, instead of calling it interrupted, and gives no rerun advice (a
   * second run would be refused until it ends).
   * @default false
   */
  running?: boolean
  /**
   * `manifest.jsonl` beside the page holds this run's outcomes (it is written as a run ends: one
   * killed or still going has an earlier run's, or none). The failures then also say the jq
   * command that lists their URLs from it, beside `imgpull status --failed`, which reads the journal.
   * @default false
   */
  manifest?: boolean
  /**
   * The output folder's name, as a command run in the folder that holds it names it: the failures
   * say `imgpull status NAME --failed CODE > CODE.txt`, which lists their URLs from its journal.
   * @default the title
   */
  folder?: string
  /**
   * Every job the journal knows, latest outcome. Read once, in one pass, keeping only bounded
   * state: a generator over the journal serves 100 million rows in constant memory.
   */
  items: Iterable<ReportItem>
  /**
   * Per-host scheduler samples; empty for folders written before they were recorded. Read twice
   * (first to find the busiest hosts, then for their charts): an array, or an object whose
   * `[Symbol.iterator]()` starts afresh each time (a journal query), not a generator.
   */
  samples: Iterable<HostSample>
  /** Unsplash runs: one entry per photo. */
  attribution?: readonly Attribution[]
  /**
   * The images are inside WebDataset tar shards, which a browser cannot open: the page draws no
   * contact sheet and says where the images are instead.
   * @default false
   */
  shards?: boolean
  /**
   * The folder is a queue's output folder (the workers' `-o`, see queue/publish.ts): the page is of
   * all its shards, each as of its latest run (`items` and `samples` run through them in shard
   * order; an item's `path` relative to this folder). It then names the queue and where its shards
   * stand instead of a command, says shards being run or stopped before their end instead of a run
   * going on or interrupted, and tells to enqueue the input again to retry failures.
   */
  queue?: QueueFacts
}

/** Where a queue's output folder's shards stand (see `ReportInput.queue`). */
export interface QueueFacts {
  /** The queue's name, when the folder says (its `input.json`). */
  name?: string
  /** Shards with a journal in the folder. */
  shards: number
  /** Published: whole in the folder (`00012/`, or `00012.tar`). */
  published: number
  /** Being run by a worker now (its lock held). */
  running: number
  /** Begun and stopped before their end (a worker stopped or killed): the queue gives them out again. */
  stopped: number
  /** Numbers below the highest shard here with no journal here. */
  notStarted: number
}

/** Knobs of the renderer. All optional; the defaults suit any run. */
export interface RenderOptions {
  /**
   * Most images the contact sheet holds. A larger run shows a random sample of this many, in run
   * order, and says so.
   * @default 10000
   */
  sheetLimit?: number
  /** Example URLs per failure group (code and host). @default 3 */
  examples?: number
  /** Rows of the host table; the rest are summed in one line. @default 100 */
  hostRows?: number
  /** Hosts given a concurrency chart, busiest first. @default 6 */
  chartHosts?: number
  /** Most bars of the throughput chart. @default 60 */
  maxBars?: number
  /** Most points of each concurrency chart. @default 120 */
  maxPoints?: number
}

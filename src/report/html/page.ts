import { createHash } from 'node:crypto'
import { visibleShellWord } from '../../utils/command-line.js'
import { printable } from '../../utils/printable.js'
import { redactUrl } from '../../utils/url.js'
import { VERSION } from '../../version.js'
import { counted, formatBytes, formatDuration, grouped, utcTime } from '../format.js'
import { inputOwnWords, queueRerunWords, rerunWords, sharePageWords } from '../rerun-words.js'
import { axisTime, barChart, byteRateUnit, concurrencyChart, short, stepLabel } from './charts.js'
import { CLIENT_SCRIPT } from './client.js'
import { shownCredits } from './credits.js'
import { esc, httpHref, jsonForScript, readableOrigin, redactCommand } from './escape.js'
import { describeError, type FailureStory, failureKind, failuresByHost, sharedUrl } from './failures.js'
import { computeFigures, type ReportFigures, resolveRenderOptions } from './figures.js'
import { FOLD_LEAST, foldAlike, foldBy, sumRows } from './hosts.js'
import type { SheetEntry } from './sheet.js'
import { STYLE } from './style.js'
import type { QueueFacts, RenderOptions, ReportInput } from './types.js'

/** Tiles per page of the contact sheet: 48 fills rows of 2, 3, 4, 6 and 8. */
export const SHEET_PAGE_SIZE = 48
/** Credits per page of the attribution list. */
export const CREDITS_PAGE_SIZE = 60
/** Hosts listed per failure code; the rest are summed in one line. At most `EXAMPLE_HOSTS`: those have examples. */
const FAILURE_HOSTS = 10

const n = grouped
/** Longest host kept on one line in a table; a longer one (a bucket's, a hashed subdomain) may break after its dots. */
const ONE_LINE_HOST = 40

/**
 * A host as people read it (see readableOrigin), its ASCII form on hover where that differs; jobs
 * whose URL has none (`invalid-url`) are grouped under an empty host. Kept whole on its line, a
 * host of 250 characters (four labels of 63) made a failure table 2,830 px wide in its 1,044 px
 * box, its examples one letter a line: a long one breaks after its dots instead.
 */
const hostLabel = (host: string) => {
  if (!host) return '<em>no host</em>'
  const shown = readableOrigin(host)
  const text =
    shown.length > ONE_LINE_HOST
      ? `<span class="long-host">${esc(shown).replaceAll('.', '.<wbr>')}</span>`
      : esc(shown)
  return shown === host ? text : `<span title="${esc(host)}">${text}</span>`
}
const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`

/**
 * The report as one self-contained HTML document: style, data and script inline, no request to
 * any network. Its Content-Security-Policy allows only its own style and script (by hash) and
 * images from files, so not even a value that slipped past escaping could run or fetch anything.
 * Deterministic: the same input gives the same bytes. The folder's name and the command line (its
 * URLs pasted from anywhere) show control characters and bidi marks as escapes, as the failures'
 * examples do: a U+202E in a pasted URL reversed the rest of the command as shown.
 *
 * @throws TypeError when an option is not a positive integer, `startedAt` or `endedAt` is not a
 * number, or `samples` is a generator (it is read twice).
 */
export function renderReport(input: ReportInput, options: RenderOptions = {}): string {
  const o = resolveRenderOptions(options)
  return page(input, computeFigures(input, o), o)
}

function page(input: ReportInput, f: ReportFigures, o: Required<RenderOptions>): string {
  const { shown: credits, total: allCredits } = shownCredits(input.attribution ?? [], f.sheet, o.sheetLimit)
  const creditOf = new Map(credits.map((c, i) => [c.path, i]))
  // The examples the page shows, in its order: each one's story, for the failure viewer.
  const stories = shownStories(f.failures)
  const data = {
    pageSize: SHEET_PAGE_SIZE,
    creditsPageSize: CREDITS_PAGE_SIZE,
    // Rows as arrays, not objects: a 10,000-image sample stays a few hundred kilobytes.
    sheet: {
      total: f.sheet.total,
      rows: f.sheet.entries.map((e) => [
        e.path,
        e.thumb ?? null,
        e.bytes ?? null,
        e.width ?? null,
        e.height ?? null,
        e.format ?? null,
        creditOf.get(e.path) ?? null,
        // Only where there is one: a run without captions keeps its rows as they were.
        ...(e.caption === undefined ? [] : [e.caption]),
      ]),
    },
    credits: credits.map((c) => [
      c.path,
      c.photographer,
      httpHref(c.profileUrl) ?? null,
      httpHref(c.photoUrl) ?? null,
    ]),
  }
  const dataJson = jsonForScript(data)
  const storiesJson = stories.length ? jsonForScript(stories) : ''
  // What the reader's place kept in a history entry is of (the client's `ours`): it names rows and
  // examples by their place, which a page rewritten since (a rerun, `imgpull report`) gives others.
  const version = createHash('sha256')
    .update(dataJson)
    .update('\0')
    .update(storiesJson)
    .digest('hex')
    .slice(0, 16)
  const csp = [
    "default-src 'none'",
    `style-src ${sha256(STYLE)}`,
    `script-src ${sha256(CLIENT_SCRIPT)}`,
    "img-src 'self' file: data: blob:",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ')
  const sections = [
    ['images', 'Images'],
    ['failures', 'Failures'],
    ['hosts', 'Hosts'],
    ['throughput', 'Throughput'],
    ...(credits.length ? [['attribution', 'Attribution']] : []),
  ]
  return `<!doctype html>
<html lang="en" data-version="${version}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${esc(csp)}">
<meta name="color-scheme" content="light dark">
<meta name="generator" content="imgpull ${esc(VERSION)}">
<title>${esc(printable(input.title))} · imgpull report</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top"><div class="wrap">
<p class="eyebrow">imgpull report</p>
<h1>${esc(printable(input.title))}</h1>
<p class="when">Started <time datetime="${new Date(input.startedAt).toISOString()}" data-local>${esc(utcTime(input.startedAt))}</time> · ${input.running && !input.interrupted ? 'running for' : 'ran'} ${esc(formatDuration(f.summary.wallMs))}${input.interrupted ? ' · <strong>interrupted</strong>' : input.running ? ' · <strong>still running</strong>' : ''}</p>
${input.queue ? queueLine(input.queue) : input.command ? `<pre class="command"><code>$ ${esc(printable(redactCommand(input.command)))}</code></pre>` : ''}
<nav class="sections" aria-label="Sections"><ul>${sections.map(([id, label]) => `<li><a href="#${id}">${label}</a></li>`).join('')}</ul></nav>
</div></header>
<main id="main" tabindex="-1"><div class="wrap">
${input.queue ? queueBanner(f, input.queue, input.endedAt, input.folder ?? input.title) : input.interrupted ? interruptedBanner(f) : input.running ? runningBanner(f, input.endedAt) : ''}
${summarySection(f)}
${imagesSection(f, creditOf.size > 0)}
${failuresSection(f, input.command, input.running === true, input.manifest === true, input.folder ?? input.title, input.queue)}
${hostsSection(f, o.hostRows)}
${throughputSection(f, (input.running === true && !input.interrupted) || (input.queue?.running ?? 0) > 0)}
${credits.length ? creditsSection(credits.length, allCredits, f.shards) : ''}
</div></main>
<footer><div class="wrap">Made by imgpull ${esc(VERSION)}. ${input.queue ? (f.shards ? "Every job's outcome is in its shard's Parquet file beside this one (<code>00000.parquet</code>…)." : "Every job's outcome, one JSON line each, is in its shard's <code>manifest.jsonl</code> (<code>00000/manifest.jsonl</code>…).") : "Every job's outcome, one JSON line each, is in <code>manifest.jsonl</code> beside this file."}</div></footer>
${f.sheet.total && !f.shards ? VIEWER : ''}
${stories.length ? FAILURE_VIEWER : ''}
<script type="application/json" id="report-data">${dataJson}</script>
${f.sheet.total && !f.shards ? `<script type="application/json" id="report-more">${jsonForScript(viewerData(f.sheet.entries))}</script>` : ''}
${storiesJson ? `<script type="application/json" id="report-failures">${storiesJson}</script>` : ''}
<script>${CLIENT_SCRIPT}</script>
</body>
</html>
`
}

/**
 * What the viewer (a tile opened large) says of an image beyond its tile's figures, and what the
 * sheet sorts by, as `[skipped, httpStatus, ms]`: 1 for an image already there from an earlier run,
 * else 0; the last answer's HTTP status and the milliseconds its last attempt took (rounded),
 * `null` where unknown.
 */
export function viewerFigures(e: SheetEntry): [0 | 1, number | null, number | null] {
  return [e.skipped ? 1 : 0, e.httpStatus ?? null, e.total === undefined ? null : Math.round(e.total)]
}

/**
 * An image's URL as the viewer shows it, `[url, link]`: as the page shows one (`sharedUrl`: no
 * credentials nor signature, cut at 300 characters, invisible marks as escapes); `link` 1 where
 * that text is its http(s) address, the address where it differs (encoding), `null` where there
 * is none to link (cut, or no http(s) URL).
 */
export function viewerUrl(e: SheetEntry): [string, 1 | string | null] {
  const { url, cut } = sharedUrl(e.url)
  const address = cut ? undefined : httpHref(url)
  return [url, address === undefined ? null : address === url ? 1 : address]
}

/**
 * The viewer: a tile opened large, over the page, with its name and figures, Previous and Next
 * through the tiles the filter and sort give, and a close button (Esc, a click beside the image,
 * Back close it too). A modal `<dialog>` (the page behind it inert, the focus kept inside),
 * filled by the script: one for the page, none per image.
 */
const VIEWER = `<dialog class="viewer" id="viewer" role="dialog" aria-modal="true" aria-labelledby="viewer-name">
<div class="viewer-bar"><p class="viewer-at" data-viewer-at aria-live="polite"></p><a class="viewer-file" data-viewer-file>Open the file</a><button type="button" class="viewer-close" data-viewer-close aria-label="Close the image">×</button></div>
<div class="viewer-stage" data-viewer-stage></div>
<button type="button" class="viewer-step viewer-prev" data-viewer-prev aria-label="Previous image">‹</button>
<button type="button" class="viewer-step viewer-next" data-viewer-next aria-label="Next image">›</button>
<div class="viewer-about"><h2 id="viewer-name" class="viewer-name" dir="auto"></h2><p class="viewer-caption" data-viewer-caption dir="auto"></p><dl class="viewer-facts" data-viewer-facts></dl></div>
</dialog>`

/**
 * What the viewer says of the sample's images and a sort of the sheet by time or status needs,
 * which opening the page does not: in a block of its own that the page parses when first needed
 * (the rows keep their shape). Their URLs (see viewerUrls) and `figures`, each image's
 * `viewerFigures`.
 */
export function viewerData(entries: readonly SheetEntry[]) {
  return { ...viewerUrls(entries), figures: entries.map(viewerFigures) }
}

/**
 * The sample's URLs for the viewer (see viewerUrl), each origin written once: `origins`, and for
 * each image `[origin, rest, link]`, its URL `origins[origin] + rest` (`origin` -1 and `rest` the
 * whole where it begins with none of them). A page's bytes are its opening time (a 200,000-URL
 * run's 10,000 URLs whole tripled the page, 0.56 to 1.55 MB); the origin is a third of a URL.
 */
export function viewerUrls(entries: readonly SheetEntry[]): {
  origins: string[]
  urls: [number, string, 1 | string | null][]
} {
  const origins: string[] = []
  const index = new Map<string, number>()
  const urls = entries.map((e): [number, string, 1 | string | null] => {
    const [url, link] = viewerUrl(e)
    const origin = /^https?:\/\/[^/?#]+/i.exec(url)?.[0]
    if (origin === undefined) return [-1, url, link]
    let at = index.get(origin)
    if (at === undefined) {
      at = origins.push(origin) - 1
      index.set(origin, at)
    }
    return [at, url.slice(origin.length), link]
  })
  return { origins, urls }
}

function runningBanner(f: ReportFigures, at: number): string {
  const left = f.rerun.pending
    ? ` ${counted(f.rerun.pending, 'job')} ${f.rerun.pending === 1 ? 'is' : 'are'} not finished yet.`
    : ''
  return `<div class="banner" role="note" data-running><strong>This run is still going on</strong>: the figures below are those of <time datetime="${new Date(at).toISOString()}" data-local>${esc(utcTime(at))}</time>.${left} It writes this page again when it ends; <code>imgpull report</code> does meanwhile.</div>`
}

/** A queue's output folder: its queue, and where its shards stand, in place of a command line. */
function queueLine(q: QueueFacts): string {
  const parts = [
    `${n(q.published)} published`,
    `${n(q.running)} being run now`,
    `${n(q.stopped)} stopped before their end`,
    `${n(q.notStarted)} not started below the highest here`,
  ]
  return `<p class="when" data-figure="queue">The output folder of queue <code>${esc(printable(q.name ?? 'NAME'))}</code>; its ${counted(q.shards, 'shard')} here: ${parts.join(', ')}.</p>`
}

/**
 * A queue's output folder with shards not published: being run by workers (the figures move), or
 * stopped before their end (a worker stopped or killed: the queue gives them out again). Workers
 * never write this page: `imgpull report` does.
 */
function queueBanner(f: ReportFigures, q: QueueFacts, at: number, folder: string): string {
  if (!q.running && !q.stopped) return ''
  // Its -o: a worker started from the words without it wrote into the current folder, where the
  // stopped shard's journal is not, and ran the shard over there.
  const out = visibleShellWord(folder.startsWith('-') ? `./${folder}` : folder)
  const left = f.rerun.pending
    ? ` ${counted(f.rerun.pending, 'job')} ${f.rerun.pending === 1 ? 'is' : 'are'} not finished yet.`
    : ''
  const name = esc(printable(q.name ?? 'NAME'))
  const running = q.running
    ? `<strong>Workers are running ${counted(q.running, 'shard')} of this folder</strong>: the figures below are those of <time datetime="${new Date(at).toISOString()}" data-local>${esc(utcTime(at))}</time>. `
    : ''
  const stopped = q.stopped
    ? `<strong>${counted(q.stopped, 'shard')} stopped before ${q.stopped === 1 ? 'its' : 'their'} end</strong> (a worker stopped or killed): the queue gives ${q.stopped === 1 ? 'it' : 'them'} to a worker again, which goes on from ${q.stopped === 1 ? 'its journal' : 'their journals'} here (<code>imgpull worker --queue ${name} -o ${esc(out)}</code>), unless ${q.stopped === 1 ? 'it' : 'one'} failed for good or a worker with an output folder of its own ran ${q.stopped === 1 ? 'it' : 'one'} there (<code>imgpull status --queue ${name}</code> says; enqueuing the input again puts a failed one back). `
    : ''
  return `<div class="banner" role="note" data-${q.running ? 'running' : 'interrupted'}>${running}${stopped}${left} <code>imgpull report</code> writes this page again at any time.</div>`
}

function interruptedBanner(f: ReportFigures): string {
  const left = f.rerun.pending
    ? ` ${counted(f.rerun.pending, 'job')} ${f.rerun.pending === 1 ? 'was' : 'were'} not finished.`
    : ' The figures below are what it finished.'
  return `<div class="banner" role="note" data-interrupted><strong>This run was interrupted</strong> before its end.${left} Run the same command again to continue where it stopped.</div>`
}

/** One card of the summary: `data-figure` marks the value, whose first text node is the figure alone. */
function figure(
  key: string,
  label: string,
  value: string,
  more: { unit?: string; note?: string; zero?: boolean } = {},
): string {
  const unit = more.unit ? `<span class="unit"> ${esc(more.unit)}</span>` : ''
  const note = more.note ? `<small>${esc(more.note)}</small>` : ''
  // A count of none is not news: plain ink, not the green or red of the count it would be.
  return `<div class="${key}${more.zero ? ' zero' : ''}"><dt>${esc(label)}</dt><dd data-figure="${key}">${esc(value)}${unit}${note}</dd></div>`
}

/**
 * The Failed card's note. A rerun's failures are its own and those an earlier run left, which it
 * skipped: the terminal's line says them apart ('167 failed, ... 337 skipped as permanently failed
 * before'), so the card does too, or its one figure (504) matches nothing the terminal printed.
 */
function failedNote(s: ReportFigures['summary']): string {
  const share = `${short((100 * s.failed) / s.total)} % of jobs`
  if (!s.failedBefore) return share
  return `${share}: ${n(s.failed - s.failedBefore)} in this run, ${n(s.failedBefore)} skipped as failed before`
}

function summarySection(f: ReportFigures): string {
  const s = f.summary
  const cards = [
    figure('ok', 'Downloaded', n(s.ok), { note: formatBytes(s.bytes), zero: s.ok === 0 }),
    s.skipped ? figure('skipped', 'Already there', n(s.skipped), { note: 'from earlier runs' }) : '',
    figure('failed', 'Failed', n(s.failed), s.failed ? { note: failedNote(s) } : { zero: true }),
    s.pending ? figure('pending', 'Not finished', n(s.pending)) : '',
    figure('wall', 'Wall time', formatDuration(s.wallMs)),
    figure('rate', 'Rate', short(s.imagesPerSecond), {
      unit: 'img/s',
      note: `${formatBytes(Math.round(s.bytesPerSecond))}/s`,
    }),
  ]
  return `<section class="block" id="summary" aria-labelledby="summary-h">
<h2 id="summary-h" class="visually-hidden">Summary</h2>
<dl class="figures">${cards.join('')}</dl>
${causes(f.failures)}
</section>`
}

/** Codes named on the first screen; the rest are 'N more'. */
const TOP_CAUSES = 6

/**
 * What failed, on the first screen: the commonest codes with their counts, each a link to its
 * group (a closed one opens as it is reached). The groups came after the contact sheet, six rows
 * of tiles below the count of failures, which said how many and not why. Counted as the terminal
 * and `imgpull status` count them, `http-404 ×403`: `http-400 400` read as a code twice.
 */
function causes(groups: ReportFigures['failures']): string {
  if (!groups.length) return ''
  const shown = groups
    .slice(0, TOP_CAUSES)
    .map((g, i) => `<a href="#failure-${i}"><code>${esc(g.code)}</code> ×${n(g.count)}</a>`)
  const rest = groups.length - shown.length
  return `<p class="causes" data-figure="causes"><a href="#failures">What failed</a>: ${shown.join(', ')}${rest ? `, and ${counted(rest, 'more code')}` : ''}.</p>`
}

/**
 * The sheet's orders (the script's `SORTS` has each key): run order as written, then what a reader
 * looks for, the smallest files or images first to find the broken and the thumbnails served in
 * place of photos, the slowest to find a slow host.
 */
const SHEET_SORT = `<label>Sort images by <select data-sort>${[
  ['', 'run order'],
  ['name', 'name'],
  ['size-down', 'size, largest first'],
  ['size-up', 'size, smallest first'],
  ['pixels-down', 'dimensions, largest first'],
  ['pixels-up', 'dimensions, smallest first'],
  ['time-down', 'time taken, longest first'],
  ['status', 'status'],
]
  .map(([key, label]) => `<option value="${key}">${label}</option>`)
  .join('')}</select></label>`

/** `credited`: some tile names its photographer (an Unsplash run), which the filter then searches too. */
function imagesSection(f: ReportFigures, credited: boolean): string {
  const { total, entries } = f.sheet
  // How to use the sheet, in the words of the device: a phone has no hover and no Enter key (its
  // captions are always shown, see the style sheet), and was told to hover, focus and press Enter.
  // The how-to, the filter and the pager are the script's to show (`hidden` here): with scripts
  // off there is no tile to hover, and a filter box and Previous and Next that do nothing.
  const how =
    '<span data-scripted hidden><span class="how-pointer">Hover or focus an image for its name, size and dimensions; a click or Enter shows it large, with its URL and status.</span>' +
    '<span class="how-touch">Each image shows its name, size and dimensions; tap it to see it large, with its URL and status.</span></span>'
  const lead = f.shards
    ? esc(
        'The images are inside the WebDataset shards (00000.tar, 00001.tar…), which a browser cannot open; the Parquet file beside each shard lists its samples, failures included.',
      )
    : total === 0
      ? esc('No images in this folder yet.')
      : entries.length < total
        ? `${esc(`A random sample of ${n(entries.length)} of the ${n(total)} images, in the order they were downloaded.`)} ${how}`
        : `${esc(`${counted(total, 'image')}.`)} ${how}`
  return `<section class="block" id="images" aria-labelledby="images-h">
<h2 id="images-h">Images</h2>
<p class="lead" data-figure="sheet">${lead}</p>
${
  total
    ? `<div class="tools" data-scripted hidden><label>Filter by ${filterWords(
        entries.some((e) => e.caption),
        credited,
      )} <input type="search" autocomplete="off" spellcheck="false"></label>${SHEET_SORT}<span class="visually-hidden" data-heard aria-live="polite"></span></div>
<ul class="sheet" data-list aria-label="Images"></ul>
<nav class="pager" data-pager aria-label="Image pages" hidden><button type="button" data-prev>Previous</button><span class="status" data-status aria-live="polite"></span><button type="button" data-next>Next</button></nav>
<noscript><p class="empty">The contact sheet is drawn by the page's script; with scripts off, open the files in the folder.</p></noscript>`
    : ''
}
</section>`
}

function failuresSection(
  f: ReportFigures,
  command: string | undefined,
  running: boolean,
  manifest: boolean,
  folder: string,
  queue: QueueFacts | undefined,
): string {
  const r = f.rerun
  // A queue's shard is tried again by enqueue (see rerunWords), not by its worker's command; so
  // are the shards of a queue's folder.
  const words = queue ? queueRerunWords(queue.name ?? 'NAME') : rerunWords(command)
  // What a plain rerun does (see retriedOnRerun): the unfinished, and failures with a passing cause.
  // A queue's unfinished jobs are in shards its workers have not finished (see queueBanner).
  const pending = queue ? 0 : r.pending
  const again = pending + r.transient
  const rerun: string[] = []
  if (again) {
    const parts = [
      pending ? `the ${counted(pending, 'job')} not finished yet` : '',
      r.transient
        ? `the ${counted(r.transient, 'failure')} with a passing cause (timeouts, network errors, cut bodies, 429 and 5xx answers)`
        : '',
    ].filter(Boolean)
    rerun.push(
      words.queue === undefined
        ? `A rerun of the same command tries ${parts.join(' and ')} again.`
        : `Enqueuing the same input again (<code>imgpull enqueue INPUTS --queue ${esc(words.queue)}</code>) re-opens ${queue ? `the ${r.transient === 1 ? 'shard that holds it' : 'shards that hold them'}` : 'this shard'} and tries ${parts.join(' and ')} again.`,
    )
  }
  // Before --retry-failed: that would fetch the same pages again, another link in the input helps.
  if (r.sharePages) rerun.push(`${esc(sharePageWords(r.sharePages))}.`)
  if (r.permanent) {
    // "It" only right after a sentence that names the rerun: alone, it named nothing.
    const subject =
      again && !r.sharePages
        ? 'It'
        : words.queue === undefined
          ? 'A rerun of the same command'
          : 'Enqueuing the same input again'
    rerun.push(
      `${subject} skips the ${counted(r.permanent, 'permanent failure')} (${r.permanent === 1 ? 'it' : 'they'} would fail again) unless ${words.queue === undefined ? 'you add' : 'it is enqueued with'} <code>--retry-failed</code>.`,
    )
  }
  if (r.input) {
    // No request is made for them: --retry-failed cannot help, mending the list or table does.
    rerun.push(`${esc(inputOwnWords(r.input))}.`)
  }
  if (r.otherInput) {
    // Another list run into this folder earlier: this command's rerun never reads those jobs.
    rerun.push(
      `${rerun.length ? 'The other' : 'The'} ${counted(r.otherInput, 'failed or unfinished job')} ${r.otherInput === 1 ? 'is' : 'are'} from an earlier run of another input into this folder: a rerun of this command leaves ${r.otherInput === 1 ? 'it' : 'them'}; the command that listed ${r.otherInput === 1 ? 'it' : 'them'} takes ${r.otherInput === 1 ? 'it' : 'them'} up again.`,
    )
  }
  // What a rerun does is for once the run has ended (as \`imgpull status\` says): one now is refused.
  // Not so an enqueue while a queue's workers run.
  if (running && !queue) rerun.length = 0
  // The whole list, where the page shows three examples a host (with signing parameters masked, so
  // its URLs cannot be fetched again): the journal holds every URL as given, at any moment, also
  // after a kill or during the run; the manifest too, with jq, when it is this run's (see
  // ReportInput.manifest).
  const lists = f.failures.length > 0
  const story = { next: 0 }
  const list = lists
    ? `<p data-figure="failed-list">Every failed URL as given, one a line, read from ${queue ? "its shards' journals" : "the folder's journal"} (also during a run or after a kill), run where the folder <code>${esc(printable(folder))}</code> is: ${listCommand(folder)}${manifest && !running ? `; or with jq, run in the folder, from the <code>manifest.jsonl</code> beside this page: ${jqCommand()}` : ''}</p>`
    : ''
  const body = f.failures.length
    ? `${f.failures.length > 1 || f.failures[0].hosts.length > 1 ? FAILURE_SORT : ''}<div class="groups">${f.failures.map((g, i) => failureGroup(g, i, lists, folder, story)).join('\n')}</div>`
    : `<p class="lead" data-figure="no-failures">Nothing failed.</p>`
  return `<section class="block" id="failures" aria-labelledby="failures-h">
<h2 id="failures-h">Failures</h2>
${rerun.length || list ? `<div class="rerun">${rerun.length ? `<p data-figure="rerun">${rerun.join(' ')}</p>` : ''}${list}</div>` : ''}
${byHost(f)}
${body}
</section>`
}

/**
 * The failures' orders, the script's to apply (hidden without it): the groups by their count as
 * written, or by code (`http-403` before `http-404` before `timeout`: the status codes together),
 * and each group's hosts by their count as written, or by name (natural order).
 */
const FAILURE_SORT = `<div class="tools" data-failure-tools hidden><label>Sort failures by <select data-failure-sort>${[
  ['', 'most failures first'],
  ['code', 'error code'],
  ['host', 'host name'],
]
  .map(([key, label]) => `<option value="${key}">${label}</option>`)
  .join('')}</select></label></div>`

/** Hosts of the failures by host; the rest are summed in one line. */
const BY_HOST_ROWS = 20

/**
 * The failures by host, each with its codes (each a link to its group): which hosts failed, and
 * why, where the groups say it code by code. Closed until opened, for two hosts or more.
 */
function byHost(f: ReportFigures): string {
  const { rows, restHosts, restCount, restCodes } = failuresByHost(f.failures, f.hosts, BY_HOST_ROWS)
  if (rows.length + restHosts < 2) return ''
  const codes = (list: readonly [string, number, number][]) =>
    list
      .map(([code, count, group]) => `<a href="#failure-${group}"><code>${esc(code)}</code> ×${n(count)}</a>`)
      .join(', ')
  // Hosts of the same failures (a list's dead domains, each 'dns ×1') are one line, as in the host table.
  const body = foldBy(
    rows,
    (r) => `${r.count} ${r.codes.map(([code, count]) => `${code}:${count}`).join(' ')}`,
  )
    .map(
      (line) =>
        `<tr>${hostHead(line.hosts, 'failures')}<td class="n">${n(line.figures.count)}</td><td>${codes(line.figures.codes)}</td></tr>`,
    )
    .join('')
  const foot = restHosts
    ? `<tfoot><tr><td>${counted(restHosts, 'more host')}</td><td class="n">${n(restCount)}</td><td>${codes(restCodes)}</td></tr></tfoot>`
    : ''
  const hosts = rows.length + restHosts
  return `<details class="by-host" data-figure="by-host"><summary>By host: ${counted(hosts, 'host')}${restHosts ? `, the ${n(rows.length)} with the most failures` : ''}, each with its codes</summary>
<div class="table-wrap" role="region" aria-label="Failures by host" tabindex="0"><table>
<caption class="visually-hidden">Failures by host, with their codes</caption>
<thead><tr><th scope="col" class="host">Host</th><th scope="col" class="n">Failures</th><th scope="col">Codes</th></tr></thead>
<tbody>${body}</tbody>${foot}</table></div></details>`
}

/** Groups shown open; the others are one line each until opened. */
const OPEN_GROUPS = 3

/**
 * The shell command that lists, one a line, the URLs of the folder's failures (of `code` alone when
 * given; `unknown` is a failure without one): `imgpull status FOLDER --failed [CODE] > FILE`,
 * run in the folder that holds `folder` (any system, no jq, also after a kill: it reads the
 * journal). Its `data-failed-list` attribute is the code, `*` for all.
 */
function listCommand(folder: string, code?: string): string {
  // A code is checked by the caller (kebab-case): no quote to escape. A name that begins with `-`
  // would be read as an option.
  const where = visibleShellWord(folder.startsWith('-') ? `./${folder}` : folder)
  const file = code === undefined ? 'failed' : code.replace(/^http-/, '')
  const command = `imgpull status ${where} --failed${code === undefined ? '' : ` ${code}`} > ${file}.txt`
  return `<code class="cmd" data-failed-list="${esc(code ?? '*')}">${esc(command)}</code>`
}

/**
 * The same list of all failures from the manifest, run in the report's folder with jq, as the
 * README's other recipes: only where the manifest is this run's. Its `data-failed-list-jq` is `*`.
 */
function jqCommand(): string {
  const command = `jq -r 'select(.status == "failed") | .url' manifest.jsonl`
  return `<code class="cmd" data-failed-list-jq="*">${esc(command)}</code>`
}

/**
 * The stories of the examples the failure groups show (`FAILURE_HOSTS` hosts a group), in the
 * page's order: the example written `data-failure="K"` is the K-th. A block the page parses when a
 * failure is first opened (see FAILURE_VIEWER); a few hundred at most, not one a failed row.
 */
export function shownStories(groups: ReportFigures['failures']): FailureStory[] {
  return groups.flatMap((g) => g.hosts.slice(0, FAILURE_HOSTS).flatMap((h) => h.examples.map((e) => e.story)))
}

/**
 * The failure viewer: an example of the failures opened over the page, with what the journal has
 * of it (its code, message, HTTP status, attempts and their answers, host, where redirects led,
 * timings, what a rerun does) and its URL to copy; Previous and Next through the examples in the
 * order the failures' sort gives. A modal `<dialog>` as the image viewer, filled by the script.
 */
const FAILURE_VIEWER = `<dialog class="viewer failure-viewer" id="failure-viewer" role="dialog" aria-modal="true" aria-labelledby="failure-name">
<div class="viewer-bar"><p class="viewer-at" data-viewer-at aria-live="polite"></p><button type="button" class="viewer-close" data-viewer-close aria-label="Close the failure">×</button></div>
<button type="button" class="viewer-step viewer-prev" data-viewer-prev aria-label="Previous failure">‹</button>
<div class="viewer-stage failure-story" data-failure-story><div class="viewer-about"><h2 id="failure-name" class="viewer-name"></h2><p class="viewer-caption" data-viewer-caption dir="auto"></p><dl class="viewer-facts" data-viewer-facts></dl><p class="failure-copy"><button type="button" data-copy-url>Copy the URL</button> <span data-copied aria-live="polite"></span></p></div></div>
<button type="button" class="viewer-step viewer-next" data-viewer-next aria-label="Next failure">›</button>
</dialog>`

function failureGroup(
  g: ReportFigures['failures'][number],
  index: number,
  lists: boolean,
  folder: string,
  story: { next: number },
): string {
  const kind = `<span class="tag${g.transient === 0 ? ' permanent' : ''}">${esc(failureKind(g))}</span>`
  const description = describeError(g.code)
  const shown = g.hosts.slice(0, FAILURE_HOSTS)
  const rest = g.hosts.slice(FAILURE_HOSTS)
  const rows = shown.map(
    (h) =>
      `<tr><th scope="row" class="host">${hostLabel(h.host)}</th><td class="n">${n(h.count)}</td><td><ul class="examples">${h.examples
        .map((e) => {
          const url = redactUrl(e.url)
          const href = e.cut ? undefined : httpHref(url)
          const text = `<code>${esc(url)}</code>`
          const message = e.message ?? ''
          // Its story's index (see shownStories), and the button that opens it: shown once the
          // script runs (see the style sheet), which alone can open it.
          const k = story.next++
          return `<li data-failure="${k}">${href ? `<a href="${esc(href)}" rel="noreferrer">${text}</a>` : text} <button type="button" class="why" data-failure-open>details<span class="visually-hidden"> of this failure</span></button>${message ? `<span class="msg">${esc(message)}</span>` : ''}</li>`
        })
        .join('')}</ul></td></tr>`,
  )
  const more = rest.length
    ? `<tfoot><tr><td>${counted(rest.length, 'more host')}</td><td class="n">${n(rest.reduce((a, h) => a + h.count, 0))}</td><td></td></tr></tfoot>`
    : ''
  const id = `failure-${index}`
  return `<details class="failure" data-code="${esc(g.code)}"${index < OPEN_GROUPS ? ' open' : ''}>
<summary><span class="code" id="${id}"><code>${esc(g.code)}</code></span><span class="count">${counted(g.count, 'failure')} at ${counted(g.hosts.length, 'host')}</span>${kind}</summary>
${description ? `<p class="meaning">${esc(description)}</p>` : ''}
<div class="table-wrap" role="region" aria-labelledby="${id}" tabindex="0">
<table><caption class="visually-hidden">${esc(g.code)} failures by host, with examples</caption>
<thead><tr><th scope="col" class="host">Host</th><th scope="col" class="n">Failures</th><th scope="col">Examples</th></tr></thead>
<tbody>${rows.join('')}</tbody>${more}</table></div>
${lists && /^[a-z0-9-]+$/.test(g.code) ? `<p class="list">${g.count === 1 ? 'Its URL' : `All ${n(g.count)} of its URLs`}, one a line: ${listCommand(folder, g.code)}</p>` : ''}
</details>`
}

function ms(value: number | undefined): string {
  return value === undefined ? '–' : `${n(value)} ms`
}

/** Names listed under a folded line of the host table; the others counted. */
const FOLDED_NAMES = 100

/**
 * A line's head in a table of hosts: the host's name, or for hosts of the same figures or failures
 * (see foldBy) their count, which opens the list of their names (each figure of the line is each one's).
 */
function hostHead(hosts: readonly string[], same: 'figures' | 'failures'): string {
  if (hosts.length < FOLD_LEAST) return `<th scope="row" class="host">${hostLabel(hosts[0] ?? '')}</th>`
  const names = hosts.slice(0, FOLDED_NAMES).map((h) => `<li>${hostLabel(h)}</li>`)
  const more = hosts.length - names.length
  if (more) names.push(`<li class="more">${counted(more, 'more host')}</li>`)
  return `<th scope="row" class="host alike"><details><summary>${n(hosts.length)} hosts with the same ${same}</summary><ul>${names.join('')}</ul></details></th>`
}

function hostsSection(f: ReportFigures, limit: number): string {
  const anySkipped = f.hosts.some((h) => h.skipped)
  const anyPending = f.hosts.some((h) => h.pending)
  const head = [
    '<th scope="col" class="host">Host</th>',
    // Tries, not requests: a refused connection counts, where its failure says no request reached the host.
    '<th scope="col" class="n"><abbr title="tries of its files, retries included, a connection that failed before any request was sent too">Attempts</abbr></th>',
    '<th scope="col" class="n">OK</th>',
    anySkipped ? '<th scope="col" class="n">Already there</th>' : '',
    '<th scope="col" class="n">Failed</th>',
    anyPending ? '<th scope="col" class="n">Not finished</th>' : '',
    '<th scope="col" class="n"><abbr title="429 Too Many Requests answers">429</abbr></th>',
    '<th scope="col" class="n"><abbr title="503 Service Unavailable answers">503</abbr></th>',
    '<th scope="col" class="n">TTFB median</th>',
    '<th scope="col" class="n">TTFB p95</th>',
  ].join('')
  // Each figure names its column (data-label): on a phone the rows are a host's name, then its
  // figures as 'Failed 25' side by side (see the style sheet), with no column to name them.
  const cell = (label: string, value: string) => `<td class="n" data-label="${label}">${value}</td>`
  const cells = (r: Omit<(typeof f.hosts)[number], 'host'>) =>
    [
      cell('Attempts', n(r.requests)),
      cell('OK', n(r.ok)),
      anySkipped ? cell('Already there', n(r.skipped)) : '',
      cell('Failed', n(r.failed)),
      anyPending ? cell('Not finished', n(r.pending)) : '',
      cell('429', n(r.answers429)),
      cell('503', n(r.answers503)),
      cell('TTFB median', ms(r.ttfbMedian)),
      cell('TTFB p95', ms(r.ttfbP95)),
    ].join('')
  const lines = foldAlike(f.hosts)
  const shown = lines.slice(0, limit)
  const rest = lines.slice(limit)
  const restHosts = rest.reduce((sum, line) => sum + line.hosts.length, 0)
  const rows = shown
    .map((line) => `<tr>${hostHead(line.hosts, 'figures')}${cells(line.figures)}</tr>`)
    .join('')
  const foot = rest.length
    ? `<tfoot><tr><th scope="row">${counted(restHosts, 'more host')}</th>${cells(sumRows(rest))}</tr></tfoot>`
    : ''
  // The table's box is a region named apart from the section's 'Hosts': a screen reader's list of
  // landmarks said 'Hosts' twice. The note is above the table's box, not its caption: a caption is as wide as the table, and on
  // a phone, where the table scrolls in its box, it was cut after '95th'.
  const table = f.hosts.length
    ? `<p class="note">Time to first byte (TTFB) is the median and 95th percentile of each job's last attempt.</p>
<div class="table-wrap" role="region" aria-label="Hosts table" tabindex="0"><table id="host-table">
<caption class="visually-hidden">Attempts, outcomes, 429 and 503 answers and time to first byte, by host</caption>
<thead><tr>${head}</tr></thead><tbody>${rows}</tbody>${foot}</table></div>`
    : '<p class="lead">No hosts: the run had no jobs.</p>'
  return `<section class="block" id="hosts" aria-labelledby="hosts-h">
<h2 id="hosts-h">Hosts</h2>
${table}
${concurrencyBlock(f)}
</section>`
}

/** A chart's figure is named by its caption through aria-labelledby: Chromium names no figure by its figcaption. */
function concurrencyBlock(f: ReportFigures): string {
  const c = f.concurrency
  const span = f.summary.wallMs
  if (c.series.length === 0) {
    return `<h3 id="concurrency-h">Concurrency over time</h3>
<p class="lead">No transfer was in flight when one was looked for (every 250 ms for the first 10 s, then every second): the run fetched nothing, or its transfers were over within a quarter of a second.</p>`
  }
  const panels = c.series.map(
    (s, i) =>
      `<figure class="panel" aria-labelledby="conc-${i}-cap"><figcaption id="conc-${i}-cap"><span class="host">${hostLabel(s.host)}</span> · limit up to ${n(s.peakLimit)}</figcaption>${concurrencyChart(`conc-${i}`, s, c.step, span)}</figure>`,
  )
  return `<h3 id="concurrency-h">Concurrency over time</h3>
<p class="lead">Transfers in flight (mean per ${esc(stepLabel(c.step))}) against the host's limit (highest in that time), for ${c.series.length === 1 ? 'the busiest host' : `the ${counted(c.series.length, 'busiest host')}`}.</p>
<p class="legend" aria-hidden="true"><span>in flight</span><span class="key-limit">limit</span></p>
<div class="multiples">${panels.join('')}</div>`
}

/**
 * Images and bytes over time; for a run still going on (or a queue's shards being run) that has
 * downloaded nothing, that nothing is so far: it said "during this run", as of a run over, under the
 * banner saying it was still going on.
 */
function throughputSection(f: ReportFigures, going: boolean): string {
  const t = f.throughput
  const span = f.summary.wallMs
  const outside = t.outside
    ? ` ${counted(t.outside, 'image')} finished outside this run (by an earlier run, or without a time) and ${t.outside === 1 ? 'is' : 'are'} not shown.`
    : ''
  if (f.summary.ok - t.outside <= 0) {
    return `<section class="block" id="throughput" aria-labelledby="throughput-h">
<h2 id="throughput-h">Throughput</h2>
<p class="lead">${going ? 'Nothing was downloaded yet: the run is still going on.' : 'Nothing was downloaded during this run.'}${esc(outside)}</p>
</section>`
  }
  const range = (b: (typeof t.bins)[number]) =>
    `${axisTime(b.start, span)}–${axisTime(b.start + b.width, span)}`
  const images = barChart({
    id: 'tp-images',
    name: 'images',
    title: 'Images per second',
    unit: 'images/s',
    bins: t.bins,
    spanMs: span,
    value: (b) => b.imagesPerSecond,
    tooltip: (b) => `${range(b)}: ${counted(b.images, 'image')}, ${short(b.imagesPerSecond)} images/s`,
  })
  const rate = byteRateUnit(Math.max(0, ...t.bins.map((b) => b.bytesPerSecond)))
  const bytes = barChart({
    id: 'tp-bytes',
    name: 'bytes',
    title: `Data per second (${rate.unit})`,
    unit: rate.unit,
    bins: t.bins,
    spanMs: span,
    value: (b) => b.bytesPerSecond / rate.scale,
    tooltip: (b) =>
      `${range(b)}: ${formatBytes(b.bytes)}, ${short(b.bytesPerSecond / rate.scale)} ${rate.unit}`,
  })
  const rows = t.bins
    .map(
      (b) =>
        `<tr><th scope="row">${range(b)}</th><td class="n">${n(b.images)}</td><td class="n">${short(b.imagesPerSecond)}</td><td class="n">${short(b.bytesPerSecond / rate.scale)}</td></tr>`,
    )
    .join('')
  return `<section class="block" id="throughput" aria-labelledby="throughput-h">
<h2 id="throughput-h">Throughput</h2>
<p class="lead">Images finished per ${esc(stepLabel(t.step))}, from the start of the run.${esc(outside)}</p>
<figure class="panel" aria-labelledby="images-rate-cap"><figcaption id="images-rate-cap">Images per second</figcaption>${images}</figure>
<figure class="panel" aria-labelledby="bytes-rate-cap"><figcaption id="bytes-rate-cap">Data per second, ${rate.unit}</figcaption>${bytes}</figure>
<details><summary>The same figures as a table</summary>
<div class="table-wrap" role="region" aria-label="Throughput table" tabindex="0"><table id="throughput-table">
<thead><tr><th scope="col">Time</th><th scope="col" class="n">Images</th><th scope="col" class="n">Images/s</th><th scope="col" class="n">${rate.unit}</th></tr></thead>
<tbody>${rows}</tbody></table></div></details>
</section>`
}

function creditsSection(count: number, total: number, shards: boolean): string {
  const which =
    count === total
      ? `${counted(count, 'photo')} from Unsplash`
      : `${shards ? 'The first' : 'The'} ${n(count)} of the ${n(total)} photos from Unsplash${shards ? '' : ' that the contact sheet shows'}`
  const rest = count === total ? '' : ' <code>ATTRIBUTION.md</code> beside this file credits every one.'
  return `<section class="block" id="attribution" aria-labelledby="attribution-h">
<h2 id="attribution-h">Attribution</h2>
<p class="lead" data-figure="credits">${which}, credited to the photographers as the Unsplash API guidelines ask.${rest}</p>
<ul class="credits" data-list aria-label="Photo credits"></ul>
<nav class="pager" data-pager aria-label="Credit pages" hidden><button type="button" data-prev>Previous</button><span class="status" data-status aria-live="polite"></span><button type="button" data-next>Next</button></nav>
<noscript><p class="empty">The credits are listed by the page's script; with scripts off, <code>ATTRIBUTION.md</code> beside this file credits every photo.</p></noscript>
</section>`
}

/** What the sheet's filter searches, as its label says it: a tile's name, and its caption and photographer where some tile has one. */
function filterWords(captions: boolean, credited: boolean): string {
  const words = ['name', ...(captions ? ['caption'] : []), ...(credited ? ['photographer'] : [])]
  return words.length < 3 ? words.join(' or ') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`
}

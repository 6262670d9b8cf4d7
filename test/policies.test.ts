import assert from 'node:assert/strict'
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { Readable } from 'node:stream'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { gzipSync } from 'node:zlib'
import { Command } from 'commander'
import { liveTerminal, wantsColor } from '../src/cli/color.js'
import { flagWords } from '../src/cli/flag-words.js'
import {
  attachedName,
  type OptionPlace,
  otherToolOption,
  type RunCommand,
  withoutSecret,
} from '../src/cli/other-tools.js'
import { autoOrInteger, header, seconds, secondsOrZero, waitSeconds } from '../src/cli/parse.js'
import { progressLogSeconds } from '../src/cli/progress-interval.js'
import {
  emptyInputLine,
  maxSizeWarning,
  nestedRunWarning,
  swapSignalHandler,
  threadsWarning,
} from '../src/cli/pull-command.js'
import { columnList } from '../src/cli/table-options.js'
import { oneDashLong, valueGivenToFlag } from '../src/cli/taken-as-value.js'
import { contentLengthWords, type GatewayAnswer, TimeoutError, UsageError } from '../src/errors.js'
import { AUTO_THREADS_MAX, AutoThreadBudget, autoThreads } from '../src/fetch/auto-threads.js'
import { Body } from '../src/fetch/exchange.js'
import type { HostGate } from '../src/fetch/host-gate.js'
import {
  type HostLimit,
  limitOnPressure,
  limitOnSuccess,
  limitShared,
  limitStart,
  roomToGrow,
} from '../src/fetch/host-limit.js'
import { lengthens, SILENT_AFTER } from '../src/fetch/host-silence.js'
import { readHttpDate } from '../src/fetch/http-date.js'
import { bodyText } from '../src/fetch/nginx-pages.js'
import { outOfReachWords } from '../src/fetch/out-of-reach.js'
import { writeAll } from '../src/fetch/part-file.js'
import {
  fromHost,
  GATEWAY_FILES,
  gatewayGivesUp,
  proxyMayHaveWritten,
  toldOutOfReach,
} from '../src/fetch/proxy-silence.js'
import { readRefusal } from '../src/fetch/rate-limit-headers.js'
import { MOST_VISITS, REVISIT_WAIT_CAP, revisit, tooManyNote } from '../src/fetch/redirect-revisit.js'
import { notFoundCode, reservedNameWords } from '../src/fetch/reserved-names.js'
import { honouredWait, parseRetryAfter, retryDelay } from '../src/fetch/retry-delay.js'
import {
  crowdedCredit,
  doubtSettled,
  type FailureFacts,
  isPressure,
  isTurnedAway,
  keepsPart,
  LOOKUP_AGAIN_MS,
  MAX_CROWDED_REFUSALS,
  MAX_PROGRESS_ATTEMPTS,
  MIN_PROGRESS_BYTES,
  onFailure,
  outlasts,
  progressFree,
  proxyLimitWait,
  refusesRange,
  resetReading,
  retriedOnRerun,
} from '../src/fetch/retry-policy.js'
import { Scheduler } from '../src/fetch/scheduler.js'
import { isStaleAnswer } from '../src/fetch/send.js'
import { UNANSWERED_LOOKUPS } from '../src/fetch/shared-lookup.js'
import {
  giveWay,
  paceOf,
  paceWords,
  type SharedBody,
  sharedAtDeadline,
  steadyAtDeadline,
  stoppedAt,
  trickledOut,
} from '../src/fetch/steady-body.js'
import { successBody } from '../src/fetch/success-status.js'
import { keepsDying, READY_DEATHS, READY_DEATHS_MS } from '../src/fetch/transfer-threads.js'
import { unaskedStatus } from '../src/fetch/unasked-status.js'
import { drawWait, resolveOptions } from '../src/options.js'
import { type Entry, notUrl, parseFetchUrl, severalUrls } from '../src/plan/url-problem.js'
import { changedFile, heldOptions, otherOptions } from '../src/queue/enqueue.js'
import { redisAddress } from '../src/queue/redis.js'
import { counted, formatBytes, grouped, plural, sizeText } from '../src/report/format.js'
import { progressText } from '../src/report/progress.js'
import { rerunByCommand } from '../src/report/rerun-words.js'
import { newTally, summaryLine } from '../src/report/summary.js'
import { type CutWords, deadlineWords } from '../src/run/deadline.js'
import { answeredUrl } from '../src/run/retry.js'
import { isOwnOutput, type OwnOutput } from '../src/sinks/own-outputs.js'
import { cutAtBuffer, listBytes, parseLine, readLines } from '../src/sources/lines.js'
import { commandLine } from '../src/utils/command-line.js'
import { parseDuration } from '../src/utils/duration.js'
import { Fifo } from '../src/utils/fifo.js'
import { fileFault } from '../src/utils/near-file.js'
import { nearWord } from '../src/utils/near-word.js'
import { nativeFault } from '../src/utils/own-code.js'
import { RecentMap } from '../src/utils/recent.js'
import { parseSize } from '../src/utils/size.js'
import {
  decodeLeniently,
  maskSigning,
  redactUrl,
  requestTarget,
  unescapedUrl,
  urlKey,
  withoutSigning,
} from '../src/utils/url.js'

test('retry delay: exponential window with full jitter, capped', () => {
  const table: [number, number, number][] = [
    // retry, random, expected ms (base 500, cap 30 s)
    [1, 0, 0],
    [1, 0.999, 499],
    [2, 0.5, 500],
    [3, 0.5, 1000],
    [6, 0.999, 15984],
    [7, 0.999, 29970],
    [20, 0.999, 29970],
  ]
  for (const [retry, random, expected] of table) {
    assert.equal(retryDelay({ retry, random, maxRetryAfter: 60_000 }), expected, `retry ${retry}`)
  }
})

test("retry delay: the server's Retry-After wins, capped by maxRetryAfter", () => {
  assert.equal(retryDelay({ retry: 1, retryAfter: 3000, maxRetryAfter: 60_000, random: 0.9 }), 3000)
  assert.equal(retryDelay({ retry: 1, retryAfter: 600_000, maxRetryAfter: 60_000 }), 60_000)
  assert.equal(retryDelay({ retry: 1, retryAfter: -5, maxRetryAfter: 60_000 }), 0)
  // maxRetryAfter 0: the server's word is ignored, the own backoff applies.
  assert.equal(retryDelay({ retry: 3, retryAfter: 3000, maxRetryAfter: 0, random: 0.5 }), 1000)
  // spread: the server's wait, then a share of the own window (2000 ms at the third retry).
  assert.equal(
    retryDelay({ retry: 3, retryAfter: 3000, maxRetryAfter: 60_000, random: 0.5, spread: true }),
    4000,
  )
  assert.equal(
    retryDelay({ retry: 3, retryAfter: 600_000, maxRetryAfter: 60_000, random: 0, spread: true }),
    60_000,
  )
  assert.equal(retryDelay({ retry: 3, retryAfter: 3000, maxRetryAfter: 0, random: 0.5, spread: true }), 1000)
})

test("honouredWait: the server's Retry-After as taken, the clamp retryDelay and onFailure share", () => {
  const table: [number | undefined, number, number | undefined][] = [
    // retryAfter, maxRetryAfter, taken (ms)
    [3000, 60_000, 3000],
    [60_000, 60_000, 60_000],
    [600_000, 60_000, 60_000],
    [0, 60_000, 0],
    [-5, 60_000, 0],
    // maxRetryAfter 0: none is honoured.
    [3000, 0, undefined],
    [undefined, 60_000, undefined],
    [undefined, 0, undefined],
  ]
  for (const [retryAfter, maxRetryAfter, expected] of table) {
    const name = `Retry-After ${retryAfter} under ${maxRetryAfter}`
    assert.equal(honouredWait(retryAfter, maxRetryAfter), expected, name)
    // retryDelay waits it when there is one (no spread), its own window otherwise (500 ms, no jitter).
    assert.equal(
      retryDelay({ retry: 1, retryAfter, maxRetryAfter, jitter: false }),
      expected ?? 500,
      `retryDelay: ${name}`,
    )
  }
})

test('HTTP-dates (RFC 9110 §5.6.7): the three forms, read by their grammar and calendar, not by V8', () => {
  const now = Date.parse('2026-12-06T00:00:00Z')
  const table: [string, string | undefined][] = [
    ['Sun, 06 Nov 1994 08:49:37 GMT', '1994-11-06T08:49:37.000Z'],
    ['Sunday, 06-Nov-94 08:49:37 GMT', '1994-11-06T08:49:37.000Z'],
    ['Sun Nov  6 08:49:37 1994', '1994-11-06T08:49:37.000Z'],
    ['Thu, 01 Jan 1970 00:00:00 GMT', '1970-01-01T00:00:00.000Z'],
    ['Wed, 31 Dec 1969 23:59:59 GMT', '1969-12-31T23:59:59.000Z'],
    ['Fri, 31 Dec 9999 23:59:59 GMT', '9999-12-31T23:59:59.000Z'],
    ['Thu, 29 Feb 2024 00:00:00 GMT', '2024-02-29T00:00:00.000Z'],
    // A leap second names the instant after the minute's last.
    ['Sat, 31 Dec 2016 23:59:60 GMT', '2017-01-01T00:00:00.000Z'],
    // RFC 850's two-digit year: more than 50 years ahead is the last century's (2070 is 44 ahead).
    ['Thursday, 01-Jan-70 00:00:00 GMT', '2070-01-01T00:00:00.000Z'],
    ['Friday, 01-Jan-77 00:00:00 GMT', '1977-01-01T00:00:00.000Z'],
    ['Wednesday, 16-Dec-26 08:49:37 GMT', '2026-12-16T08:49:37.000Z'],
    // V8's Date.parse reads each of these as some date: none is an HTTP-date.
    ['Mon, 01 Jan 0001 00:00:00 GMT', '0001-01-01T00:00:00.000Z'],
    ['Sat, 31 Feb 2024 00:00:00 GMT', undefined],
    ['Tue, 31 Apr 2024 00:00:00 GMT', undefined],
    ['Thu, 29 Feb 2025 00:00:00 GMT', undefined],
    ['Mon, 01 Jan 2024 24:00:00 GMT', undefined],
    ['Mon, 01 Jan 2024 23:60:00 GMT', undefined],
    ['Mon, 01 Jan 2024 23:59:61 GMT', undefined],
    ['Mon, 00 Jan 2024 00:00:00 GMT', undefined],
    ['0', undefined],
    ['2026', undefined],
    ['Mon, 32 Foo 2026 99:99:99 GMT', undefined],
  ]
  for (const [value, iso] of table) {
    const ms = readHttpDate(value, now)
    assert.equal(ms === undefined ? undefined : new Date(ms).toISOString(), iso, value)
  }
})

test('Retry-After: delta seconds and HTTP dates', () => {
  const now = Date.parse('2026-01-01T00:00:00Z')
  assert.equal(parseRetryAfter('120', now), 120_000)
  assert.equal(parseRetryAfter(' 7 ', now), 7000)
  assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now), 30_000)
  assert.equal(parseRetryAfter('thu, 1 jan 2026 00:00:30 gmt', now), 30_000)
  assert.equal(parseRetryAfter('Thursday, 01-Jan-26 00:01:00 GMT', now), 60_000)
  assert.equal(parseRetryAfter('Thu Jan  1 00:00:05 2026', now), 5000, 'asctime is GMT')
  // A date names whole seconds: a clock 558 ms into its second waits to the date's, not 29.442 s
  // (a year ahead was said as 'a wait of 31535999.442 s').
  assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now + 558), 30_000)
  assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:00 GMT', now - 558), 1000)
  assert.equal(parseRetryAfter(['3', '9'], now), 3000)
  // One value twice in one field, as a proxy joins a field set twice: the value when the copies
  // agree (it was read as none, and the own backoff's retries came long before it).
  assert.equal(parseRetryAfter('30, 30', now), 30_000)
  assert.equal(parseRetryAfter('30,30', now), 30_000)
  const date = 'Thu, 01 Jan 2026 00:00:30 GMT'
  assert.equal(parseRetryAfter(`${date}, ${date}`, now), 30_000)
  assert.equal(parseRetryAfter(`30, ${date}`, now), 30_000, 'the same wait, two ways')
  // No wait named: the caller's own backoff applies.
  for (const none of [' 0 ', 'Wed, 31 Dec 2025 00:00:00 GMT', 'Thu, 01 Jan 2026 00:00:00 GMT']) {
    assert.equal(parseRetryAfter(none, now), undefined, none)
  }
  // Not delta-seconds nor an HTTP-date (V8's Date.parse takes several for dates in 2001).
  // Seconds with a fraction (Sentry's `292.052427053`: opensearch-project/data-prepper#6927) name
  // a wait too, to the next millisecond: read as none, the backoff retried long before it.
  assert.equal(parseRetryAfter('1.5', now), 1500)
  assert.equal(parseRetryAfter('292.0524', now), 292_053)
  // A date whose zone is GMT by another name or an offset (Go's RFC1123 `UTC`, Python's `-0000`).
  for (const [zoned, ms] of [
    ['Thu, 01 Jan 2026 00:00:30 UTC', 30_000],
    ['Thu, 01 Jan 2026 00:00:30 -0000', 30_000],
    ['Thu, 01 Jan 2026 01:00:30 +0100', 30_000],
    ['Wed, 31 Dec 2025 19:00:30 -0500', 30_000],
  ] as const)
    assert.equal(parseRetryAfter(zoned, now), ms, zoned)
  for (const bad of ['Thu, 01 Jan 2026 00:00:30 +0099', 'Thu, 01 Jan 2026 00:00:30 CET', '30 UTC']) {
    assert.equal(parseRetryAfter(bad, now), undefined, bad)
  }
  for (const bad of [
    'soon',
    '-1.5',
    '.5',
    '1.',
    '-1',
    '+5',
    '5, 10',
    '30, ',
    ', 30',
    `${'Thu, 01 Jan 2026 00:00:30 GMT'}, Thu, 01 Jan 2026 00:00:40 GMT`,
    'garbage 1',
    '2026-01-01T00:01:00Z',
    '1e3',
    '',
  ]) {
    assert.equal(parseRetryAfter(bad, now), undefined, bad)
  }
  assert.equal(parseRetryAfter(undefined, now), undefined)
  // A date is read against the answer's Date, not this machine's clock (a worker's, 2 minutes ahead).
  const served = 'Thu, 01 Jan 2026 00:00:00 GMT'
  assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now + 120_000, served), 30_000)
  assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now - 600_000, [served]), 30_000)
  assert.equal(parseRetryAfter('120', now + 120_000, served), 120_000, 'seconds are seconds')
  assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now, 'yesterday'), 30_000, 'no Date read')
  // The answer's Date in RFC 850's or asctime's form, as the Retry-After beside it may be: read
  // too. It was only in IMF-fixdate's, and a worker 2 minutes ahead saw the wait as past (none).
  for (const form of [
    'Thursday, 01-Jan-26 00:00:00 GMT',
    'Thu Jan  1 00:00:00 2026',
    'thu,  01 JAN 2026 00:00:00 gmt',
  ])
    assert.equal(parseRetryAfter('Thursday, 01-Jan-26 00:00:30 GMT', now + 120_000, form), 30_000, form)
})

test("revisit: a request sent again up to MOST_VISITS times, after the 3xx's Retry-After within the caps; then a loop", () => {
  const cases: [number, number | undefined, number, ReturnType<typeof revisit>][] = [
    [1, undefined, 60_000, { do: 'follow', wait: 0 }],
    [2, 1000, 60_000, { do: 'follow', wait: 1000 }],
    [1, 30_000, 60_000, { do: 'follow', wait: REVISIT_WAIT_CAP }],
    [1, 5000, 2000, { do: 'follow', wait: 2000 }],
    [1, 5000, 0, { do: 'follow', wait: 0 }],
    [MOST_VISITS, undefined, 60_000, { do: 'loop' }],
    [MOST_VISITS, 1000, 60_000, { do: 'loop' }],
  ]
  for (const [sent, retryAfter, max, want] of cases)
    assert.deepEqual(revisit(sent, retryAfter, max), want, `${sent} ${retryAfter} ${max}`)
})

test('tooManyNote: a URL come round with other cookies is a loop the limit will not end; any other chain is only long', () => {
  const r = (url: string, cookie = '') => ({ url, cookie })
  const LOOP = /^: a loop over (\d+) URLs?, each asked again with the new cookies its last answer set/
  const LONG = ' (--max-redirects allows more)'
  const cases: [string, { url: string; cookie: string }[], string | number][] = [
    ['all different: a long chain', [r('a'), r('b'), r('c')], LONG],
    ['a self-redirect counting in a cookie (n=1, n=2...)', [r('a'), r('a', 'n=1'), r('a', 'n=2')], 1],
    ['A to B to A, a new cookie at each turn', [r('a'), r('b', 'n=1'), r('a', 'n=2'), r('b', 'n=3')], 2],
    // Sent again with the same cookies: revisit's "come again" (a thumbnail being made), not a cookie loop.
    ['a URL asked again with the same cookies, then a long chain', [r('a'), r('a'), r('b'), r('c')], LONG],
    // A new query at every turn (einaregilsson/Redirector#131): a loop, told by its paths.
    ['a self-redirect with a new timestamp each time', ['', 1, 2, 3, 4].map((t) => r(`h/a?t=${t}`)), -1],
    [
      'A to B to A, each with a new counter',
      [1, 2, 3, 4, 5, 6, 7, 8].map((t) => r(`h/${'ab'[t % 2]}?n=${t}`)),
      -2,
    ],
    ['a path asked with 3 queries, then a long chain', [r('h/a'), r('h/a?x'), r('h/a?y'), r('h/b')], LONG],
  ]
  const QUERIES = /^: a loop over (\d+) paths?, each asked again with another query/
  for (const [what, chain, want] of cases) {
    const note = tooManyNote(chain)
    if (typeof want === 'string') assert.equal(note, want, what)
    else assert.equal((want < 0 ? QUERIES : LOOP).exec(note)?.[1], String(Math.abs(want)), `${what}: ${note}`)
  }
})

test("readRefusal: a rate limiter's reset names the wait Retry-After does not; a 403 with its quota spent is a 429", () => {
  const now = Date.parse('2026-01-01T00:00:00Z')
  const at = now / 1000
  const cases: [
    string,
    number,
    Record<string, string>,
    { status: number; retryAfter?: number; waitFrom?: string },
  ][] = [
    [
      'Retry-After first',
      429,
      { 'retry-after': '5', 'x-ratelimit-reset': '60' },
      { status: 429, retryAfter: 5000, waitFrom: 'Retry-After' },
    ],
    [
      'GitHub: 403, Unix time',
      403,
      { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(at + 30) },
      { status: 429, retryAfter: 30_000, waitFrom: 'X-RateLimit-Reset' },
    ],
    [
      'GitHub: 429, Unix time',
      429,
      { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(at + 30) },
      { status: 429, retryAfter: 30_000, waitFrom: 'X-RateLimit-Reset' },
    ],
    [
      'Twitter',
      429,
      { 'x-rate-limit-remaining': '0', 'x-rate-limit-reset': String(at + 9) },
      { status: 429, retryAfter: 9000, waitFrom: 'X-Rate-Limit-Reset' },
    ],
    [
      'Reddit: seconds, 0.0 left',
      429,
      { 'x-ratelimit-remaining': '0.0', 'x-ratelimit-reset': '296' },
      { status: 429, retryAfter: 296_000, waitFrom: 'X-RateLimit-Reset' },
    ],
    [
      'Discord: reset-after',
      429,
      { 'x-ratelimit-reset-after': '1.5' },
      { status: 429, retryAfter: 1500, waitFrom: 'X-RateLimit-Reset-After' },
    ],
    [
      'draft 06',
      503,
      { 'ratelimit-remaining': '0', 'ratelimit-reset': '12' },
      { status: 503, retryAfter: 12_000, waitFrom: 'RateLimit-Reset' },
    ],
    [
      'draft 08+: the longest spent policy',
      429,
      { ratelimit: '"burst";r=0;t=10, "day";r=5;t=3600, "hour";r=0;t=40' },
      { status: 429, retryAfter: 40_000, waitFrom: 'RateLimit' },
    ],
    [
      'draft 08+ as a 403',
      403,
      { ratelimit: '"default";r=0;t=20' },
      { status: 429, retryAfter: 20_000, waitFrom: 'RateLimit' },
    ],
    [
      // Draft 07's one Dictionary (ietf-wg-httpapi/ratelimit-headers#125; express-rate-limit's draft-7).
      "draft 07's RateLimit",
      429,
      { ratelimit: 'limit=100, remaining=0, reset=25', 'ratelimit-policy': '100;w=60' },
      { status: 429, retryAfter: 25_000, waitFrom: 'RateLimit' },
    ],
    [
      // A date: an HTTP-date (wraithgar/hapi-rate-limit#19), RFC 3339's (diegosouzapw/OmniRoute#13321).
      'a reset as an HTTP-date',
      429,
      { 'ratelimit-reset': new Date(now + 30_000).toUTCString() },
      { status: 429, retryAfter: 30_000, waitFrom: 'RateLimit-Reset' },
    ],
    [
      'a reset as an RFC 3339 timestamp',
      503,
      { 'x-ratelimit-reset': new Date(now + 12_500).toISOString().replace('Z', '+00:00') },
      { status: 503, retryAfter: 12_500, waitFrom: 'X-RateLimit-Reset' },
    ],
    [
      'a reset as a date past',
      429,
      { 'x-ratelimit-reset': new Date(now - 5000).toISOString() },
      { status: 429 },
    ],
    [
      'a reset as a date without its zone',
      429,
      { 'x-ratelimit-reset': '2099-01-01T00:00:00' },
      { status: 429 },
    ],
    [
      "draft 07's RateLimit, quota left",
      429,
      { ratelimit: 'limit=100, remaining=3, reset=25' },
      { status: 429 },
    ],
    [
      'a Unix time in ms',
      429,
      { 'x-ratelimit-reset': String(now + 2500) },
      { status: 429, retryAfter: 2500, waitFrom: 'X-RateLimit-Reset' },
    ],
    // A Unix time in micro- or nanoseconds (pubg/api-documentation-content#61): told by the unit
    // that puts it within a year of the clock; it was read as ms, a wait of 54,000 years.
    [
      'a Unix time in µs',
      429,
      { 'x-ratelimit-reset': String((now + 2500) * 1000) },
      { status: 429, retryAfter: 2500, waitFrom: 'X-RateLimit-Reset' },
    ],
    [
      'a Unix time in ns',
      429,
      { 'x-ratelimit-reset': `${now + 2500}000000` },
      { status: 429, retryAfter: 2500, waitFrom: 'X-RateLimit-Reset' },
    ],
    [
      'a Unix time 20 years ahead',
      429,
      { 'x-ratelimit-reset': String(at + 20 * 366 * 86400) },
      { status: 429 },
    ],
    [
      'a reset and a quota joined with their copies',
      403,
      { 'x-ratelimit-remaining': '0, 0', 'x-ratelimit-reset': `${at + 30}, ${at + 30}` },
      { status: 429, retryAfter: 30_000, waitFrom: 'X-RateLimit-Reset' },
    ],
    ['copies that disagree', 429, { 'x-ratelimit-reset': `${at + 30}, ${at + 90}` }, { status: 429 }],
    // No wait named: the own backoff applies.
    ['a reset in the past', 429, { 'x-ratelimit-reset': String(at - 5) }, { status: 429 }],
    ['garbage', 429, { 'x-ratelimit-reset': 'soon', ratelimit: 'r=0' }, { status: 429 }],
    // A 403 with quota left is a refusal of this file, and no other status waits on a reset.
    [
      '403, quota left',
      403,
      { 'x-ratelimit-remaining': '12', 'x-ratelimit-reset': String(at + 30) },
      { status: 403 },
    ],
    ['plain 403', 403, {}, { status: 403 }],
    ['404 with a reset', 404, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '30' }, { status: 404 }],
  ]
  for (const [what, status, headers, want] of cases) {
    const got = readRefusal(status, headers, now)
    assert.deepEqual(
      { status: got.status, retryAfter: got.retryAfter, waitFrom: got.waitFrom },
      { retryAfter: undefined, waitFrom: undefined, ...want },
      what,
    )
  }
  // A Unix time is read against the server's Date: a machine whose clock is a minute ahead waits as long.
  const served = {
    date: new Date(now).toUTCString(),
    'x-ratelimit-remaining': '0',
    'x-ratelimit-reset': String(at + 30),
  }
  assert.equal(readRefusal(403, served, now + 60_000).retryAfter, 30_000)
  // A Date that is no HTTP-date (V8 reads '0' as 2000): the reset is read on this machine's clock,
  // not as 26 years away.
  assert.equal(readRefusal(429, { date: '0', 'x-ratelimit-reset': String(at + 30) }, now).retryAfter, 30_000)
  assert.deepEqual(readRefusal(403, served, now).sent, { status: 403, why: 'X-RateLimit-Remaining: 0' })
})

const INF = Number.POSITIVE_INFINITY
const fresh = (limit: number, ceiling = INF) => ({ ...limitStart(limit), ceiling })

const pressed = (s: HostLimit, n: number, rateLimited = true) => {
  for (let i = 0; i < n; i++) s = limitOnPressure(s, rateLimited)
  return s
}

/** `n` clean answers, the maximum 16. */
const grown = (s: HostLimit, n: number) => {
  for (let i = 0; i < n; i++) s = limitOnSuccess(s, 16)
  return s
}

test('host limit: halves under pressure, never below one, grows by one per window of clean answers', () => {
  let s = pressed(limitStart(16), 4)
  assert.equal(s.limit, 8)
  assert.equal(s.ceiling, 16)
  for (let i = 0; i < 8; i++) s = pressed(s, 2)
  assert.equal(s.limit, 1, 'never below one')
  s = fresh(1, 100)
  s = limitOnSuccess(s, 16)
  assert.equal(s.limit, 2)
  s = grown(s, 2)
  assert.equal(s.limit, 3)
  s = grown(s, 1000)
  assert.equal(s.limit, 16, 'never above the maximum')
})

test('host limit: complaints are pressure when they are a quarter of a window of answers', () => {
  let s = pressed(fresh(16), 3, false)
  assert.equal(s.limit, 16, 'three 503s in 16 answers change nothing')
  s = grown(s, 13)
  s = pressed(s, 3, false)
  assert.equal(s.limit, 16, 'a full window forgot the first three')
  s = limitOnPressure(s, false)
  assert.equal(s.limit, 8, 'a fourth in the same window halves the limit')
  assert.equal(s.ceiling, INF, 'and leaves growth at full speed')
  s = pressed(fresh(16), 4, true)
  assert.equal(s.limit, 8, '429s halve it too')
  assert.equal(s.ceiling, 16, 'and after 429s growth is careful near where they came')
  assert.equal(
    pressed(fresh(4), 2).limit,
    2,
    'a window is at least 8 answers, and two complaints in it are enough',
  )

  // A healthy host with 6% of answers faulty (the bench's faults scenario) keeps its limit.
  let healthy = fresh(64)
  for (let i = 0; i < 2000; i++)
    healthy = i % 17 === 0 ? limitOnPressure(healthy, i % 2 === 0) : limitOnSuccess(healthy, 64)
  assert.equal(healthy.limit, 64)
})

test('host limit: growth slows near the level that last drew a complaint', () => {
  let s = pressed(fresh(5), 2)
  assert.equal(s.limit, 2)
  assert.equal(s.ceiling, 5)
  s = grown(s, 2)
  assert.equal(s.limit, 3)
  s = grown(s, 3)
  assert.equal(s.limit, 4, 'fast while well below the ceiling')
  s = grown(s, 31)
  assert.equal(s.limit, 4, 'careful just under it')
  s = limitOnSuccess(s, 16)
  assert.equal(s.limit, 5)

  // 429s again at that level: it is the host's limit, and the next probe of it waits twice as long.
  s = pressed(s, 2)
  assert.equal(s.limit, 2)
  s = grown(s, 5)
  assert.equal(s.limit, 4)
  s = grown(s, 63)
  assert.equal(s.limit, 4, 'sixteen times slower now')
  s = limitOnSuccess(s, 16)
  assert.equal(s.limit, 5)
  for (let i = 0; i < 5; i++) s = limitOnSuccess(pressed(s, 2), 16)
  assert.equal(s.careful, 64, 'never slower than 64 times')

  // Past the level that drew them (the host takes more now), one slot per window again: a short
  // episode of 429s does not slow growth for the rest of the run.
  let past = { ...fresh(5, 4), careful: 64 }
  past = grown(past, 5)
  assert.equal(past.limit, 6)
  past = grown(past, 6 + 7 + 8)
  assert.equal(past.limit, 9)
})

test('host limit, adaptive: slow start while ttfb stays flat, stops where the host starts queueing', () => {
  let s = limitStart(16)
  for (let i = 0; i < 16; i++) s = limitOnSuccess(s, 96, 50, true)
  assert.equal(s.limit, 32, 'one round of clean answers doubles the limit')
  for (let i = 0; i < 100; i++) s = limitOnSuccess(s, 96, 52, true)
  assert.equal(s.limit, 96, 'up to the maximum')

  let q = limitStart(16)
  for (let i = 0; i < 16; i++) q = limitOnSuccess(q, 96, 50, true)
  const before = q.limit
  for (let i = 0; i < 60; i++) q = limitOnSuccess(q, 96, 400, true)
  assert.ok(q.ceiling <= before + 2, `queueing sets the ceiling near where the limit stood: ${q.ceiling}`)
  assert.ok(q.limit <= before + 12, `stopped growing fast at ${q.limit}`)

  let fixed = limitStart(16)
  for (let i = 0; i < 100; i++) fixed = limitOnSuccess(fixed, 16, 50, false)
  assert.equal(fixed.limit, 16, 'a fixed limit is a ceiling')
})

test('host limit, adaptive: a stop that only a slower ttfb made is lifted once answers are back near their best (RFC 9406 §4.3)', () => {
  // Slow start to 32 at 40 ms, then our own side late for a while (answers read at 300 ms).
  let s = limitStart(16)
  for (let i = 0; i < 16; i++) s = limitOnSuccess(s, 128, 40, true)
  for (let i = 0; i < 20; i++) s = limitOnSuccess(s, 128, 300, true)
  const stopped = s.limit
  assert.ok(stopped < 40 && s.ceiling === stopped && s.slowed, `stopped at ${stopped}, ceiling ${s.ceiling}`)
  // Still slow: no growth, however long.
  for (let i = 0; i < 200; i++) s = limitOnSuccess(s, 128, 300, true)
  assert.equal(s.limit, stopped)
  // Back to 40 ms: once the average is under 1.5 × 40 + 15 ms, slow start again, up to the maximum.
  let answers = 0
  while (s.limit < 128 && answers < 500) {
    s = limitOnSuccess(s, 128, 40, true)
    answers++
  }
  assert.equal(s.limit, 128, 'grown back to the maximum')
  assert.ok(answers < 140, `within a few rounds of answers, not at one slot a window: ${answers}`)
  assert.equal(s.ceiling, INF)

  // Between the two marks (85 ms on a best of 40: over 75, under 95): neither growing fast nor lifted.
  let between = limitStart(16)
  for (let i = 0; i < 16; i++) between = limitOnSuccess(between, 128, 40, true)
  for (let i = 0; i < 20; i++) between = limitOnSuccess(between, 128, 300, true)
  for (let i = 0; i < 60; i++) between = limitOnSuccess(between, 128, 85, true)
  assert.ok(between.slowed && between.ceiling < 40, `still stopped: ceiling ${between.ceiling}`)
  assert.ok(
    between.limit <= stopped + 3,
    `one slot a window at most, not 8 times slower nor doubling: ${between.limit}`,
  )

  // A 429's ceiling is not lifted by fast answers: it is the host's word.
  let told = { ...limitStart(16), ceiling: 16 }
  for (let i = 0; i < 200; i++) told = limitOnSuccess(told, 128, 40, true)
  assert.equal(told.ceiling, 16)
  assert.ok(!told.slowed)
  // Nor one that slowed answers then 429s made: the 429 takes it over.
  let both = limitStart(16)
  for (let i = 0; i < 16; i++) both = limitOnSuccess(both, 128, 40, true)
  for (let i = 0; i < 20; i++) both = limitOnSuccess(both, 128, 300, true)
  for (let i = 0; i < 10; i++) both = limitOnPressure(both, true)
  assert.ok(!both.slowed && both.ceiling !== INF)
})

test('host limit, adaptive: a cut ends slow start, a 503 cut too, though it sets no ceiling', () => {
  // Slow start at 16 on a host that takes 4 (nginx limit_conn, 503 beyond): cut to 8 by 503s.
  let s = limitStart(16)
  s = pressed(s, 4, false)
  assert.equal(s.limit, 8)
  assert.equal(s.ceiling, INF, 'a 503 names no level to be careful near')
  assert.ok(s.cut)
  // Clean answers after the cut: one slot a window (8 answers), not one an answer back past 16.
  const cases: [answers: number, limit: number][] = [
    [1, 8],
    [7, 8],
    [8, 9],
    [8 + 9, 10],
  ]
  for (const [answers, limit] of cases) {
    let g = s
    for (let i = 0; i < answers; i++) g = limitOnSuccess(g, 96, 10, true)
    assert.equal(g.limit, limit, `${answers} clean answers after the cut`)
  }
  // Before any cut, a complaint or two (under a quarter of a window) leave slow start on.
  let early = pressed(limitStart(16), 1, false)
  assert.ok(!early.cut)
  early = limitOnSuccess(early, 96, 10, true)
  assert.equal(early.limit, 17)
  // 429s too (their ceiling ended it already).
  let told = pressed(limitStart(16), 4, true)
  for (let i = 0; i < 8; i++) told = limitOnSuccess(told, 96, 10, true)
  assert.equal(told.limit, 9)
})

test('options: defaults, and a TypeError naming the bad option', () => {
  const o = resolveOptions({ concurrency: undefined })
  assert.equal(o.concurrency, 128)
  assert.equal(o.perHost, 'auto')
  assert.throws(() => resolveOptions({ concurrency: 0 }), /`concurrency` to be an integer >= 1, got 0/)
  // Each transfer thread has a heap of its own: 1,000 took 13 GB.
  assert.throws(
    () => resolveOptions({ threads: 1000 }),
    /`threads` to be 'auto' or an integer from 0 to 64, got 1000/,
  )
  assert.throws(() => resolveOptions({ threads: 'many' as never }), /`threads` to be 'auto' or an integer/)
  assert.equal(resolveOptions({ threads: 64 }).threads, 64)
  assert.equal(resolveOptions({ threads: 'auto' }).threads, 'auto')
  assert.throws(() => resolveOptions({ perHost: 1.5 }), /`perHost` to be 'auto' or an integer >= 1, got 1.5/)
  assert.throws(() => resolveOptions({ hash: 'md5' as 'none' }), /`hash`/)
  assert.equal(resolveOptions({}).wait, 0)
  assert.deepEqual(resolveOptions({ wait: [200, 300] }).wait, [200, 300])
  // A wait past Node's longest timer (sindresorhus/delay#57) is refused naming that bound, where
  // the message said "whole ms >= 0", which it was.
  for (const wait of [-1, 1.5, [300, 200], [1], '2-4', 2 ** 31, [0, 1e12]])
    assert.throws(
      () => resolveOptions({ wait: wait as number }),
      /Expected `wait` to be whole ms from 0 to 2,147,483,647 \(Node's longest timer, 24\.8 days\), or a pair \[min, max\] of them with min <= max, got /,
    )
  assert.equal(drawWait([200, 300], 0.5), 250)
  assert.throws(
    () => resolveOptions({ insecure: true, caCert: 'ca.pem' }),
    /`insecure` checks no certificate, so the CA of `caCert` \(ca.pem\) would never be used/,
  )
  // A number given as a string (from a config file, an environment variable) is named as one: "got
  // 10" read as the number it was meant to be.
  assert.throws(
    () => resolveOptions({ totalTimeout: '10' as unknown as number }),
    /`totalTimeout` to be an integer >= 1, got the string "10"$/,
  )
  assert.throws(
    () => resolveOptions({ transform: { resize: 'keep-ratio', size: '256' as unknown as number } }),
    /`transform.size` to be an integer >= 1, got the string "256"$/,
  )
  // A typo is refused, not ignored.
  assert.throws(
    () => resolveOptions({ concurency: 4 } as never),
    /^TypeError: Unknown option `concurency`; the options are: out, concurrency, /,
  )
})

test('options of the wrong kind are refused by name, not taken as truthy or met inside the run', () => {
  // `journal: 'no'` kept a journal, `http2: 'false'` used HTTP/2, `out: 123` crashed in the run,
  // a header name with a space failed every file as `network`, `transform: { sise }` resized nothing.
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ journal: 'no' }, /^TypeError: Expected `journal` to be a boolean, got the string "no"$/],
    [{ http2: 'false' }, /^TypeError: Expected `http2` to be a boolean, got the string "false"$/],
    [{ retryFailed: 1 }, /`retryFailed` to be a boolean, got 1$/],
    [{ report: null }, /`report` to be a boolean, got null$/],
    [{ out: 123 }, /^TypeError: Expected `out` to be a folder's path, got 123$/],
    [{ out: '' }, /`out` to be a folder's path, got an empty string$/],
    // airtasker/spot#97: a folder named ~ made in the working folder, without a word.
    [
      { out: '~/photos' },
      /^TypeError: Expected `out` to be a folder's path, got the string "~\/photos": Node expands no ~ as a shell does, so it would make a folder named ~ here; give join\(homedir\(\), "photos"\)$/,
    ],
    // OpenBeta/open-tacos#74: a NUL byte in a path; the run failed making the folder, told to make it writable.
    [
      { out: 'photos\0' },
      /^TypeError: Expected `out` to be a folder's path, got the string "photos\\u0000", with a NUL byte, which no path holds$/,
    ],
    [{ cookies: 5 }, /`cookies` to be a string, got 5$/],
    [
      { userAgent: 'a\nb' },
      /`userAgent` to be a header value \(a string without line breaks\), got the string "a\\nb"$/,
    ],
    [{ headers: [['X-A', 'b']] }, /`headers` to be an object of header names and values/],
    [{ headers: { 'bad name': 'v' } }, /^TypeError: Invalid header name "bad name": a name is one word/],
    [
      { headers: { 'X-A': 'a\r\nX-B: c' } },
      /^TypeError: Invalid value of the header X-A: the string "a\\r\\nX-B: c"/,
    ],
    [{ headers: { 'X-A': 1 } }, /Invalid value of the header X-A: 1 /],
    [
      { headers: { Range: 'bytes=0-99' } },
      /^TypeError: The header Range cannot be given: imgpull asks for ranges/,
    ],
    [
      { headers: { 'Content-Length': '0' } },
      /The header Content-Length cannot be given: the HTTP client sets it/,
    ],
    [{ headers: { upgrade: 'h2c' } }, /The header upgrade cannot be given/],
    [{ headers: { 'Keep-Alive': '5' } }, /The header Keep-Alive cannot be given/],
    [{ signal: {} }, /^TypeError: Expected `signal` to be an AbortSignal, got an object that is not one$/],
    // The controller for its signal (remix-run/react-router#8780): named so, not "an object that is not one".
    [
      { drainSignal: new AbortController() },
      /^TypeError: Expected `drainSignal` to be an AbortSignal, got its AbortController: give its signal \(`drainSignal: controller.signal`\)$/,
    ],
    [{ drainSignal: 'stop' }, /`drainSignal` to be an AbortSignal, got the string "stop"$/],
    [{ rerun: 'a rerun' }, /`rerun` to be `\{ rerun: string, retryFailed: string \}`/],
    [
      { transform: 'keep-ratio' },
      /`transform` to be an object of transform options, got the string "keep-ratio"$/,
    ],
    [
      { transform: { sise: 256 } },
      /^TypeError: Unknown transform option `sise`; the transform options are: resize, size, /,
    ],
  ]
  for (const [options, message] of cases)
    assert.throws(() => resolveOptions(options as never), message, JSON.stringify(options))
  // What is right passes.
  const o = resolveOptions({
    journal: false,
    headers: { 'X-Token': 'a b', Accept: 'image/*' },
    signal: new AbortController().signal,
    transform: { resize: 'keep-ratio', size: 64 },
  })
  assert.equal(o.journal, false)
})

test("options: durations beyond a Node timer's longest wait are cut to it, not left to fire at once", () => {
  const month = 30 * 24 * 3600 * 1000
  const o = resolveOptions({
    totalTimeout: month,
    headersTimeout: month,
    maxRetryAfter: month,
    idleTimeout: 5000,
  })
  for (const key of ['totalTimeout', 'headersTimeout', 'maxRetryAfter'] as const)
    assert.equal(o[key], 2 ** 31 - 1, key)
  assert.equal(o.idleTimeout, 5000)
  // However huge: `--total-timeout 1e99` is 1e102 ms, past a safe integer, and still no limit.
  const huge = resolveOptions({ totalTimeout: 1e102, maxRetryAfter: 1e33, connectTimeout: Infinity })
  for (const key of ['totalTimeout', 'maxRetryAfter', 'connectTimeout'] as const)
    assert.equal(huge[key], 2 ** 31 - 1, key)
  assert.throws(
    () => resolveOptions({ idleTimeout: Number.NaN }),
    /`idleTimeout` to be an integer >= 1, got NaN/,
  )
})

test('sizes parse with units', () => {
  assert.equal(parseSize('512MiB'), 512 * 1024 * 1024)
  assert.equal(parseSize('2GB'), 2e9)
  assert.equal(parseSize('100'), 100)
  assert.equal(parseSize('1.5k'), 1500)
  assert.equal(parseSize('lots'), undefined)
})

test("autoOrInteger (--per-host, --threads): 'auto' in any case, or an integer in range", () => {
  // h359: --per-host=AUTO was refused as "expected 'auto' or an integer >= 1".
  const perHost = autoOrInteger(1, 128)
  for (const given of ['auto', 'AUTO', 'Auto', ' auto ']) assert.equal(perHost(given), 'auto', given)
  assert.equal(perHost('16'), 16)
  for (const given of ['0', 'autos', '1.5', '', '129'])
    assert.throws(() => perHost(given), /expected 'auto' or an integer/)
})

test('durations parse as seconds, with or without a unit', () => {
  const table: [string, number | undefined][] = [
    ['30', 30],
    ['0.5', 0.5],
    ['.5', 0.5],
    ['500ms', 0.5],
    ['10s', 10],
    ['10 sec', 10],
    ['2m', 120],
    ['2MIN', 120],
    ['1h', 3600],
    ['0', 0],
    ['-1', undefined],
    ['10d', undefined],
    ['soon', undefined],
    ['', undefined],
  ]
  for (const [text, want] of table) assert.equal(parseDuration(text), want, text)
  assert.equal(seconds('250ms'), 250)
  assert.equal(seconds('0.0001'), 1, 'never 0 ms: a timeout of 0 would be none')
  assert.throws(() => seconds('0s'), /expected seconds > 0/)
  assert.equal(secondsOrZero('0s'), 0)
  assert.deepEqual(waitSeconds('2s-4s'), [2000, 4000])
  assert.deepEqual(waitSeconds('500ms - 1.5'), [500, 1500])
  assert.equal(waitSeconds('1m'), 60_000)
  assert.throws(() => waitSeconds('4-2'), /first no more than the second/)
  assert.throws(() => waitSeconds('-1'), /expected seconds >= 0/)
  // Past Node's longest timer (sindresorhus/delay#57): said in seconds, where the library's words
  // said "whole ms from 0 to 2,147,483,647 ..., got 3000000000" of --wait 3000000.
  for (const text of ['3000000', '1-3000000'])
    assert.throws(
      () => waitSeconds(text),
      /^InvalidArgumentError: expected seconds from 0 to 2,147,483 \(Node's longest timer, 24\.8 days\)/,
    )
  assert.deepEqual(waitSeconds('0-2147483'), [0, 2_147_483_000])
})

test('a native module Node cannot load: one line, the package, and the rebuild that mends it', async () => {
  // A real refusal: bytes that are no shared object, where a copied node_modules would have one.
  const dir = await mkdtemp(join(tmpdir(), 'imgpull-native-'))
  const file = join(dir, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node')
  await mkdir(dirname(file), { recursive: true })
  await writeFile(file, 'not a shared object')
  let refused: unknown
  try {
    process.dlopen({ exports: {} }, file)
  } catch (error) {
    refused = error
  }
  await rm(dir, { recursive: true })
  assert.match(
    nativeFault(refused) ?? '',
    /^cannot load better-sqlite3's native code: .*(invalid ELF header|too short).*; run npm rebuild better-sqlite3 where imgpull is installed$/,
  )
  // Node's words after `nvm use` (src/node_binding.cc), five lines.
  const abi = Object.assign(
    new Error(
      "The module '/app/node_modules/better-sqlite3/build/Release/better_sqlite3.node'\nwas compiled against a different Node.js version using\nNODE_MODULE_VERSION 115. This version of Node.js requires\nNODE_MODULE_VERSION 127. Please try re-compiling or re-installing\nthe module (for instance, using `npm rebuild` or `npm install`).",
    ),
    { code: 'ERR_DLOPEN_FAILED' },
  )
  assert.equal(
    nativeFault(abi),
    `cannot load better-sqlite3's native code: it was built for another Node.js (NODE_MODULE_VERSION 115; Node ${process.versions.node} needs 127); run npm rebuild better-sqlite3 where imgpull is installed`,
  )
  const glibc = Object.assign(
    new Error(
      "/lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.38' not found (required by /srv/node_modules/@img/sharp-linux-x64/lib/sharp-linux-x64.node)",
    ),
    { code: 'ERR_DLOPEN_FAILED' },
  )
  assert.match(
    nativeFault(glibc) ?? '',
    /^cannot load @img\/sharp-linux-x64's native code: .*GLIBC_2\.38' not found.*; run npm rebuild @img\/sharp-linux-x64/,
  )
  // One whose install script never ran (pnpm before approve-builds, npm --ignore-scripts): no file
  // at all, which the `bindings` package says in 14 lines.
  const unbuilt = await mkdtemp(join(tmpdir(), 'imgpull-unbuilt-'))
  const root = join(unbuilt, 'node_modules', 'better-sqlite3')
  await mkdir(root, { recursive: true })
  await writeFile(join(root, 'package.json'), '{ "name": "better-sqlite3" }')
  let missing: unknown
  try {
    createRequire(import.meta.url)('bindings')({ bindings: 'better_sqlite3.node', module_root: root })
  } catch (error) {
    missing = error
  }
  await rm(unbuilt, { recursive: true })
  assert.equal(
    nativeFault(missing),
    "cannot load better-sqlite3's native code: it was never built (its install script did not run: npm install --ignore-scripts, pnpm before pnpm approve-builds, npm's allowScripts); run npm rebuild better-sqlite3 where imgpull is installed, its install script allowed (npm install-scripts approve better-sqlite3; pnpm approve-builds, then pnpm rebuild better-sqlite3)",
  )
  assert.equal(nativeFault(new Error('ENOENT: no such file')), undefined)
})

test('fileFault: a file error in words, without the code and path Node puts around them', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'imgpull-fault-'))
  await symlink(join(dir, 'b'), join(dir, 'a'))
  await symlink(join(dir, 'a'), join(dir, 'b'))
  const why = async (path: string) => fileFault(await readFile(path).catch((error: unknown) => error))
  assert.equal(await why(join(dir, 'none')), 'no such file')
  assert.equal(await why(dir), 'it is a folder')
  assert.match(await why(join(dir, 'a')), /^too many (levels of )?symbolic links( encountered)?$/)
  await rm(dir, { recursive: true })
  assert.equal(fileFault(new Error('gzip data is cut')), 'gzip data is cut')
})

test('fifo keeps order across push, shift and unshift at scale', () => {
  const q = new Fifo<number>()
  for (let i = 0; i < 200_000; i++) q.push(i)
  assert.equal(q.shift(), 0)
  q.unshift(-1)
  assert.equal(q.size, 200_000)
  assert.equal(q.shift(), -1)
  let expected = 1
  for (let v = q.shift(); v !== undefined; v = q.shift()) assert.equal(v, expected++)
  assert.equal(expected, 200_000)
})

test('after a failed attempt: fail, retry this job, or pause its host', () => {
  const base: FailureFacts = {
    code: 'http-503',
    retryable: true,
    status: 503,
    outOfTime: false,
    attempts: 1,
    retries: 5,
    stopping: false,
    maxRetryAfter: 60_000,
    random: 0.5,
  }
  const table: [string, Partial<FailureFacts>, ReturnType<typeof onFailure>][] = [
    ['a 503: backoff for this job', {}, { do: 'retry', delay: 250, pauseHost: false }],
    ['a second retry: a wider window', { attempts: 2 }, { do: 'retry', delay: 500, pauseHost: false }],
    ['the last retry allowed', { attempts: 5 }, { do: 'retry', delay: 4000, pauseHost: false }],
    ['retries used up', { attempts: 6 }, { do: 'fail' }],
    [
      'retries used up at a host that refuses at one transfer at a time: it still waits',
      { attempts: 6, retryAfter: 2000, hostPressure: 'floor' },
      { do: 'fail', pauseHost: 2000 },
    ],
    [
      "the same with no wait named: the first window, not the failed job's sixth",
      { attempts: 6, hostPressure: 'floor' },
      { do: 'fail', pauseHost: 500 },
    ],
    ['--retries 0', { retries: 0 }, { do: 'fail' }],
    ['not retryable (a 404)', { code: 'http-404', status: 404, retryable: false }, { do: 'fail' }],
    ['the total timeout ran out', { code: 'timeout', outOfTime: true }, { do: 'fail' }],
    ['the run is stopping', { stopping: true }, { do: 'fail' }],
    [
      'a lone Retry-After: this job waits it, then a share of its own window (the files refused in one burst not back in one)',
      { retryAfter: 2000 },
      { do: 'retry', delay: 2250, pauseHost: false },
    ],
    [
      'Retry-After that cut the host: this job waits (spread after it), the host goes on with fewer at once',
      { retryAfter: 2000, hostPressure: 'cut' },
      { do: 'retry', delay: 2250, pauseHost: false },
    ],
    [
      "Retry-After with a host's first complaint: the host waits",
      { retryAfter: 2000, hostPressure: 'first' },
      { do: 'retry', delay: 2000, pauseHost: true },
    ],
    [
      'Retry-After from a host at one transfer at a time: the host waits',
      { retryAfter: 2000, hostPressure: 'floor' },
      { do: 'retry', delay: 2000, pauseHost: true },
    ],
    [
      'Retry-After past the cap',
      { retryAfter: 600_000, hostPressure: 'floor' },
      { do: 'retry', delay: 60_000, pauseHost: true },
    ],
    [
      "a host's first 503 without Retry-After: the host waits the backoff's whole window",
      { hostPressure: 'first' },
      { do: 'retry', delay: 500, pauseHost: true },
    ],
    [
      'a 429 without Retry-After at one transfer at a time: the host waits the whole window',
      { code: 'http-429', status: 429, hostPressure: 'floor', attempts: 3 },
      { do: 'retry', delay: 2000, pauseHost: true },
    ],
    [
      'a later cut without Retry-After: backoff for this job only',
      { hostPressure: 'cut' },
      { do: 'retry', delay: 250, pauseHost: false },
    ],
    [
      'a timeout names no refusal: backoff for this job only',
      { code: 'timeout', status: undefined, hostPressure: 'floor' },
      { do: 'retry', delay: 250, pauseHost: false },
    ],
    [
      'a wait that outlasts the total timeout: fail now, with the real cause',
      { retryAfter: 8000, timeLeft: 2000 },
      { do: 'fail', tooLate: { ms: 8000, named: true } },
    ],
    [
      'the same at a first refusal: the host still waits what it asked for',
      { retryAfter: 8000, timeLeft: 2000, hostPressure: 'first' },
      { do: 'fail', pauseHost: 8000, tooLate: { ms: 8000, named: true } },
    ],
    [
      'a Retry-After past the cap: the wait as the server said it',
      { retryAfter: 120_000, timeLeft: 10_000 },
      { do: 'fail', tooLate: { ms: 120_000, named: true } },
    ],
    [
      'our own backoff past the total timeout',
      { attempts: 5, timeLeft: 3000 },
      { do: 'fail', tooLate: { ms: 4000, named: false } },
    ],
    [
      'a wait within the total timeout: no spread after it that the time left has no room for',
      { retryAfter: 8000, timeLeft: 8001 },
      { do: 'retry', delay: 8000, pauseHost: false },
    ],
    [
      'a wait past the cap asked again after the capped one: the host meant it, give it up',
      { retryAfter: 3_600_000, timeLeft: 600_000, askedTooLongBefore: true },
      { do: 'fail', giveUpHost: { ms: 3_600_000 } },
    ],
    [
      'asked again, but within the cap now: a plain retry',
      { retryAfter: 30_000, askedTooLongBefore: true },
      { do: 'retry', delay: 30_250, pauseHost: false },
    ],
    [
      'asked again past the cap but within the time left: cut short (then spread), retried',
      { retryAfter: 1_000, maxRetryAfter: 100, timeLeft: 600_000, askedTooLongBefore: true },
      { do: 'retry', delay: 350, pauseHost: false },
    ],
    [
      'this file asked again past the cap after its capped wait: it meant it, the file fails, not the host',
      { retryAfter: 3_600_000, timeLeft: 600_000, fileAskedTooLongBefore: true },
      { do: 'fail', giveUpFile: { ms: 3_600_000 } },
    ],
    [
      'the host asked it of three files in a row too: the host is given up',
      { retryAfter: 3_600_000, timeLeft: 600_000, askedTooLongBefore: true, fileAskedTooLongBefore: true },
      { do: 'fail', giveUpHost: { ms: 3_600_000 } },
    ],
    [
      'the file asked again, within the cap now: a plain retry',
      { retryAfter: 30_000, fileAskedTooLongBefore: true },
      { do: 'retry', delay: 30_250, pauseHost: false },
    ],
    [
      "a name lookup failed for now: the retry waits out the name's remembered failure, to ask again",
      { code: 'network', status: undefined, lookupFailed: {} },
      { do: 'retry', delay: LOOKUP_AGAIN_MS, pauseHost: false },
    ],
    [
      'a later such retry whose backoff is longer keeps it',
      { code: 'network', status: undefined, attempts: 5, lookupFailed: { unanswered: 1 } },
      { do: 'retry', delay: 4000, pauseHost: false },
    ],
    [
      'its resolver silent twice in a row: retries left, the file ends',
      { code: 'network', status: undefined, lookupFailed: { unanswered: UNANSWERED_LOOKUPS } },
      { do: 'fail' },
    ],
    [
      'not retryable comes first',
      { retryAfter: 3_600_000, askedTooLongBefore: true, stopping: true },
      { do: 'fail' },
    ],
  ]
  for (const [name, facts, expected] of table)
    assert.deepEqual(onFailure({ ...base, ...facts }), expected, name)
  // A Retry-After longer than --max-retry-after (0: none is honoured, so none is too long) and
  // than the file's time left; within that time it is only cut short, however often it comes.
  assert.deepEqual(
    [
      [3_600_000, 60_000, 600_000],
      [60_000, 60_000, 10_000],
      [60_001, 60_000, 60_000],
      [undefined, 60_000, 0],
      [3_600_000, 0, 600_000],
      [1_000, 100, 600_000],
    ].map(([after, max, left]) => outlasts(after, max as number, left as number)),
    [true, false, true, false, false, false],
  )
  assert.deepEqual(
    ['http-429', 'http-503', 'timeout', 'http-500', 'network', 'http-404'].map((code) => isPressure(code)),
    [true, true, true, false, false, false],
  )
  // A network failure that was a new connection turned away at the door is a complaint too.
  assert.equal(isPressure('network', true), true)
})

test('a connection turned away: a new one closed or reset before any answer, not a reused one', () => {
  const error = (code: string, message = 'x') => Object.assign(new Error(message), { code })
  const table: [string, unknown, boolean | undefined, boolean][] = [
    ['reset as it opens (before the request went out)', error('ECONNRESET'), undefined, true],
    [
      'closed after the request, before the answer',
      error('UND_ERR_SOCKET', 'other side closed'),
      false,
      true,
    ],
    ['closed as the request was written', error('EPIPE'), false, true],
    ['a kept-alive connection closed as it was reused', error('ECONNRESET'), true, false],
    ['refused: nothing listens (the host is down, not full)', error('ECONNREFUSED'), undefined, false],
    [
      'an answer undici cannot read (the same on every connection)',
      error('UND_ERR_SOCKET', 'bad response'),
      false,
      false,
    ],
    ['a timeout', error('UND_ERR_CONNECT_TIMEOUT'), undefined, false],
  ]
  for (const [name, e, reused, expected] of table) assert.equal(isTurnedAway(e, reused), expected, name)
})

test("a reset at the door is the host's the first time, the URL's once the host took new connections since, in doubt till then", () => {
  const table: [string, number | undefined, number, 'host' | 'url' | 'doubt'][] = [
    ['the first reset of a URL: no one reset tells a WAF from a limit of connections', undefined, 50, 'host'],
    [
      'the first reset, the host never served on a new connection',
      undefined,
      Number.NEGATIVE_INFINITY,
      'host',
    ],
    ['reset again, a file since served on a new connection sent after it: a WAF', 100, 120, 'url'],
    [
      'reset again, the latest new connection served was sent before it: the proof may be on its way',
      100,
      80,
      'doubt',
    ],
    ['reset again, sent at the very moment of the reset: not after it', 100, 100, 'doubt'],
    ['reset again, nothing served on a new connection yet', 100, Number.NEGATIVE_INFINITY, 'doubt'],
  ]
  for (const [name, resetBefore, freshSent, expected] of table)
    assert.equal(resetReading({ resetBefore, freshSent }), expected, name)
})

test('a reset in doubt is settled by what the host does next: a file served on a new connection, or another URL turned away', () => {
  const d = { resetBefore: 100, at: 200 }
  const table: [string, { served: number } | { turnedAway: number }, 'host' | 'url' | undefined][] = [
    [
      "a file served on a new connection, sent after the URL was turned away before: the URL's",
      { served: 150 },
      'url',
    ],
    ['a file served, sent after this reset too', { served: 250 }, 'url'],
    ['a file served, sent before the URL was turned away before: no proof', { served: 90 }, undefined],
    ["another URL turned away at the door, sent after this reset: the host's", { turnedAway: 210 }, 'host'],
    [
      'another URL turned away, sent before this reset (one wave with it): no word',
      { turnedAway: 150 },
      undefined,
    ],
    ['another URL turned away, sent at the very moment of this reset', { turnedAway: 200 }, undefined],
  ]
  for (const [name, event, expected] of table) assert.equal(doubtSettled(d, event), expected, name)
})

test("scheduler: a URL's reset again before any file was served on a new connection is held in doubt: the proof drops it, another URL's first try turned away counts it", async () => {
  const limitOf = (scheduler: Scheduler<number>) => scheduler.snapshot().find((h) => h.host === 'h')?.limit
  let release = () => {}
  const held = new Promise<void>((resolve) => {
    release = resolve
  })
  const started = (scheduler: Scheduler<number>, count: number) => {
    for (let i = 0; i < count; i++) scheduler.add('h', i)
  }
  const make = () => new Scheduler<number>({ concurrency: 16, perHost: 8, run: () => held })
  // 8 retries of paths turned away before, reset again with nothing served yet: in doubt, no cut.
  const waf = make()
  started(waf, 8)
  const t0 = performance.now()
  for (let i = 0; i < 8; i++) assert.equal(waf.resetAtDoor('h', t0 + 1, t0), undefined)
  assert.equal(limitOf(waf), 8)
  // The proof comes (a file served on a new connection, sent after those URLs were turned away):
  // the doubts were the URLs'; a first reset after it counts alone.
  waf.success('h', 5, t0 + 2, true)
  waf.resetAtDoor('h', performance.now() + 1, undefined)
  assert.equal(limitOf(waf), 8)
  // A host that resets every new connection: the doubts count once another URL's first try,
  // sent after them, is turned away too, nothing served between.
  const all = make()
  started(all, 8)
  const t1 = performance.now()
  // One complaint alone cuts no limit (two in a window of 8 do): the second is the doubt's.
  all.resetAtDoor('h', t1 + 1, t1)
  assert.equal(limitOf(all), 8)
  all.resetAtDoor('h', performance.now() + 1, undefined)
  assert.equal(limitOf(all), 4)
  waf.stop()
  all.stop()
  release()
})

test('a 408 is sent again at once only on a reused HTTP/1.1 connection (its idle timeout met as we reused it)', () => {
  const table: [string, number, boolean | undefined, boolean, boolean][] = [
    ['408 on a reused keep-alive connection', 408, true, false, true],
    ['408 on a new connection: the server means it', 408, false, false, false],
    ['408 before the request went out', 408, undefined, false, false],
    ['408 over HTTP/2, which multiplexes and has no such race', 408, true, true, false],
    ['another status on a reused connection', 503, true, false, false],
  ]
  for (const [name, status, reused, http2, expected] of table)
    assert.equal(isStaleAnswer(status, reused, http2), expected, name)
})

test('contentLengthWords: a refused Content-Length said as what it is, from the bytes llhttp stopped at', () => {
  const table: [unknown, string][] = [
    [
      ', 7400\r\nX: y\r\n\r\n',
      'a Content-Length that is a list of different lengths (`, 7400`), so where the body ends is in doubt',
    ],
    ['-1\r\n\r\nhello', 'a negative Content-Length (`-1`: a length the server did not know?)'],
    [Buffer.from('+7416\r\n'), 'a Content-Length with a plus sign (`+7416`)'],
    ['x10\n', 'a Content-Length that is not one number (at `x10`)'],
    ['\x1b[2J\r\n', 'a Content-Length that is not one number (at `\\x1b[2J`)'],
    [undefined, 'a Content-Length that is not one number'],
  ]
  for (const [data, words] of table) assert.equal(contentLengthWords(data), words, String(data))
})

test('unaskedStatus: a 304, 412 or 416 to a request that asked no condition, precondition or range', () => {
  const table: [number, string[], string | undefined][] = [
    [304, ['accept', 'user-agent'], 'no condition'],
    [304, ['If-None-Match'], undefined],
    [304, ['if-modified-since'], undefined],
    // If-Range never yields a 304 (RFC 9110 §13.1.5): asked, it is still a slip.
    [304, ['range', 'if-range'], 'no condition'],
    [412, [], 'no precondition'],
    [412, ['If-Match'], undefined],
    [412, ['if-unmodified-since'], undefined],
    [416, ['accept'], 'no range'],
    [416, ['Range'], undefined],
    [404, [], undefined],
    [200, [], undefined],
  ]
  for (const [status, sent, expected] of table)
    assert.equal(unaskedStatus(status, sent), expected, `${status} ${sent.join(',')}`)
})

test('successBody: what the body of a 2xx answer is (RFC 9110 §15.3)', () => {
  const table: [number, ReturnType<typeof successBody>][] = [
    [200, 'file'],
    // A transforming proxy's copy of the 200 (§15.3.4): the image, as curl, wget and browsers keep it.
    [203, 'file'],
    [206, 'part'],
    // Not made yet (§15.3.3); no content (§15.3.5, §15.3.6).
    [202, 'none'],
    [204, 'none'],
    [205, 'none'],
    // WebDAV's XML statuses of other resources (RFC 4918 §11.1, RFC 5842 §7.1).
    [207, 'none'],
    [208, 'none'],
    // A delta against a copy the client holds (RFC 3229 §10.4.1).
    [226, 'none'],
    // An unknown 2xx is its class's x00 (§15).
    [201, 'file'],
    [250, 'file'],
    [299, 'file'],
    [199, undefined],
    [300, undefined],
    [404, undefined],
  ]
  for (const [status, expected] of table) assert.equal(successBody(status), expected, String(status))
  assert.equal(unaskedStatus(226, ['accept']), 'no instance manipulation (A-IM)')
  assert.equal(unaskedStatus(226, ['A-IM']), undefined)
})

test('a rerun tries again failures with a passing cause, never permanent ones', () => {
  const table: [string, boolean][] = [
    ['network', true],
    ['dns', true],
    ['timeout', true],
    ['truncated', true],
    ['bad-range', true],
    ['http-500', true],
    ['http-503', true],
    ['http-522', true],
    ['http-429', true],
    ['http-408', true],
    ['http-425', true],
    ['http-202', true],
    // A 304 to a request that asked no condition: a cache answering its own revalidation.
    ['http-304', true],
    ['http-412', true],
    ['http-416', true],
    ['http-404', false],
    ['http-410', false],
    ['http-403', false],
    ['http-401', false],
    ['not-an-image', false],
    ['too-large', false],
    ['invalid-url', false],
    ['redirect-loop', false],
    ['too-many-redirects', false],
    ['bad-redirect', false],
  ]
  for (const [code, expected] of table) assert.equal(retriedOnRerun(code), expected, code)
})

test('httpStatusOf reads the status of an http-NNN code only; isFailureCode takes 100-599', async () => {
  const { httpStatusOf } = await import('../src/error-codes.js')
  const { isFailureCode } = await import('../src/cli/failed-command.js')
  const table: [string, number | undefined, boolean][] = [
    ['http-404', 404, true],
    ['http-207', 207, true],
    ['http-599', 599, true],
    ['http-600', 600, false],
    ['http-099', 99, false],
    ['http-4044', undefined, false],
    ['http-40', undefined, false],
    ['xhttp-404', undefined, false],
    ['timeout', undefined, true],
    ['unknown', undefined, true],
    ['no-such-code', undefined, false],
  ]
  for (const [code, status, failure] of table) {
    assert.equal(httpStatusOf(code), status, code)
    assert.equal(isFailureCode(code), failure, code)
  }
})

test('classify: a file system refusing a name is bad-name (its path said), not a network error', async () => {
  const { classify } = await import('../src/fetch/classify.js')
  const options = resolveOptions({})
  const fsError = (code: string) =>
    Object.assign(new Error(`${code}: refused, link 'a' -> '/out/x.jpg'`), { code, path: '/out/x.jpg' })
  const cases: [unknown, string][] = [
    [fsError('ENAMETOOLONG'), 'bad-name'],
    [fsError('ENOTDIR'), 'bad-name'],
    [fsError('EISDIR'), 'bad-name'],
    [Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), 'network'],
    [Object.assign(new Error('x'), { code: 'EINVAL' }), 'network'],
  ]
  for (const [error, code] of cases) {
    const typed = classify(error, 'http://h/x', options)
    assert.equal(typed.code, code, (error as Error).message)
  }
  assert.equal(retriedOnRerun('bad-name'), true)
  assert.match(
    classify(fsError('ENAMETOOLONG'), 'http://h/x', options).message,
    /^cannot save http:\/\/h\/x as \/out\/x\.jpg: /,
  )
  // A link's or rename's error names the part it starts from first: the name refused is its dest.
  const link = Object.assign(
    new Error("ENAMETOOLONG: name too long, link '/out/.imgpull/parts/1.part' -> '/out/y.jpg'"),
    {
      code: 'ENAMETOOLONG',
      path: '/out/.imgpull/parts/1.part',
      dest: '/out/y.jpg',
    },
  )
  assert.match(classify(link, 'http://h/y', options).message, /^cannot save http:\/\/h\/y as \/out\/y\.jpg: /)
})

test('colour on stderr: NO_COLOR wins, FORCE_COLOR forces, else a terminal that is not dumb; CI alone never', () => {
  const table: [NodeJS.ProcessEnv, boolean | undefined, boolean][] = [
    [{}, true, true],
    [{}, false, false],
    [{}, undefined, false],
    [{ CI: 'true' }, false, false],
    [{ TERM: 'dumb' }, true, false],
    [{ NO_COLOR: '1' }, true, false],
    [{ NO_COLOR: '' }, true, true],
    [{ NO_COLOR: '' }, false, false],
    [{ NO_COLOR: '', FORCE_COLOR: '1' }, false, true],
    [{ NO_COLOR: '1', FORCE_COLOR: '1' }, true, false],
    [{ FORCE_COLOR: '1' }, false, true],
    [{ FORCE_COLOR: '' }, false, true],
    [{ FORCE_COLOR: '0' }, true, false],
    [{ FORCE_COLOR: 'false' }, true, false],
  ]
  for (const [env, tty, expected] of table) {
    assert.equal(wantsColor(env, tty), expected, `${JSON.stringify(env)} tty=${tty}`)
  }
})

test('a live progress line: only on a terminal that is not dumb, whatever colour says', () => {
  const table: [NodeJS.ProcessEnv, boolean | undefined, boolean][] = [
    [{}, true, true],
    [{ TERM: 'xterm-256color' }, true, true],
    [{ NO_COLOR: '1' }, true, true],
    [{ TERM: 'dumb' }, true, false],
    [{ TERM: 'dumb', FORCE_COLOR: '1' }, true, false],
    [{}, false, false],
    [{}, undefined, false],
  ]
  for (const [env, tty, expected] of table) {
    assert.equal(liveTerminal(env, tty), expected, `${JSON.stringify(env)} tty=${tty}`)
  }
})

test('grouped: en-US digit grouping, exactly as toLocaleString writes it', () => {
  const values = [
    0, -0, 7, 999, 1000, 12_345, 1_234_567, 1e9, -1234.5, 1234.5678, 0.1234, 999.9995, 1.0005, 52.0005,
  ]
  const extremes = [2 ** 53 + 2, 1e20, 1e21, Number.NaN, Number.POSITIVE_INFINITY, 0.5, -2.5]
  for (const value of [...values, ...extremes])
    assert.equal(grouped(value), value.toLocaleString('en-US'), String(value))
  assert.equal(grouped(1_234_567), '1,234,567')
})

test('plural and counted: the noun for exactly 1, else its plural; counted writes the count grouped', () => {
  const table: [number, string, string | undefined, string, string][] = [
    [1, 'shard', undefined, 'shard', '1 shard'],
    [0, 'shard', undefined, 'shards', '0 shards'],
    [2, 'URL', undefined, 'URLs', '2 URLs'],
    [1234, 'byte', undefined, 'bytes', '1,234 bytes'],
    [0.5, 'image', undefined, 'images', '0.5 images'],
    [-1, 'row', undefined, 'rows', '-1 rows'],
    [2, 'API call', 'API calls', 'API calls', '2 API calls'],
    [1, 'entry', 'entries', 'entry', '1 entry'],
  ]
  for (const [count, one, many, word, both] of table) {
    assert.equal(plural(count, one, many), word, `${count} ${one}`)
    assert.equal(counted(count, one, many), both, `${count} ${one}`)
  }
})

test('the command line kept for the report and the journal: keys, secret headers and URL credentials taken out', () => {
  const argv = (...args: string[]) => ['node', 'imgpull', ...args]
  const table: [string[], string][] = [
    [argv('https://u:pw@h/a.jpg', '-o', 'out'), 'imgpull https://h/a.jpg -o out'],
    [
      argv('-H', 'Authorization: Bearer S1', '-H', 'Accept: image/*'),
      "imgpull -H 'Authorization: ***' -H 'Accept: image/*'",
    ],
    [argv('-HCookie: sid=1', '--header=X-Api-Key: K'), "imgpull '-HCookie: ***' '--header=X-Api-Key: ***'"],
    [argv('--header', 'x-auth-token: t'), "imgpull --header 'x-auth-token: ***'"],
    [
      argv(
        '-H',
        'Authentication: Bearer S2',
        '-H',
        'X-Vercel-Protection-Bypass: B',
        '-H',
        'X-JWT-Assertion: J',
      ),
      "imgpull -H 'Authentication: ***' -H 'X-Vercel-Protection-Bypass: ***' -H 'X-JWT-Assertion: ***'",
    ],
    [
      argv('unsplash', 'search', 'lake', '--access-key', 'AK'),
      "imgpull unsplash search lake --access-key '***'",
    ],
    [argv('--access-key=AK'), "imgpull '--access-key=***'"],
    [
      argv('--proxy', 'socks5://me:pw@p:1080', '--redis', 'redis://:pw@r:6379'),
      'imgpull --proxy socks5://p:1080 --redis redis://r:6379',
    ],
    [argv('it is', "o'k"), `imgpull 'it is' 'o'\\''k'`],
    [
      argv('--proxy', 'bob:s3cret@10.0.0.1:3128', '--proxy=SOCKS5://u:p@w@h:1'),
      'imgpull --proxy 10.0.0.1:3128 --proxy=SOCKS5://h:1',
    ],
    [argv('http://u:p@ss@h/a@b.jpg'), 'imgpull http://h/a@b.jpg'],
  ]
  for (const [args, expected] of table) assert.equal(commandLine(args), expected, args.join(' '))
})

test('writeAll: short writes are written again from where they stopped; a write of nothing fails', async () => {
  const chunks = [Buffer.from('abc'), Buffer.from(''), Buffer.from('defg'), Buffer.from('hi')]
  for (const takes of [[9], [1, 8], [3, 4, 2], [2, 2, 2, 2, 1], [5, 1, 3], [1, 1, 1, 1, 1, 1, 1, 1, 1]]) {
    const disk = Buffer.alloc(20, '.')
    const calls: number[] = []
    let call = 0
    await writeAll(
      async (rest, position) => {
        calls.push(position)
        const bytes = Buffer.concat(rest).subarray(0, takes[call++])
        bytes.copy(disk, position)
        return bytes.length
      },
      chunks,
      5,
    )
    assert.equal(disk.toString(), '.....abcdefghi......', `takes ${takes}`)
    assert.equal(calls.length, takes.length, `takes ${takes}`)
  }
  await assert.rejects(
    writeAll(async () => 0, [Buffer.from('x')], 0),
    (e: NodeJS.ErrnoException) => e.code === 'EIO',
  )
})

test('decodeLeniently: valid escapes decoded, the rest kept as written', () => {
  for (const [given, expected] of [
    ['plain', 'plain'],
    ['a%40b', 'a@b'],
    ['p%zz', 'p%zz'],
    ['100%', '100%'],
    ['%E2%82%AC%zz%41', '€%zzA'],
    ['%FF%41', '%FFA'],
    ['%e2%82%ac', '€'],
  ]) {
    assert.equal(decodeLeniently(given), expected, given)
  }
})

test('unescapedUrl: a URL copied from JSON or HTML source as they escape it, and nothing else', () => {
  for (const [given, expected] of [
    // A JSON string's escapes, when it begins so (no URL does).
    ['https:\\/\\/h\\/a.jpg', 'https://h/a.jpg'],
    ['HTTP:\\/\\/h\\/a.jpg?w=1\\u0026h=2', 'HTTP://h/a.jpg?w=1&h=2'],
    ['https:\\/\\/h\\/\\u00e9\\ud83d\\ude00.jpg', 'https://h/é😀.jpg'],
    // A backslash elsewhere is the URL's (the parser reads it as / in an http path): as written.
    ['https://h\\a\\/b.jpg', 'https://h\\a\\/b.jpg'],
    ['https://h/a.jpg?q=\\u0026', 'https://h/a.jpg?q=\\u0026'],
    // HTML's &amp; (or &#38;, &#x26;) when every & is one.
    ['https://h/a.jpg?w=400&amp;h=300', 'https://h/a.jpg?w=400&h=300'],
    ['https://h/a.jpg?w=400&#38;h=300&#x26;q=1&AMP;z', 'https://h/a.jpg?w=400&h=300&q=1&z'],
    ['https://h/tom&amp;jerry.jpg', 'https://h/tom&jerry.jpg'],
    // One & bare: the query is written as meant, its &amp; its own.
    ['https://h/a.jpg?a=1&b=2&amp;c', 'https://h/a.jpg?a=1&b=2&amp;c'],
    ['https://h/a.jpg?a=1&b=2', 'https://h/a.jpg?a=1&b=2'],
    ['https://h/a.jpg', 'https://h/a.jpg'],
    ['not a url &amp; more', 'not a url & more'],
  ]) {
    assert.equal(unescapedUrl(given), expected, given)
  }
})

test('requestTarget: path and query as the URL holds them, an empty query with its ?', () => {
  for (const [url, target] of [
    ['http://h/a.jpg', '/a.jpg'],
    ['http://h/a.jpg?', '/a.jpg?'],
    ['http://h/a.jpg?#top', '/a.jpg?'],
    ['http://h/a.jpg?#', '/a.jpg?'],
    ['http://h/a.jpg#?', '/a.jpg'],
    ['http://h/a.jpg?w=1', '/a.jpg?w=1'],
    ['http://h/100%.jpg?off=50%', '/100%25.jpg?off=50%25'],
    ['http://h/', '/'],
  ]) {
    assert.equal(requestTarget(new URL(url)), target, url)
  }
})

test('scheduler with --wait: one gap drawn per request, used both to give the slot and to send', async () => {
  // A second draw for the send spaced requests by the longer of two (`--wait 2-4`: 3.3 s on average).
  let draws = 0
  let ran = 0
  const scheduler: Scheduler<number> = new Scheduler<number>({
    concurrency: 4,
    perHost: 4,
    spacing: () => {
      draws++
      return 1
    },
    run: async (_task, host) => {
      scheduler.turn(host)
      ran++
    },
  })
  for (let i = 0; i < 6; i++) scheduler.add('h', i)
  while (ran < 6) await sleep(5)
  assert.equal(draws, 6)
})

// A scraped list has one file per host for most rows: what the scheduler keeps of each host
// (its state while it has work, then what a complaint or a refusal taught, or that it answered)
// must not grow with the hosts seen, and a host given up (nothing listens on its port) is given
// up alone: the same address's other ports are not.
test('scheduler: 30,000 hosts of one file each leave at most 10,000 remembered, none held', async () => {
  const count = 30_000
  let done = 0
  const scheduler: Scheduler<number> = new Scheduler<number>({
    concurrency: 128,
    perHost: 'auto',
    run: async (i, host) => {
      await sleep(0)
      if (i % 3 === 0) scheduler.giveUp(host, { code: 'network', why: 'refused' }, 1000)
      else if (i % 3 === 1) scheduler.pressure(host, performance.now(), true)
      else scheduler.success(host, 5)
      done++
    },
  })
  const host = (i: number) => `http://127.0.${(i >> 8) & 255}.${i & 255}:${20_000 + (i % 7)}`
  for (let i = 0; i < count; i++) scheduler.add(host(i), i)
  while (done < count) await sleep(20)
  await sleep(10)
  const held = scheduler.held()
  assert.deepEqual(
    { hosts: held.hosts, ready: held.ready, paused: held.paused },
    { hosts: 0, ready: 0, paused: 0 },
  )
  assert.ok(held.learned <= 10_000 && held.answered <= 10_000, JSON.stringify(held))
  // The latest given up stays given up; the same address on another port does not.
  const last = count - 3
  assert.equal(scheduler.givenUp(host(last))?.why, 'refused')
  assert.equal(scheduler.givenUp(`http://127.0.${(last >> 8) & 255}.${last & 255}:19999`), undefined)
})

test('scheduler: what each complaint does to its host (first, cut, floor, or nothing)', () => {
  const scheduler = new Scheduler<number>({
    concurrency: 64,
    perHost: 4,
    run: () => new Promise<void>(() => {}),
  })
  for (let i = 0; i < 8; i++) scheduler.add('h', i)
  const complain = () => scheduler.pressure('h', performance.now(), true)
  // The first complaint ever: the host waits. Then complaints count until a quarter of a window
  // of 8 (2 of them) cuts 4 to 2: the first cut, which waits too; complaints about requests sent
  // before a cut are old news.
  assert.equal(complain(), 'first')
  assert.equal(complain(), 'first')
  assert.equal(scheduler.pressure('h', 0, true), undefined, 'sent before the cut')
  assert.equal(complain(), undefined)
  assert.equal(complain(), 'cut')
  // At one transfer at a time, every complaint is one to wait for.
  assert.equal(complain(), 'floor')
  assert.equal(complain(), 'floor')

  // 503s (no rate limit's ceiling): only the first cut waits too, as after 429s. Every later cut
  // read as a first one, and paused the host (nginx limit_conn: 88 503s and 15.5 s for 150 files).
  const unlimited = new Scheduler<number>({
    concurrency: 64,
    perHost: 4,
    run: () => new Promise<void>(() => {}),
  })
  for (let i = 0; i < 8; i++) unlimited.add('h', i)
  const busy = () => unlimited.pressure('h', performance.now(), false)
  assert.equal(busy(), 'first')
  assert.equal(busy(), 'first', 'the first cut, 4 to 2')
  assert.equal(busy(), undefined)
  assert.equal(busy(), 'cut', 'a later cut, 2 to 1')
  assert.equal(busy(), 'floor')
})

/**
 * A scheduler whose tasks take 2 ms and answer cleanly, behind a gate whose `acquire` a test
 * writes; the limits it learns are kept in `learned`, and `done()` counts ended tasks.
 */
function gated(acquire: HostGate['acquire'], options: { concurrency: number; autoStart?: number }) {
  const learned: number[] = []
  let done = 0
  const scheduler: Scheduler<number> = new Scheduler<number>({
    ...options,
    perHost: 'auto',
    gate: { acquire, pause: () => {}, learn: (_host, limit) => learned.push(limit) },
    run: async (_task, host) => {
      await sleep(2)
      scheduler.success(host, 5)
      done++
    },
  })
  const until = async (count: number) => {
    while (done < count) await sleep(10)
  }
  return { scheduler, learned, until }
}

test('scheduler behind a gate that holds a host to 3: its limit is not grown past what runs, nor told to the others', async () => {
  // Other workers learned the host takes 3 (a new shard's run, limit 16 and gated to
  // 3, met one 429 and then told Redis 17, 18, 19...).
  let held = 0
  let most = 0
  const { scheduler, learned, until } = gated(
    async () => {
      if (held >= 3) return { retryIn: 2 }
      held++
      most = Math.max(most, held)
      return { release: () => held-- }
    },
    { concurrency: 64 },
  )
  for (let i = 0; i < 120; i++) scheduler.add('h', i)
  // One complaint that does not cut (complaints count first): from then on changes are learned.
  scheduler.pressure('h', performance.now(), true)
  await until(120)
  assert.equal(most, 3)
  assert.deepEqual(
    learned.filter((limit) => limit > 3),
    [],
    `told: ${learned.join(', ')}`,
  )
  // A cut tells what ran, not the halved limit of 16.
  for (let i = 0; i < 40; i++) scheduler.add('h', 1000 + i)
  await sleep(5)
  for (let i = 0; i < 4; i++) scheduler.pressure('h', performance.now(), true)
  assert.ok(learned.length > 0 && learned.at(-1)! <= 3, `told: ${learned.join(', ')}`)
  await until(160)
})

test('scheduler sharing a host with other workers at its own limit: full there, its limit is in use and grows', async () => {
  // The other workers hold half of whatever limit this one asks with (after a cut,
  // each of W workers ran limit / W, none saw its limit used, and the host never got more).
  let held = 0
  const { scheduler, learned, until } = gated(
    async (_host, limit) => {
      if (held + Math.floor(limit / 2) >= limit) return { retryIn: 2, ownLimit: true }
      held++
      return { release: () => held-- }
    },
    { concurrency: 256, autoStart: 8 },
  )
  for (let i = 0; i < 800; i++) scheduler.add('h', i)
  // The host complained enough to cut: from then on the gate holds all workers to the limit.
  await sleep(5)
  for (let i = 0; i < 40 && learned.length === 0; i++) scheduler.pressure('h', performance.now(), true)
  const cutTo = learned[0]
  assert.ok(cutTo !== undefined && cutTo <= 16, `told: ${learned.join(', ')}`)
  await until(800)
  // Grown steadily, as one process alone would (without it: once at most, at the cut).
  assert.ok(Math.max(...learned) >= cutTo + 5, `told: ${learned.join(', ')}`)
})

test('a timeout is told in the unit its option takes: seconds, or ms below one second', () => {
  assert.equal(
    new TimeoutError('idle', 15_000, 'http://x/a.jpg').message,
    'idle timeout after 15 s on http://x/a.jpg',
  )
  assert.equal(new TimeoutError('total', 2500, 'u').message, 'total timeout after 2.5 s on u')
  assert.equal(new TimeoutError('headers', 300, 'u').message, 'headers timeout after 300 ms on u')
})

test('a failed job keeps its part only when it can be resumed and the failure was not the bytes', () => {
  const table: [string, boolean, boolean][] = [
    ['truncated', true, true],
    ['network', true, true],
    ['timeout', true, true],
    ['dns', true, true],
    // A status may be the server refusing Range: the next run asks for the whole file.
    ['http-503', true, false],
    ['http-500', true, false],
    ['truncated', false, false], // no validator: nothing could prove later bytes belong to it
    ['corrupt', true, false],
    ['bad-range', true, false],
    ['hash-failed', true, false],
    ['not-an-image', true, false],
    ['http-404', true, false],
    ['too-large', true, false],
  ]
  for (const [code, resumable, expected] of table) assert.equal(keepsPart(code, resumable), expected, code)
})

test('a failed resume that may be the server refusing Range: a 5xx but 503, or not a byte of the file', () => {
  const table: [string, { code: string; status?: number; resumed: boolean }, boolean][] = [
    ['a 500 to a resume', { code: 'http-500', status: 500, resumed: true }, true],
    ['a 502 to a resume', { code: 'http-502', status: 502, resumed: true }, true],
    ['a 503 says to come back later', { code: 'http-503', status: 503, resumed: true }, false],
    ['a 429', { code: 'http-429', status: 429, resumed: true }, false],
    ['a 500 to a plain GET', { code: 'http-500', status: 500, resumed: false }, false],
    // A firewall or proxy that drops requests with Range.
    ['closed or reset before any answer', { code: 'network', resumed: true }, true],
    ['silent past the headers timeout', { code: 'timeout', resumed: true }, true],
    ['a network failure of a plain GET', { code: 'network', resumed: false }, false],
    // A 206 head, then not a byte past those on disk.
    ['a resume closed before a new byte', { code: 'truncated', resumed: true }, true],
    // Marked only where the server took the request (see noAnswer in send.ts), and a body
    // only where it brought nothing new.
    ['a cut body', { code: 'truncated', resumed: false }, false],
    ['the bytes at fault', { code: 'corrupt', resumed: true }, false],
  ]
  for (const [name, facts, expected] of table) assert.equal(refusesRange(facts), expected, name)
})

test('an attempt cut after it moved a resumable file on is not held against the retries, up to a bound', () => {
  const base = { code: 'truncated', resumable: true, continued: true, before: 30_000, after: 60_000, free: 0 }
  const table: [string, Partial<typeof base & { bodies: number }>, boolean][] = [
    ['moved on', {}, true],
    ['no byte more', { after: 30_000 }, false],
    // A server that ignores Range: each answer the whole file anew, cut a little later each time.
    ['a restart that got further', { continued: false, after: 90_000 }, false],
    ['less than the least', { after: 30_000 + MIN_PROGRESS_BYTES - 1 }, false],
    ['the least', { after: 30_000 + MIN_PROGRESS_BYTES }, true],
    ['restarted, fewer bytes', { after: 10_000 }, false],
    ['not resumable', { resumable: false }, false],
    ['a status, not a cut', { code: 'http-503' }, false],
    ['the bytes are at fault', { code: 'corrupt' }, false],
    ['the bound reached', { free: MAX_PROGRESS_ATTEMPTS }, false],
    ['below the bound', { free: MAX_PROGRESS_ATTEMPTS - 1 }, true],
    // A front that caps every answer: the least is for each answer taken (ansible/ansible#68843).
    ['the least for each part', { bodies: 3, after: 30_000 + 3 * MIN_PROGRESS_BYTES }, true],
    ['less for each part', { bodies: 100, after: 40_000 }, false],
  ]
  for (const [name, facts, expected] of table)
    assert.equal(progressFree({ ...base, ...facts }), expected, name)
})

test('withoutSigning: a redirect target fit for the manifest, without credentials or signing parameters', () => {
  const table: [string, string][] = [
    ['https://cdn.example/a.jpg', 'https://cdn.example/a.jpg'],
    ['https://cdn.example/img?id=42&w=800', 'https://cdn.example/img?id=42&w=800'],
    [
      'https://bucket.s3.amazonaws.com/a.png?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIA%2F&X-Amz-Security-Token=SECRET&X-Amz-Signature=abc&v=2',
      'https://bucket.s3.amazonaws.com/a.png?v=2',
    ],
    [
      'https://storage.googleapis.com/b/a.png?GoogleAccessId=x&Expires=1&Signature=s',
      'https://storage.googleapis.com/b/a.png?Expires=1',
    ],
    ['https://d1.cloudfront.net/a.jpg?Policy=p&Key-Pair-Id=k&Signature=s', 'https://d1.cloudfront.net/a.jpg'],
    [
      'https://acct.blob.core.windows.net/c/a.jpg?sv=2021&sig=SECRET',
      'https://acct.blob.core.windows.net/c/a.jpg?sv=2021',
    ],
    ['https://alice:pw@cdn.example/a.jpg?token=t', 'https://cdn.example/a.jpg'],
    ['https://img.example/a.jpg?api_key=k&w=640&client_id=c', 'https://img.example/a.jpg?w=640'],
  ]
  for (const [url, expected] of table) assert.equal(withoutSigning(url), expected, url)
})

test('maskSigning: the values of signing parameters, tokens, API keys and passwords in a query are ***', () => {
  const table: [string, string][] = [
    [
      'https://cdn.example/img?id=42&w=800&keyword=cat&keys=3',
      'https://cdn.example/img?id=42&w=800&keyword=cat&keys=3',
    ],
    ['https://a.example/x.jpg?X-Amz-Signature=abc&v=2', 'https://a.example/x.jpg?X-Amz-Signature=***&v=2'],
    // API keys in the query: Google's and Pixabay's key, Unsplash's and Imgur's client_id, Azure's subscription-key.
    ['https://maps.example/s?center=1&key=AIzaSECRET', 'https://maps.example/s?center=1&key=***'],
    [
      'https://api.unsplash.com/photos?client_id=AK&page=2',
      'https://api.unsplash.com/photos?client_id=***&page=2',
    ],
    [
      'https://h.example/i?api_key=A&apiKey=B&access_key=C&subscription-key=D&client_secret=E',
      'https://h.example/i?api_key=***&apiKey=***&access_key=***&subscription-key=***&client_secret=***',
    ],
    [
      'https://h.example/i?user=bo&password=P&pwd=Q&sessionid=S',
      'https://h.example/i?user=bo&password=***&pwd=***&sessionid=***',
    ],
    [
      'https://h.example/i?X-Plex-Token=T&auth_token=U',
      'https://h.example/i?X-Plex-Token=***&auth_token=***',
    ],
    ['HTTP 403 from https://h.example/i?api%5Fkey=A x', 'HTTP 403 from https://h.example/i?api%5Fkey=*** x'],
  ]
  for (const [text, expected] of table) assert.equal(maskSigning(text), expected, text)
})

test("isOwnOutput: only imgpull's own manifest, report and credits (or an empty file) are replaced", () => {
  const table: [OwnOutput, string, boolean][] = [
    ['manifest.jsonl', '', true],
    ['manifest.jsonl', '{"url":"https://a/x.jpg","status":"ok"}\n', true],
    ['manifest.jsonl', '{"sku": 1}\n', false],
    ['manifest.jsonl', 'url,caption\n', false],
    [
      'report.html',
      '<!doctype html>\n<html lang="en">\n<head>\n<meta name="generator" content="imgpull 0.1.0">',
      true,
    ],
    ['report.html', '<!doctype html><title>Q3 sales</title>', false],
    ['report.html', '\n', true],
    ['ATTRIBUTION.md', '# Photo credits\n\nThe photos', true],
    ['ATTRIBUTION.md', '# Attribution\nThis project uses', false],
  ]
  for (const [name, head, expected] of table)
    assert.equal(isOwnOutput(name, head), expected, `${name}: ${head}`)
})

test('maxSizeWarning: a --max-size under 1 KiB (a bare number is bytes) is said, a real size nothing', () => {
  // h359: --max-size 100, meant as megabytes, refused every image as too-large with no word before.
  assert.match(
    maxSizeWarning(100)!,
    /^--max-size 100 is 100 bytes \(a bare number counts bytes.*give 100MB for megabytes$/,
  )
  assert.match(maxSizeWarning(1)!, /^--max-size 1 is 1 byte \(/)
  for (const size of [undefined, 1024, 500 * 2 ** 20]) assert.equal(maxSizeWarning(size), undefined)
})

// An earlier hunt noticed: -o photos/sub after a run into photos nested two journals without a word: the outer run's
// lists none of the inner run's files (its status and report count none of them).
test("nestedRunWarning: an output folder inside an earlier run's output folder is said, naming it; a folder of its own nothing", async () => {
  const root = await mkdtemp(join(tmpdir(), 'imgpull-nested-'))
  try {
    await mkdir(join(root, 'photos', '.imgpull'), { recursive: true })
    await mkdir(join(root, 'other'))
    const photos = join(root, 'photos')
    for (const out of [join(photos, 'sub'), join(photos, 'a', 'b')])
      assert.equal(
        nestedRunWarning(out),
        `-o ${out} is inside ${photos}, an earlier run's output folder (it holds ${join(photos, '.imgpull')}): that run's journal does not list this run's files (imgpull status ${photos} and its report count none of them), and a removal or copy of ${photos} takes them along; give a folder outside it, or -o ${photos} to go on with that run`,
      )
    for (const out of [photos, join(root, 'other'), join(root, 'new', 'folder')])
      assert.equal(nestedRunWarning(out), undefined, out)
  } finally {
    await rm(root, { recursive: true, force: true })
  }
})

test('threadsWarning: --threads past the cores is said, up to them nothing', () => {
  assert.equal(threadsWarning(0, 2), undefined)
  assert.equal(threadsWarning('auto', 1), undefined, 'auto stays within the cores')
  assert.equal(threadsWarning(2, 2), undefined)
  assert.match(
    threadsWarning(3, 2) ?? '',
    /^--threads 3 is more than this machine's 2 cores: .*use at most 2$/,
  )
  assert.match(threadsWarning(64, 1) ?? '', /this machine's 1 core:/)
  assert.equal(threadsWarning(65, 2), undefined, 'past MAX_THREADS the options refuse it, in one line')
})

test('swapSignalHandler: the new handler is there before the old one goes, so a signal never meets none', () => {
  const signals = ['SIGINT', 'SIGTERM'] as const
  const saved = signals.map((s) => [s, process.listeners(s)] as const)
  for (const [s] of saved) process.removeAllListeners(s)
  const realOff = process.off
  const seen: number[] = []
  process.off = function (
    this: NodeJS.Process,
    event: string | symbol,
    listener: (...args: unknown[]) => void,
  ) {
    const result = realOff.call(this, event, listener)
    if (event === 'SIGINT' || event === 'SIGTERM') seen.push(process.listenerCount(event))
    return result
  } as typeof process.off
  const a = () => {}
  const b = () => {}
  try {
    swapSignalHandler(undefined, a)
    swapSignalHandler(a, b)
    for (const s of signals) assert.deepEqual(process.listeners(s), [b])
    swapSignalHandler(b, a)
    for (const s of signals) assert.deepEqual(process.listeners(s), [a])
  } finally {
    process.off = realOff
    for (const [s, listeners] of saved) {
      process.removeAllListeners(s)
      for (const l of listeners) process.on(s, l as () => void)
    }
  }
  assert.equal(seen.length, 4)
  assert.ok(
    seen.every((n) => n > 0),
    `listeners left after each removal: ${seen}`,
  )
})

test('a silence is long enough to give a host up at SILENT_AFTER requests, one sent after the first was cut', () => {
  const cases: { name: string; sent: (i: number) => number; given: number | undefined }[] = [
    // A whole first round cut together by one timeout (a cold start): never, however many.
    { name: 'all sent before the first cut', sent: () => 0, given: undefined },
    // The 17th goes out after the first cut: given up as it is cut.
    { name: 'a second round', sent: (i) => (i < SILENT_AFTER ? 0 : 150), given: SILENT_AFTER + 1 },
    // One at a time, each sent after the last was cut: at the 16th.
    { name: 'one at a time', sent: (i) => i * 100, given: SILENT_AFTER },
  ]
  for (const c of cases) {
    const silence = { count: 0 }
    let given: number | undefined
    for (let i = 0; i < 40 && given === undefined; i++) {
      const sentAt = c.sent(i)
      if (lengthens(silence, sentAt, Math.max(sentAt + 100, 100))) given = i + 1
    }
    assert.equal(given, c.given, c.name)
  }
})

test("other tools' options: -nX read as --name X, and unknown options other tools have", () => {
  const named: [string[], RegExp | undefined][] = [
    [['-nc', 'urls.txt'], /^'-nc' reads as -n c \(--name c\).*wget's --no-clobber/],
    [['urls.txt', '-nH'], /wget's --no-host-directories/],
    [['-nphoto'], /^'-nphoto' reads as -n photo .*given as --name photo$/],
    [['-n{name}{ext}'], undefined],
    [['-n', 'c'], undefined],
    [['--name', 'c'], undefined],
    [['--', '-nc'], undefined],
  ]
  for (const [args, message] of named) {
    const got = attachedName(args)
    if (message === undefined) assert.equal(got, undefined, args.join(' '))
    else assert.match(got ?? '', message, args.join(' '))
  }
  const options: [string, RegExp | undefined][] = [
    ['-i', /input file: imgpull reads a list given as it is/],
    ['--input-file=urls.txt', /input file/],
    ['-j16', /-c N/],
    ['-P', /-o DIR/],
    ['--dir=photos', /-o DIR/],
    ['-Z', /-c N/],
    ['--max-time', /--total-timeout/],
    ['-x.txt', undefined],
    ['--frobnicate', undefined],
    // curl's and wget's habits.
    ['-u', /user and password: put them in the URL before its host, as user:password@/],
    ['--user=bob:secret', /user:password@/],
    ['-v', /--verbose: each failure is printed with its cause.*-V is the version/],
    ['-t3', /--retries N/],
    ['--limit-rate', /imgpull has none; --wait SECONDS/],
    [
      '--location-trusted',
      /own origin only, never on a redirect to another; a redirect's Location that names/,
    ],
    ['--referer', /-H 'Referer: URL'/],
    ['-e', /-H 'Referer: URL'/],
    ['-w', /--wait SECONDS.*curl's --write-out: --json/],
    ['--random-wait', /--wait 2-4/],
    ['-N', /a rerun fetches only what is missing/],
    ['--compressed', /an encoded body \(gzip, deflate, br\) is decoded/],
    // Proxies and CAs as curl, wget and aria2c take them: commander offered --no-proxy for
    // curl's --noproxy LIST and aria2c's --all-proxy URL, the opposite of what each means.
    [
      '--noproxy',
      /NO_PROXY=host,\.\.\. in the environment \(imgpull's --no-proxy, as wget's, uses no proxy for any host\)/,
    ],
    ['--all-proxy=http://p:3128', /--proxy URL \(or ALL_PROXY=URL/],
    ['--https-proxy', /HTTPS_PROXY=URL in the environment for https:\/\/ URLs alone, or --proxy URL/],
    ['--http-proxy', /HTTP_PROXY=URL in the environment for http:\/\/ URLs alone/],
    [
      '--proxy-user',
      /put them in the proxy URL \(--proxy or HTTPS_PROXY\) before its host, as user:password@/,
    ],
    ['-U', /-A, --user-agent UA; curl's --proxy-user: put them in the proxy URL/],
    ['--socks5', /--proxy socks5:\/\/HOST:PORT/],
    ['--socks5-hostname', /--proxy socks5h:\/\/HOST:PORT/],
    ['--proxytunnel', /https:\/\/ URLs always go through a CONNECT tunnel/],
    ['--cacert', /--ca-cert FILE, given again for each file/],
    ['--proxy-cacert', /--ca-cert FILE, given again for each file \(a proxy's CA and a server's\)/],
    ['--ca-certificate', /wget's and aria2c's: --ca-cert FILE/],
    ['--capath', /SSL_CERT_DIR=DIR/],
    ['--ca-directory', /SSL_CERT_DIR=DIR/],
    ['--proxy-insecure', /--insecure skips the proxy's certificate checks too/],
    // img2dataset's, as python-fire takes them: with _ or -, =value or not.
    ['--url_list', /img2dataset's input: a list or a table is given as it is/],
    ['--output_folder=out', /img2dataset's folder: the folder is -o DIR/],
    ['--output-folder', /-o DIR/],
    ['--image_size=224', /--size PX with a --resize mode/],
    ['--resize_mode', /--resize keep-ratio/],
    ['--thread_count', /-c N/],
    ['--processes_count', /one process a core/],
    ['--encode_format', /--encode jpg/],
    ['--encode_quality', /--quality N/],
    ['--number_sample_per_shard', /--shard-size N/],
    ['--save_additional_columns', /--columns a,b/],
    ['--min_image_size', /--min-size PX/],
    ['--max_image_area', /--max-pixels N/],
    ['--verify_hash', /--hash-col COLUMN --hash-type/],
    ['--disallowed_header_directives', /--ignore-robots-tag/],
    ['--distributor', /imgpull enqueue, then imgpull worker/],
    // imgpull's own names with _ are commander's "did you mean --url-col?", not here.
    ['--url_col', undefined],
    ['-image_size', undefined],
  ]
  for (const [flag, message] of options) {
    const got = otherToolOption(flag)
    if (message === undefined) assert.equal(got, undefined, flag)
    else assert.match(got ?? '', message, flag)
  }
})

test("an unknown option's attached value that may carry a password is not shown", () => {
  const cases: [string, string][] = [
    ['--pass=hunter2', '--pass=…'],
    ['--user=bob:hunter2', '--user=…'],
    ['--proxy-user=bob:hunter2', '--proxy-user=…'],
    ['-ubob:hunter2', '-u…'],
    ['-Uu:hunter2', '-U…'],
    ['-Eclient.pem:hunter2', '-Eclient.pem:…'],
    // No password in them: as typed.
    ['-Eclient.pem', '-Eclient.pem'],
    ['--pass', '--pass'],
    ['-u', '-u'],
    ['--timeout=30', '--timeout=30'],
    ['-x.txt', '-x.txt'],
    ['--frobnicate=a:b', '--frobnicate=a:b'],
  ]
  for (const [flag, shown] of cases) assert.equal(withoutSecret(flag), shown, flag)
  // A short one with its value attached is still said for what it is.
  assert.match(otherToolOption('-Eclient.pem:hunter2') ?? '', /curl's --cert: --cert FILE/)
  assert.match(otherToolOption('-ubob:hunter2') ?? '', /curl's user and password/)
})

test("img2dataset's options given to a run, an enqueue or a worker: imgpull's spelling, or what it does instead", () => {
  // Where imgpull's options are, as the command line has them (a few of each command's).
  const pull = [
    '--url-col',
    '--resize-only-if-bigger',
    '--max-aspect-ratio',
    '--out',
    '--size',
    '--concurrency',
  ]
  const enqueue = [
    '--url-col',
    '--resize-only-if-bigger',
    '--max-aspect-ratio',
    '--size',
    '--concurrency',
    '--connect-timeout',
  ]
  const worker = ['--out', '--concurrency']
  const places: Record<RunCommand, OptionPlace> = {
    pull: (long) => (pull.includes(long) ? 'here' : undefined),
    enqueue: (long) => (enqueue.includes(long) ? 'here' : worker.includes(long) ? 'worker' : undefined),
    worker: (long) => (worker.includes(long) ? 'here' : enqueue.includes(long) ? 'enqueue' : undefined),
  }
  const cases: [string, RunCommand, RegExp | undefined][] = [
    // imgpull's own names with _ for -: said, however far commander's "did you mean" reaches.
    ['--url_col', 'pull', /^imgpull's is --url-col$/],
    ['--resize_only_if_bigger=True', 'pull', /^imgpull's is --resize-only-if-bigger$/],
    ['--max_aspect_ratio', 'enqueue', /^imgpull's is --max-aspect-ratio$/],
    ['--url_col', 'worker', /^imgpull's is --url-col, given to imgpull enqueue: every shard carries/],
    ['--url_list', 'enqueue', /imgpull enqueue urls\.parquet --queue NAME$/],
    ['--url_list', 'worker', /a worker takes its queue's, given to imgpull enqueue/],
    ['--output_folder', 'enqueue', /-o DIR, given to each imgpull worker$/],
    ['--output_folder', 'worker', /the folder is -o DIR$/],
    ['--image_size', 'worker', /--size PX .*, given to imgpull enqueue/],
    ['--thread_count', 'worker', /-c N, over all hosts \(128 by default\)$/],
    ['--timeout', 'pull', /img2dataset's timeout: imgpull has --connect-timeout/],
    ['--timeout', 'worker', /--total-timeout \(a whole file\), given to imgpull enqueue/],
    // img2dataset's options imgpull has nothing for.
    ['--upscale_interpolation', 'pull', /imgpull has no such option; sharp resizes with lanczos3/],
    ['--downscale_interpolation', 'enqueue', /lanczos3/],
    ['--bbox_col', 'pull', /imgpull has no such option and blurs nothing/],
    ['--extract_exif', 'pull', /imgpull has no such option, EXIF is not put in the rows/],
    ['--oom_shard_count', 'pull', /five \(00000\.tar\)/],
    ['--max_shard_retry', 'worker', /--retries N/],
    ['--wandb_project', 'enqueue', /report\.html/],
    // wget's and curl's are a run's alone; one no tool has, or a name of imgpull's with _ no command takes.
    ['-i', 'enqueue', undefined],
    ['--frobnicate_this', 'pull', undefined],
    ['--redis_url', 'pull', undefined],
    // The TLS and proxy ones are the run's, enqueue's too (--noproxy to enqueue was offered
    // "did you mean --no-proxy?"); a worker takes none of them.
    ['--noproxy', 'enqueue', /NO_PROXY=host,\.\.\. in the environment/],
    ['--cacert=ca.pem', 'enqueue', /--ca-cert FILE/],
    ['-Eclient.pem:pw', 'enqueue', /curl's --cert: --cert FILE/],
    ['-k', 'enqueue', /--insecure/],
    ['--noproxy', 'worker', undefined],
    ['-i', 'enqueue', undefined],
  ]
  for (const [flag, command, message] of cases) {
    const got = otherToolOption(flag, command, places[command])
    if (message === undefined) assert.equal(got, undefined, `${command} ${flag}`)
    else assert.match(got ?? '', message, `${command} ${flag}`)
  }
})

test("--columns: comma-separated names; img2dataset's Python list refused with imgpull's spelling, not read as columns '[a' and 'b]'", () => {
  const cases: [string, string[] | RegExp][] = [
    ['license,width', ['license', 'width']],
    [' license , width ,', ['license', 'width']],
    ["it's,a[0],[x", ["it's", 'a[0]', '[x']],
    ["'", ["'"]],
    [
      '[license,width]',
      /^--columns '\[license,width\]' is a Python list, .*; imgpull's is --columns license,width /,
    ],
    [
      "['NSFW','similarity']",
      /^--columns "\['NSFW','similarity'\]" is a Python list.*--columns NSFW,similarity /,
    ],
    ['["NSFW", "similarity"]', /--columns NSFW,similarity /],
    ['(a, b)', /is a Python list.*--columns a,b /],
    ["'a', 'b'", /is names in quotes.*--columns a,b /],
    ['"a"', /--columns a /],
    ['[]', /--columns '' /],
  ]
  for (const [value, want] of cases) {
    if (Array.isArray(want)) assert.deepEqual(columnList(value), want, value)
    else
      assert.throws(
        () => columnList(value),
        (e: Error) => e instanceof UsageError && want.test(e.message),
        value,
      )
  }
})

test("a flag given True or False, as img2dataset's command line takes it: refused, not read as an input 'True'", () => {
  const command = new Command('imgpull')
    .option('--resize-only-if-bigger')
    .option('-q, --quiet')
    .option('--no-http2')
    .option('--url-col <name>')
    .option('--size [px]')
    .option('--netrc')
    .option('--netrc-file <file>')
  const files = new Set(['true'])
  const cases: [string[], RegExp | undefined][] = [
    [
      ['a.csv', '--resize-only-if-bigger', 'True'],
      /^--resize-only-if-bigger takes no value, so 'True' after it would be read as an input: give --resize-only-if-bigger alone for true, and leave it out for false$/,
    ],
    [['--resize-only-if-bigger', 'FALSE', 'a.csv'], /so 'FALSE' after it/],
    [
      ['--resize-only-if-bigger=False'],
      /^--resize-only-if-bigger takes no value \('--resize-only-if-bigger=False'\)/,
    ],
    [['-q', 'false'], /^--quiet takes no value/],
    [['--no-http2', 'True'], /^--no-http2 takes no value/],
    // aria2c's and wget's words, and any value after = (kyma-project/cli#1367, akesterson/cmdarg#14).
    [['-q', 'off'], /^--quiet takes no value, so 'off' after it/],
    [
      ['--resize-only-if-bigger=yes'],
      /^--resize-only-if-bigger takes no value \('--resize-only-if-bigger=yes'\)/,
    ],
    [['--resize-only-if-bigger=1'], /takes no value \('--resize-only-if-bigger=1'\): give/],
    [['--no-http2='], /^--no-http2 takes no value \('--no-http2='\)/],
    [
      ['--netrc=/home/a/.netrc'],
      /^--netrc takes no value \('--netrc=\/home\/a\/\.netrc'\); did you mean --netrc-file \/home\/a\/\.netrc\?$/,
    ],
    // A value of an option that takes one, a file named so, a word after --, other words.
    [['--url-col', 'true', 'a.csv'], undefined],
    [['--url-col=true', 'a.csv'], undefined],
    [['--size', 'true'], undefined],
    [['-q', 'true'], undefined],
    [['--', '-q', 'False'], undefined],
    [['-q', 'a.csv', 'True'], undefined],
    [['-q', '1'], undefined],
    [['--resize-only-if-bigger', 'Truth'], undefined],
    [['--resize-only-if-bigger'], undefined],
  ]
  for (const [args, message] of cases) {
    const got = valueGivenToFlag(command, args, (path) => files.has(path))
    if (message === undefined) assert.equal(got, undefined, args.join(' '))
    else assert.match(got ?? '', message, args.join(' '))
  }
})

test('oneDashLong: a long option typed with one dash is refused, naming the two-dash form, as getopt reads it as a short one (rust-lang/getopts#101)', () => {
  const command = new Command('imgpull')
  for (const flags of ['-o, --out <dir>', '--retries <n>', '-n, --name <template>', '-q, --quiet'])
    command.option(flags)
  const cases: [string[], string | undefined][] = [
    [['urls.txt', '-out', 'photos'], "'-out': a long option takes two dashes, --out, not -o ut"],
    [['-retries=3'], "'-retries=3': a long option takes two dashes, --retries=3"],
    [['-quiet'], "'-quiet': a long option takes two dashes, --quiet, not -q -u -i -e -t"],
    // An option's value, a word after --, short options and values attached: left alone.
    [['-o', '-out'], undefined],
    [['--name', '-retries'], undefined],
    [['--', '-out'], undefined],
    [['-ophotos', '-q'], undefined],
    [['-nc'], undefined],
  ]
  for (const [args, message] of cases) assert.equal(oneDashLong(command, args), message, args.join(' '))
})

test('urlKey: escapes of unreserved characters decoded, the others upper-cased (RFC 3986 §6.2.2)', () => {
  const cases: [string, string][] = [
    ['https://a.example/e.jpg', 'https://a.example/e.jpg'],
    ['https://a.example/%65.jpg', 'https://a.example/e.jpg'],
    ['https://a.example/%7e%7E%2d%2E%5F.jpg', 'https://a.example/~~-._.jpg'],
    ['https://a.example/caf%c3%a9.jpg', 'https://a.example/caf%C3%A9.jpg'],
    ['https://a.example/a%2fb%3F.jpg?q=%26%3d', 'https://a.example/a%2Fb%3F.jpg?q=%26%3D'],
    ['https://a.example/%25%41', 'https://a.example/%25A'],
  ]
  for (const [href, key] of cases) assert.equal(urlKey(href), key, href)
})

test('parseLine: a URL list line as other tools write them', () => {
  const cases: [string, string | undefined][] = [
    ['https://a.example/1.jpg', 'https://a.example/1.jpg'],
    ['  https://a.example/1.jpg\r', 'https://a.example/1.jpg'],
    ['https://a.example/1.jpg\tcaption', 'https://a.example/1.jpg'],
    ['# comment', undefined],
    ['', undefined],
    // a comment after the URL: a # after a space (yt-dlp's batch files); a fragment's # is the URL's
    ['https://a.example/1.jpg  # the cover', 'https://a.example/1.jpg'],
    ['https://a.example/1.jpg\t# the cover', 'https://a.example/1.jpg'],
    ['"https://a.example/1.jpg" # quoted', 'https://a.example/1.jpg'],
    ['url = "https://a.example/2.jpg" # curl -K', 'https://a.example/2.jpg'],
    ['https://a.example/1.jpg#frag # comment', 'https://a.example/1.jpg#frag'],
    ['https://a.example/1.jpg#a b', 'https://a.example/1.jpg#a b'],
    // marks that show nothing around it, from a web page, a chat, right-to-left text; kept inside
    ['\u200bhttps://a.example/1.jpg\u200b', 'https://a.example/1.jpg'],
    ['\u200ehttps://a.example/1.jpg\u200f\u00a0', 'https://a.example/1.jpg'],
    ['\u2060"https://a.example/1.jpg"\u00ad', 'https://a.example/1.jpg'],
    // not a control that reorders what follows: kept as written, shown escaped
    ['\u202ehttps://a.example/1.jpg', '\u202ehttps://a.example/1.jpg'],
    ['https://a.example/1.jpg\u2060\t\u200bcaption', 'https://a.example/1.jpg'],
    ['https://a.example/\u200b1.jpg', 'https://a.example/\u200b1.jpg'],
    ['\u200b', undefined],
    // DOS's end-of-file mark, alone or after the last URL (Rdatatable/data.table#1612).
    ['\x1a', undefined],
    ['https://a.example/1.jpg\x1a', 'https://a.example/1.jpg'],
    // aria2c -i option lines, indented under their URL
    ['  out=x.jpg', undefined],
    ['\tdir=/tmp', undefined],
    // curl -K
    ['url = "https://a.example/2.jpg"', 'https://a.example/2.jpg'],
    ['url="https://a.example/2.jpg"', 'https://a.example/2.jpg'],
    ['url: https://a.example/2.jpg', 'https://a.example/2.jpg'],
    ['--url https://a.example/2.jpg', 'https://a.example/2.jpg'],
    ['-o x.jpg', undefined],
    ['-O', undefined],
    ['output = "x.jpg"', undefined],
    // gallery-dl -i
    ['-G filename = "{id}"', undefined],
    ['-filename = "{id}"', undefined],
    // quoted, bracketed (RFC 3986 appendix C)
    ['"https://a.example/3.jpg"', 'https://a.example/3.jpg'],
    ["'https://a.example/3.jpg'", 'https://a.example/3.jpg'],
    ['<https://a.example/3.jpg>', 'https://a.example/3.jpg'],
    // copied from JSON or HTML source, escaped as they write a URL
    ['https:\\/\\/a.example\\/4.jpg', 'https://a.example/4.jpg'],
    ['"https:\\/\\/a.example\\/4.jpg?w=1\\u0026h=2",', 'https://a.example/4.jpg?w=1&h=2'],
    ['https://a.example/5.jpg?w=1&amp;h=2', 'https://a.example/5.jpg?w=1&h=2'],
    ['<URL:https://a.example/3.jpg>', 'https://a.example/3.jpg'],
    // left as they are: not a pair, or quotes inside the URL
    ['"https://a.example/4.jpg', '"https://a.example/4.jpg'],
    ['"https://a.example/4.jpg>', '"https://a.example/4.jpg>'],
    ['https://a.example/"4".jpg', 'https://a.example/"4".jpg'],
    ['https://a.example/x?url=1&out=2', 'https://a.example/x?url=1&out=2'],
    ['url.example.com/a.jpg', 'url.example.com/a.jpg'],
  ]
  for (const [line, url] of cases) assert.equal(parseLine(line), url, JSON.stringify(line))
})

/** A ZIP's first local file header naming `name`, stored, followed by `data`. */
function zipEntry(name: string, data = ''): Buffer {
  const head = Buffer.alloc(30)
  head.write('PK\x03\x04', 0, 'latin1')
  head.writeUInt16LE(Buffer.byteLength(name), 26)
  return Buffer.concat([head, Buffer.from(name), Buffer.from(data)])
}

/** A tar member's 512-byte header (its name, and `ustar` at byte 257, as POSIX and GNU tar write it) and its body. */
function tarMember(name: string, body: string): Buffer {
  const header = Buffer.alloc(512)
  header.write(name, 0, 'latin1')
  header.write('ustar\x0000', 257, 'latin1')
  return Buffer.concat([header, Buffer.from(body)])
}

test('listBytes tells a list file from what was given for one by mistake, by its first bytes', () => {
  const cases: [string, Buffer, string][] = [
    ['a list', Buffer.from('https://a.example/1.jpg\n# comment\n'), 'text'],
    ['an empty file', Buffer.alloc(0), 'text'],
    ['gzip', gzipSync('https://a.example/1.jpg\n'), 'gzip'],
    ['UTF-16 with its BOM', Buffer.from('\ufeffhttps://a.example/1.jpg\n', 'utf16le'), 'utf16'],
    ['UTF-16 without', Buffer.from('https://a.example/1.jpg\n', 'utf16le'), 'utf16'],
    // Zeroed at its end by a crash, as a UTF-8 list may be: still its text.
    [
      'UTF-16 ending in NULs',
      Buffer.concat([Buffer.from('https://a.example/1.jpg\n', 'utf16le'), Buffer.alloc(64)]),
      'utf16',
    ],
    // An executable given as the list (imgpull /bin/ls): its NULs read as UTF-16's, and each
    // "line" of it was requested as a URL, 20 lines of control characters said as invalid URLs.
    [
      'an ELF executable',
      Buffer.from('7f454c4602010100000000000000000003003e0001000000d06d000000000000', 'hex'),
      'binary data',
    ],
    ['zstd', Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0]), 'zstd-compressed'],
    ['bzip2', Buffer.from('BZh91AY&SY'), 'bzip2-compressed'],
    ['xz', Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0, 0]), 'xz-compressed'],
    [
      'ZIP, its NULs no UTF-16',
      Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(30)]),
      'a ZIP archive',
    ],
    // Spreadsheets saved in their own formats, whose unpacked XML holds no list: saved as CSV, read.
    [
      "Excel's .xlsx (its first entry [Content_Types].xml)",
      Buffer.concat([zipEntry('[Content_Types].xml'), Buffer.alloc(40)]),
      'an Excel workbook (.xlsx)',
    ],
    ["openpyxl's .xlsx (docProps/ first)", zipEntry('docProps/app.xml'), 'an Excel workbook (.xlsx)'],
    [
      "LibreOffice's .ods",
      zipEntry('mimetype', 'application/vnd.oasis.opendocument.spreadsheet'),
      'an OpenDocument spreadsheet (.ods)',
    ],
    // A word processor's document: a list typed in TextEdit is saved as rich text whatever its
    // name (said as JSON for its first '{'), in Word or LibreOffice as .docx or .odt (a ZIP).
    [
      "TextEdit's rich text",
      Buffer.from('{\\rtf1\\ansi\\ansicpg1252\\cocoartf2639\n\\f0\\fs24 \\cf0 https://a.example/1.jpg\\\n'),
      'a rich text document (RTF, as TextEdit and WordPad save one)',
    ],
    [
      "Word's .docx",
      Buffer.concat([zipEntry('[Content_Types].xml', '<Types><Override PartName="/word/document.xml"/>')]),
      'a Word document (.docx)',
    ],
    [
      "LibreOffice's .odt",
      zipEntry('mimetype', 'application/vnd.oasis.opendocument.text'),
      'an OpenDocument text (.odt)',
    ],
    [
      "Excel's old .xls (OLE2)",
      Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, 0, 0]),
      'an Excel workbook in its old format (.xls)',
    ],
    // A tar archive (its header's NULs read as UTF-16; a CSV row in it fetched as one URL), gzip'd
    // or not (pandas-dev/pandas#12005: pandas took it for gzip'd CSV, the member's name a column).
    [
      'a tar archive, its NULs no UTF-16',
      tarMember('urls.txt', 'https://a.example/1.jpg\n'),
      'a tar archive',
    ],
    [
      'a .tar.gz (.tgz)',
      gzipSync(tarMember('photos.csv', 'url,caption\nhttps://a.example/1.jpg,a\n')),
      'a gzip-compressed tar archive',
    ],
    ['PDF', Buffer.from('%PDF-1.7\n'), 'a PDF document'],
    ['SQLite', Buffer.from('SQLite format 3\x00\x10\x00', 'latin1'), 'an SQLite database'],
    ['Parquet', Buffer.from('PAR1\x15\x04', 'latin1'), 'a Parquet table'],
    ['JPEG', Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]), 'a JPG image'],
    [
      'a NUL in text',
      Buffer.from('https://a.example/1.jpg\n\x00https://a.example/2.jpg\n', 'latin1'),
      'binary data',
    ],
    // A file of zeros (a disk image's hole, a preallocated file never written): no list, where it
    // was read as UTF-16 for its NULs and said to hold no URL, exit 0.
    ['NULs alone', Buffer.alloc(4096), 'binary data'],
    // NULs to its end and nothing after: a list zeroed at its end by a crash, read as its text.
    ['NULs that end text', Buffer.from('https://a.example/1.jpg\n\x00', 'latin1'), 'text'],
    // Text that no list begins with: each of its lines would be an invalid URL.
    [
      'a saved web page',
      Buffer.from('\ufeff\n<!DOCTYPE html>\n<html><img src="https://a.example/1.jpg">'),
      'an HTML page',
    ],
    ['a page without a doctype', Buffer.from('<html lang="en">\n<head>'), 'an HTML page'],
    // Markup that opens otherwise, each of its lines an invalid-url failure before: a page saved
    // by IE or Edge's IE mode (its comment first), XHTML (its XML prolog first), a piece of a
    // page's source, a browser's bookmarks export (kawa-kokosowa/urlink#22: the Netscape format
    // Firefox, Chrome and Safari export), an SVG image, an RSS or Atom feed, other XML (a sitemap).
    [
      "IE's saved page, its comment first",
      Buffer.from(
        '<!-- saved from url=(0030)https://a.example/board -->\r\n<html><img src="https://a.example/1.jpg">',
      ),
      'an HTML page',
    ],
    [
      'XHTML, its XML prolog first',
      Buffer.from(
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN"',
      ),
      'an HTML page',
    ],
    [
      "a piece of a page's source",
      Buffer.from('<div class="grid">\n  <img src="https://a.example/1.jpg">\n'),
      'an HTML page',
    ],
    [
      "a browser's bookmarks export",
      Buffer.from('<!DOCTYPE NETSCAPE-Bookmark-file-1>\n<!-- This is an automatically generated file.\n'),
      "a browser's bookmarks export (a Netscape bookmark file)",
    ],
    [
      'an SVG image',
      Buffer.from('<?xml version="1.0"?>\n<!-- Inkscape -->\n<svg xmlns="http://www.w3.org/2000/svg">'),
      'an SVG image',
    ],
    [
      'an RSS feed',
      Buffer.from('<?xml version="1.0"?>\n<rss version="2.0"><channel>'),
      'an RSS or Atom feed',
    ],
    ['an Atom feed', Buffer.from('<feed xmlns="http://www.w3.org/2005/Atom">\n'), 'an RSS or Atom feed'],
    [
      'a sitemap',
      Buffer.from('<?xml version="1.0"?><urlset xmlns="x"><url><loc>https://a.example/</loc>'),
      'an XML document',
    ],
    // A URL in angle brackets (RFC 3986 appendix C), tags one a line: lists, each line named.
    [
      'URLs in angle brackets',
      Buffer.from('<https://a.example/1.jpg>\n<URL:https://a.example/2.jpg>\n'),
      'text',
    ],
    [
      '<img> tags one a line',
      Buffer.from('<img src="https://a.example/1.jpg">\n<a href="https://a.example/2.jpg">\n'),
      'text',
    ],
    [
      'a list after a comment of markup',
      Buffer.from('<!-- from the board -->\nhttps://a.example/1.jpg\n'),
      'text',
    ],
    ['a JSON array of URLs', Buffer.from('[\n  "https://a.example/1.jpg",\n'), 'a JSON array'],
    [
      "a JSON array of records (pandas' orient='records')",
      Buffer.from('[\n  {\n    "url": "https://a.example/1.jpg",\n'),
      'a JSON array of objects (a table)',
    ],
    // A list that opens with a Markdown link, pasted from notes (dpradov/keynote-nf#750): no JSON.
    ['a Markdown link first', Buffer.from('[a cat](https://a.example/1.jpg)\n'), 'text'],
    ['a Markdown reference first', Buffer.from('[1]: https://a.example/1.jpg\n'), 'text'],
    ['a JSON array of arrays', Buffer.from('[["https://a.example/1.jpg"]]\n'), 'a JSON array'],
    ['an empty JSON array', Buffer.from('[ ]\n'), 'a JSON array'],
    // A link saved as a file (a browser's link dragged to the desktop): its URL named, where the
    // INI ones were said to be a JSON array for their '[' and the property list an XML document.
    [
      "Windows' Internet Shortcut",
      Buffer.from('[InternetShortcut]\r\nURL=https://a.example/1.jpg\r\nIDList=\r\n'),
      'a Windows Internet Shortcut (.url)',
    ],
    [
      "a Linux desktop's link",
      Buffer.from('[Desktop Entry]\nName=cat\nType=Link\nURL=https://a.example/1.jpg\n'),
      'a desktop link (.desktop)',
    ],
    [
      "macOS's web location",
      Buffer.from(
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "x">\n<plist version="1.0">\n<dict>\n\t<key>URL</key>\n\t<string>https://a.example/1.jpg</string>\n',
      ),
      'a macOS web location (.webloc)',
    ],
    // An INI file of no link: no JSON array either.
    ['an INI section', Buffer.from('[photos]\nhttps://a.example/1.jpg\n'), 'text'],
    ['JSON lines named .txt', Buffer.from('{"url": "https://a.example/1.jpg"}\n'), 'JSON'],
    ['a list that mentions html', Buffer.from('https://a.example/<html>.jpg\n<b>\n'), 'text'],
    // A CSV or TSV named .txt (or piped): every row's URL would carry its other cells after a comma.
    [
      'a CSV named .txt',
      Buffer.from('url,caption,license,id,sha256\nhttps://a.example/1.jpg,A fox,cc0,1,ab\n'),
      'a CSV table (its first line names the columns url,caption,license,id...)',
    ],
    [
      'a TSV after a comment',
      Buffer.from('# photos\nimage_url\t"caption"\nhttps://a.example/1.jpg\tA fox\n'),
      'a TSV table (its first line names the columns image_url, caption)',
    ],
    ['a header of ;', Buffer.from('URL;Text\n'), 'a CSV table (its first line names the columns URL;Text)'],
    // Excel's "Unicode Text" save, which it names .txt: UTF-16 is decoded before it is judged.
    [
      "Excel's Unicode Text",
      Buffer.from('\ufeffurl\tcaption\r\nhttps://a.example/1.jpg\tcafé\r\n', 'utf16le'),
      'a TSV table (its first line names the columns url, caption)',
    ],
    ['a UTF-16BE JSON array', Buffer.from('["https://a.example/1.jpg"]', 'utf16le').swap16(), 'a JSON array'],
    // Commas in a URL (an image CDN's transformations), a first line that names no URL column: lists.
    ['a URL with commas', Buffer.from('https://a.example/w_100,h_100/1.jpg\n'), 'text'],
    ['a URL list after a comma note', Buffer.from('photos, round 2\nhttps://a.example/1.jpg\n'), 'text'],
    ['words that say url', Buffer.from('not a url, really\nhttps://a.example/1.jpg\n'), 'text'],
    ['a header with no URL after it', Buffer.from('url,caption\nnone yet,x\n'), 'text'],
  ]
  for (const [name, head, expected] of cases) {
    const got = listBytes(head)
    assert.equal(got.kind === 'other' ? got.what : got.kind, expected, name)
  }
})

test('retryDelay: least keeps a share of the window; a refused connection waits at least half of it', () => {
  // window 2000 ms (third retry): full jitter 0..2000, least 0.5: 1000..2000
  assert.equal(retryDelay({ retry: 3, maxRetryAfter: 60_000, random: 0 }), 0)
  assert.equal(retryDelay({ retry: 3, maxRetryAfter: 60_000, random: 0, least: 0.5 }), 1000)
  assert.equal(retryDelay({ retry: 3, maxRetryAfter: 60_000, random: 0.5, least: 0.5 }), 1500)
  const facts = {
    code: 'network',
    retryable: true,
    outOfTime: false,
    retries: 5,
    stopping: false,
    maxRetryAfter: 60_000,
  }
  assert.deepEqual(onFailure({ ...facts, attempts: 1, random: 0 }), {
    do: 'retry',
    delay: 0,
    pauseHost: false,
  })
  assert.deepEqual(onFailure({ ...facts, attempts: 1, random: 0, refused: true }), {
    do: 'retry',
    delay: 250,
    pauseHost: false,
  })
  assert.deepEqual(onFailure({ ...facts, attempts: 4, random: 0, refused: true }), {
    do: 'retry',
    delay: 2000,
    pauseHost: false,
  })
})

test('crowdedCredit: a refusal while others were in flight is forgiven once the host served a request sent after it, up to a cap, never at --retries 0', () => {
  const cases: [string, Parameters<typeof crowdedCredit>[0], boolean][] = [
    ['served a request sent after it', { pendingAt: 100, servedSent: 150, credited: 0, retries: 1 }, true],
    [
      'served only requests sent before it',
      { pendingAt: 100, servedSent: 90, credited: 0, retries: 5 },
      false,
    ],
    [
      'nothing served in this run (a host down)',
      { pendingAt: 100, servedSent: Number.NEGATIVE_INFINITY, credited: 0, retries: 5 },
      false,
    ],
    ['no such refusal pending', { pendingAt: undefined, servedSent: 150, credited: 0, retries: 5 }, false],
    ['--retries 0: one attempt is all', { pendingAt: 100, servedSent: 150, credited: 0, retries: 0 }, false],
    ['capped', { pendingAt: 100, servedSent: 150, credited: MAX_CROWDED_REFUSALS, retries: 5 }, false],
    [
      'under the cap',
      { pendingAt: 100, servedSent: 150, credited: MAX_CROWDED_REFUSALS - 1, retries: 5 },
      true,
    ],
  ]
  for (const [name, input, expected] of cases) assert.equal(crowdedCredit(input), expected, name)
})

test('onFailure: a refusal in doubt is tried once more past the retries; forgiven refusals lengthen the wait of the next', () => {
  const facts = {
    code: 'network',
    retryable: true,
    outOfTime: false,
    retries: 1,
    stopping: false,
    maxRetryAfter: 60_000,
    refused: true,
    random: 0,
  }
  const cases: [string, Partial<FailureFacts>, ReturnType<typeof onFailure>][] = [
    [
      'in doubt, out of retries: a short wait, half of the first window at least',
      { attempts: 2, refusedInDoubt: true },
      { do: 'retry', delay: 250, pauseHost: false },
    ],
    ['in doubt, --retries 0', { attempts: 1, retries: 0, refusedInDoubt: true }, { do: 'fail' }],
    ['in doubt, out of time', { attempts: 2, refusedInDoubt: true, timeLeft: 100 }, { do: 'fail' }],
    ['in doubt, stopping', { attempts: 2, refusedInDoubt: true, stopping: true }, { do: 'fail' }],
    ['not in doubt, out of retries', { attempts: 2 }, { do: 'fail' }],
    [
      'in doubt, retries left: the usual wait',
      { attempts: 1, refusedInDoubt: true },
      { do: 'retry', delay: 250, pauseHost: false },
    ],
    [
      'two forgiven: the window of the third retry',
      { attempts: 1, crowdedCredits: 2 },
      { do: 'retry', delay: 1000, pauseHost: false },
    ],
    [
      'ten forgiven: three windows more at most',
      { attempts: 1, crowdedCredits: 10 },
      { do: 'retry', delay: 2000, pauseHost: false },
    ],
    [
      'forgiven, a 429 naming a wait now: its own window spread after the wait, the refusals not counted',
      {
        attempts: 1,
        crowdedCredits: 2,
        refused: false,
        code: 'http-429',
        status: 429,
        retryAfter: 1000,
        random: 0.5,
      },
      { do: 'retry', delay: 1250, pauseHost: false },
    ],
  ]
  for (const [name, more, expected] of cases)
    assert.deepEqual(onFailure({ ...facts, attempts: 1, ...more }), expected, name)
})

test('a mistyped word is taken for the near one: two edits at most, more alike than not', () => {
  const commands = ['status', 'report', 'unsplash', 'enqueue', 'worker', 'bench']
  const cases: [string, string | undefined][] = [
    ['stauts', 'status'],
    ['statu', 'status'],
    ['Status', 'status'],
    ['reprot', 'report'],
    ['wroker', 'worker'],
    ['enqeue', 'enqueue'],
    ['unsplsh', 'unsplash'],
    ['photo', undefined],
    ['urls', undefined],
    ['ab', undefined],
    ['', undefined],
  ]
  for (const [word, meant] of cases) assert.equal(nearWord(word, commands), meant, word)
})

test('a URL cell that is not one URL says what it is: empty, protocol-relative, without a scheme, several', () => {
  const cases: [string, string][] = [
    ['', 'the URL cell is empty'],
    ['   ', 'the URL cell is empty'],
    ['//images.example/a.jpg', 'protocol-relative, with no http: or https: before it'],
    ['www.example.com/a.jpg', 'no http:// or https:// before it'],
    ['images.example', 'no http:// or https:// before it'],
    ['127.0.0.1:8080/a.jpg', 'no http:// or https:// before it'],
    ['localhost:8080/a.jpg', 'no http:// or https:// before it'],
    ['not a url', 'not a URL'],
    ['a.jpg b.jpg', 'not a URL'],
    ['http://exa mple.com/x.jpg', 'a space in its host name'],
    // The host and port, said without quoting them (a password may run into them).
    ['http://127.0.0.1:99999/x.jpg', 'its port is out of range (at most 65535)'],
    ['http:/127.0.0.1:99999/x.jpg', 'its port is out of range (at most 65535)'],
    ['https://host:80a/x.jpg', 'its port is not a number'],
    ['http://dave:PASS/WORD@host/x.jpg', 'its port is not a number'],
    ['http://[::1/x.jpg', 'an IPv6 address without its closing ]'],
    ['http://[::1]:70000/x.jpg', 'its port is out of range (at most 65535)'],
    // a zone id (RFC 6874), escaped as it must be or not, and a literal that is no address.
    [
      'http://[fe80::1%25eth0]:8080/x.jpg',
      'an IPv6 address with a zone id (%eth0), which URLs as browsers read them cannot hold (whatwg/url#392; curl takes it): reach the host by a global address or a name',
    ],
    [
      'http://[fe80::1%eth0]/x.jpg',
      'an IPv6 address with a zone id (%eth0), which URLs as browsers read them cannot hold (whatwg/url#392; curl takes it): reach the host by a global address or a name',
    ],
    ['http://[fe80::1g]/x.jpg', 'not an IPv6 address between its [ and ]'],
    ['http://user:pw@/x.jpg', 'no host name after http(s)://'],
    [
      'http://a%zz.example/x.jpg',
      'its host name holds a % that begins no escape (%XX): no host name holds one',
    ],
    ['ftp://host:99999/x', 'not a URL'],
    // Text pasted before it: a Markdown list's, a numbered list's, a link's, a sentence's.
    ['- https://images.example/a.jpg', "'- ' before its https://: the URL must stand alone"],
    ['1. http://images.example/a.jpg', "'1. ' before its http://: the URL must stand alone"],
    ['![a cat](https://images.example/a.jpg)', "'![a cat](' before its https://: the URL must stand alone"],
    [
      'the picture we talked about: HTTPS://images.example/a.jpg',
      "'the picture we talked a…' before its https://: the URL must stand alone",
    ],
    // Quotes and brackets around it: a CSV's `, "https://…"` (the quote is text after a space), mail.
    [
      ' "https://images.example/a.jpg"',
      'wrapped in "…", which is text here (in a CSV file, a space before the opening quote, as in ", "https://…"", makes it so): the cell must be the URL alone',
    ],
    ["'https://images.example/a.jpg'", "wrapped in '…': the cell must be the URL alone"],
    ['<https://images.example/a.jpg>', 'wrapped in <…>: the cell must be the URL alone'],
    // A word processor's smart quotes (jekyll/jekyll-seo-tag#4): it was "'“' before its https://".
    ['“https://images.example/a.jpg”', 'wrapped in “…”: the cell must be the URL alone'],
    // A scheme mistyped before its // (a typo): it was "not a URL", or "no host name
    // after http(s)://" for `http:://`, which did not say where.
    ['http//images.example/a.jpg', 'its scheme is mistyped ("http//"): write http://images.example/a.jpg'],
    [
      'https;//images.example/a.jpg',
      'its scheme is mistyped ("https;//"): write https://images.example/a.jpg',
    ],
    [
      'HTTP:://images.example/a.jpg',
      'its scheme is mistyped ("HTTP:://"): write http://images.example/a.jpg',
    ],
    // An HTML tag copied from a page's source, said with the URL its src names.
    [
      '<img src="https://images.example/a.jpg" alt="">',
      'an HTML <img> tag, not a URL: give the URL alone (https://images.example/a.jpg)',
    ],
  ]
  for (const [cell, why] of cases) assert.equal(notUrl(cell), why, cell)
  // Each by where it came from: a list's line, a job's url (or an argument), not a table's cell.
  const byEntry: [Entry, string, string][] = [
    ['line', '', 'the line is empty'],
    ['url', '  ', "the job's url is empty"],
    ['line', '<https://images.example/a.jpg>', 'wrapped in <…>: the line must be the URL alone'],
    [
      'url',
      '"https://images.example/a.jpg"',
      `wrapped in "…", which are part of the string (quoted twice, as JSON.stringify of a string gives it): the job's url must be the URL alone`,
    ],
    ['url', "'https://images.example/a.jpg'", "wrapped in '…': the job's url must be the URL alone"],
  ]
  for (const [entry, text, why] of byEntry) {
    assert.equal(notUrl(text, entry), why, `${entry}: ${text}`)
    const parsed = parseFetchUrl(text, entry)
    assert.equal('why' in parsed ? parsed.why : undefined, why, `${entry}: ${text}`)
  }
  // A host and port the URL parser takes for a scheme (`localhost:`, `example.com:`): no scheme,
  // not another one (it said "only http and https are fetched, not localhost").
  const fetched: [string, string | undefined][] = [
    ['localhost:8080/a.jpg', 'no http:// or https:// before it'],
    ['example.com:8080/a.jpg', 'no http:// or https:// before it'],
    ['images.example.com:443', 'no http:// or https:// before it'],
    ['ftp://example.com/a.jpg', 'only http and https are fetched, not ftp'],
    ['tel:5551234', 'only http and https are fetched, not tel'],
    // The image itself, as a browser's Copy image address gives an inline one: said so, with what to do.
    [
      'data:image/png;base64,AAAA',
      'only http and https are fetched: a data: URL holds the image itself (image/png), not where to download it; decode what follows its comma into a file (base64 -d)',
    ],
    [
      'data:image/svg+xml;utf8,<svg/>',
      'only http and https are fetched: a data: URL holds the image itself (image/svg+xml), not where to download it; save what follows its comma into a file',
    ],
    ['http://localhost:8080/a.jpg', undefined],
  ]
  for (const [cell, why] of fetched) {
    const parsed = parseFetchUrl(cell)
    assert.equal('why' in parsed ? parsed.why : undefined, why, cell)
  }
  const several: [string, boolean][] = [
    ['https://a.example/1.jpg https://a.example/2.jpg', true],
    ['https://a.example/1.jpg\nhttp://a.example/2.jpg', true],
    ['https://a.example/1.jpg\tHTTPS://a.example/2.jpg', true],
    [' https://a.example/1.jpg ', false],
    ['https://a.example/x.jpg?u=https://b.example/y', false],
    ['https://web.archive.org/web/2020/https://a.example/1.jpg', false],
    ['https://a.example/my photo.jpg', false],
    // Glued with no newline (asadahimeka/yandere-masonry#77), or with a NEL: one path, a 404.
    ['https://a.example/1.jpghttps://a.example/2.jpg', true],
    ['https://a.example/1.jpg\u0085https://a.example/2.jpg', true],
    ['https://res.cloudinary.com/d/image/fetch/w_300/https://a.example/1.jpg', false],
    ['https://a.example/p?next=1https://b.example/', false],
  ]
  for (const [cell, yes] of several) assert.equal(severalUrls(cell), yes, cell)
})

// an image URL's password with a `/`, `?`, `#` or `\` not percent-encoded: the host ends
// there. `u:pw#x@host` failed as "its port is not a number"; `u:1234#x@host` parsed, fetched from
// host `u` at port 1234, its password's digits in every message. The proxy's rule (proxy.ts), reused.
test('parseFetchUrl: a password whose unencoded character ends the host is said so, never shown; an @ in a path is no password', () => {
  const cases: [string, string | undefined][] = [
    ['http://u:pw#x@127.0.0.1:9/a.jpg', 'a # in them ends the host: write it as %23'],
    ['http://u:1234#x@127.0.0.1:9/a.jpg', 'a # in them ends the host: write it as %23'],
    ['https://dave:PASS/WORD@host/x.jpg', 'a / in them ends the host: write it as %2F'],
    ['https://dave:pa?ss@host/x.jpg', 'a ? in them ends the host: write it as %3F'],
    ['http:/u:pw#x@127.0.0.1/a.jpg', 'a # in them ends the host: write it as %23'],
    // One slash, or none, after the scheme is no ender: the port is what is wrong.
    ['http:/erin:pw@127.0.0.1:99999/x.jpg', undefined],
    // Parsed and meant: an @ in the path, the query or a fragment after a path.
    ['https://host/a@2x.jpg', undefined],
    ['https://host:8080/a@2x.jpg', undefined],
    ['https://host/a.jpg?by=ann@example.com', undefined],
    ['https://host/a.jpg#ann@example.com', undefined],
    ['https://u:p%23x@host/a.jpg', undefined],
  ]
  for (const [text, words] of cases) {
    const parsed = parseFetchUrl(text)
    if (words === undefined)
      assert.ok(
        'url' in parsed || !/percent-encoded/.test(parsed.why),
        `${text}: ${'why' in parsed && parsed.why}`,
      )
    else
      assert.equal(
        'why' in parsed && parsed.why,
        `its user and password need to be percent-encoded (${words})`,
        text,
      )
  }
  assert.equal(redactUrl('http://u:1234#x@127.0.0.1:9/a.jpg'), 'http://127.0.0.1:9/a.jpg')
  assert.equal(redactUrl('https://host/a.jpg#ann@example.com'), 'https://host/a.jpg#ann@example.com')
})

// an `@` in an image's file name (`x@2x.jpg`, a retina name) after a bad port was taken
// for the end of a password: "its user and password need to be percent-encoded", the URL shown as
// `http://2x.jpg`. The port is the fault, said as it is where no `@` follows.
test('parseFetchUrl: a bad host or port before an @ in a file name is named, the URL shown as written', () => {
  const cases: [string, string, string][] = [
    ['http://127.0.0.1:bad/x@2x.jpg', 'its port is not a number', 'http://127.0.0.1:bad/x@2x.jpg'],
    ['http://127.0.0.1:bad/x@2x.png?v=1', 'its port is not a number', 'http://127.0.0.1:bad/x@2x.png?v=1'],
    ['http://h:99999/a/b@3x.webp', 'its port is out of range (at most 65535)', 'http://h:99999/a/b@3x.webp'],
    ['http://[::1:bad/x@2x.jpg', 'an IPv6 address without its closing ]', 'http://[::1:bad/x@2x.jpg'],
    ['http://a b/x@2x.jpg', 'a space in its host name', 'http://a b/x@2x.jpg'],
    // Credentials before the host still never shown.
    ['http://u:pw@127.0.0.1:bad/x@2x.jpg', 'its port is not a number', 'http://127.0.0.1:bad/x@2x.jpg'],
    // A host with a path, or a name no image has, after the @: a password with a `/` in it.
    [
      'http://dave:PASS/WORD@host/x.jpg',
      'its user and password need to be percent-encoded (a / in them ends the host: write it as %2F)',
      'http://host/x.jpg',
    ],
    [
      'http://dave:PASS/WORD@host',
      'its user and password need to be percent-encoded (a / in them ends the host: write it as %2F)',
      'http://host',
    ],
  ]
  for (const [text, why, shown] of cases) {
    const parsed = parseFetchUrl(text)
    assert.equal('why' in parsed && parsed.why, why, text)
    assert.equal(redactUrl(text), shown, text)
  }
})

// a password with an unencoded `/` or `?` whose first part is digits (or empty) parses:
// `http://bob:1234/x@127.0.0.1:9/a.jpg` as host `bob`, port 1234, path `/x@127.0.0.1:9/a.jpg`; it
// failed `dns: host not found for http://bob:1234/x@…`, the password in every message, the
// manifest and the report. An `@` in a path on a one-word host stays a path.
test('parseFetchUrl: a password read as a port and a path or query is said so, never shown; an @ in a path is no password', () => {
  const encode = (c: string) =>
    `its user and password need to be percent-encoded (a ${c} in them ends the host: write it as ${c === '/' ? '%2F' : '%3F'}); if the @ is the path's, write it as %40`
  const cases: [string, string | undefined, string][] = [
    ['http://bob:1234/x@127.0.0.1:9/a.jpg', encode('/'), 'http://127.0.0.1:9/a.jpg'],
    ['http://bob:/x@img.example.com/a.jpg', encode('/'), 'http://img.example.com/a.jpg'],
    ['https://bob:1234/x@[::1]:8443/a.jpg', encode('/'), 'https://[::1]:8443/a.jpg'],
    ['http://bob:1234/x@localhost', encode('/'), 'http://localhost'],
    ['http://bob:1234/x@localhost:8080?size=2', encode('/'), 'http://localhost:8080?size=2'],
    ['http://bob:1234?x@example.com/a.jpg', encode('?'), 'http://example.com/a.jpg'],
    ['http:/bob:1234/x@127.0.0.1/a.jpg', encode('/'), 'http:/127.0.0.1/a.jpg'],
    // Paths holding an `@`, fetched as they are.
    ['http://h/users/@alice/a.jpg', undefined, 'http://h/users/@alice/a.jpg'],
    ['http://h/a@2x.jpg', undefined, 'http://h/a@2x.jpg'],
    ['http://h:8080/a@2x.jpg?v=3', undefined, 'http://h:8080/a@2x.jpg?v=3'],
    ['http://intranet:8080/@john.doe/pic.jpg', undefined, 'http://intranet:8080/@john.doe/pic.jpg'],
    [
      'http://minio:9000/avatars/ann@corp.com/a.jpg',
      undefined,
      'http://minio:9000/avatars/ann@corp.com/a.jpg',
    ],
    ['http://nas:5000/v1@2.0/a.jpg', undefined, 'http://nas:5000/v1@2.0/a.jpg'],
    ['http://h/ann@corp.com/a.jpg', undefined, 'http://h/ann@corp.com/a.jpg'],
    // A host with a dot, localhost or an address is a host: what follows is its path.
    [
      'https://cdn.example.com:1234/x@127.0.0.1/a.jpg',
      undefined,
      'https://cdn.example.com:1234/x@127.0.0.1/a.jpg',
    ],
    ['http://localhost:8080/x@example.com/a.jpg', undefined, 'http://localhost:8080/x@example.com/a.jpg'],
    ['http://[::1]:9/x@127.0.0.1/a.jpg', undefined, 'http://[::1]:9/x@127.0.0.1/a.jpg'],
  ]
  for (const [text, why, shown] of cases) {
    const parsed = parseFetchUrl(text)
    if (why === undefined) assert.ok('url' in parsed, `${text}: ${'why' in parsed && parsed.why}`)
    else assert.equal('why' in parsed && parsed.why, why, text)
    assert.equal(redactUrl(text), shown, text)
  }
})

// --redis with a `/`, `?` or `#` unencoded in its password: `redis://u:12#zz@host` went
// to host `u` ("cannot reach Redis at redis://u:12#zz@…"), `redis://u:1234/x@host` "names database
// 'x@host'", `redis://u:pa/ss@host` "is not a Redis URL": each message showing the password.
test('redisAddress: a password whose unencoded character ends the host is said so, never shown', () => {
  const cases: [string, string][] = [
    [
      'redis://u:12#zz@127.0.0.1:6399',
      "'redis://127.0.0.1:6399': its user and password need to be percent-encoded (a # in them ends the host: write it as %23)",
    ],
    [
      'redis://u:1234/zz@127.0.0.1:6399',
      "'redis://127.0.0.1:6399': its user and password need to be percent-encoded (a / in them ends the host: write it as %2F)",
    ],
    [
      'rediss://:pa/zz@cache.example:6380/2',
      "'rediss://cache.example:6380/2': its user and password need to be percent-encoded (a / in them ends the host: write it as %2F)",
    ],
    // Not a URL (its port out of range): it was shown as given, password and all.
    [
      'redis://u:zz@127.0.0.1:99999',
      "'redis://127.0.0.1:99999' is not a Redis URL: give one like redis://host:6379, or a Unix socket as /run/redis/redis.sock",
    ],
  ]
  for (const [text, why] of cases) assert.equal(redisAddress(text), why, text)
  // Encoded, it is read.
  assert.deepEqual(redisAddress('redis://u:12%23zz@127.0.0.1:6399/1'), {
    kind: 'tcp',
    url: 'redis://u:12%23zz@127.0.0.1:6399/1',
    protocol: 'redis:',
    db: '1',
  })
})

test("the closing line's byte rate is in the unit that reads best: small images read '0.0 MB/s'", () => {
  const t = (ok: number, bytes: number) => ({ ...newTally(), ok, bytes })
  // 40 icons of 900 bytes in 0.7 s, and the README's 36 fixtures: said 0.0 and 0.1 MB/s.
  assert.equal(
    summaryLine(t(40, 36_700), 700),
    '40 images, 36.7 kB in 0.7 s (57.1 img/s, 52.4 kB/s), 0 failed',
  )
  assert.equal(
    summaryLine(t(36, 143_400), 1_300),
    '36 images, 143.4 kB in 1.3 s (27.7 img/s, 110.3 kB/s), 0 failed',
  )
  assert.equal(
    summaryLine(t(15, 67_500_000), 1_500),
    '15 images, 67.5 MB in 1.5 s (10.0 img/s, 45.0 MB/s), 0 failed',
  )
  assert.equal(summaryLine(t(0, 0), 200), '0 images, 0 B in 0.2 s (0.0 img/s, 0 B/s), 0 failed')
})

test('summary line: the input a stop left unread is counted, or said to be there, so the counts add up', () => {
  const t = { ...newTally(), ok: 20, failed: 1, interrupted: 2035, bytes: 0 }
  assert.equal(
    summaryLine({ ...t, notRead: 0 }, 1_000),
    '20 images, 0 B in 1.0 s (20.0 img/s, 0 B/s), 1 failed, 2,035 left for the next run',
  )
  assert.equal(
    summaryLine({ ...t, notRead: 17_944 }, 1_000),
    '20 images, 0 B in 1.0 s (20.0 img/s, 0 B/s), 1 failed, 2,035 left for the next run, 17,944 not reached',
  )
  assert.equal(
    summaryLine({ ...t, skipped: 4, duplicates: 2, notRead: null }, 1_000),
    '20 images, 0 B in 1.0 s (20.0 img/s, 0 B/s), 1 failed, 4 already done, 2 duplicates skipped, 2,035 left for the next run, the rest of the input (past its first 2,062) not reached',
  )
})

test("summary line: failures skipped as failed before say what tries them again, the input's own and sharing pages apart", () => {
  const t = { ...newTally(), notRead: 0 }
  const head = '0 images, 0 B in 1.0 s (0.0 img/s, 0 B/s), 0 failed, '
  for (const [before, pages, own, words] of [
    [3, 0, 0, '--retry-failed tries them again'],
    [3, 0, 3, "the input's own, which every run fails again until the input is mended"],
    [
      4,
      0,
      1,
      "--retry-failed tries them again, but 1 of them is the input's own, which every run fails again until the input is mended",
    ],
    [3, 3, 0, "sharing sites' pages, which --retry-failed would fetch again as they are: see below"],
    [
      3,
      2,
      0,
      "--retry-failed tries them again, but 2 of them are sharing sites' pages, which it would fetch again as they are: see below",
    ],
    [
      5,
      0,
      2,
      "--retry-failed tries them again, but 2 of them are the input's own, which every run fails again until the input is mended",
    ],
    [
      5,
      1,
      2,
      "--retry-failed tries them again, but 1 of them is a sharing site's page, which it would fetch again as it is: see below; 2 of them are the input's own, which every run fails again until the input is mended",
    ],
  ] as const)
    assert.equal(
      summaryLine({ ...t, failedBefore: before, sharePagesBefore: pages, inputOwnBefore: own }, 1_000),
      `${head}${before} skipped as permanently failed before (${words})`,
      `${before} ${pages} ${own}`,
    )
})

test('progress text: a rate under 1 kB/s is whole bytes, never the smoothed fraction (a stall read 0.0019043486392550765 B/s)', () => {
  const t = { ...newTally(), ok: 3 }
  const stats = { active: 2, bytes: 5_000, duplicates: 0 }
  // The live line's rate decays by a fifth each frame while no byte comes (a stalled body, a
  // Retry-After wait): seconds later it is a long fraction, then a power of ten.
  for (const [rate, shown] of [
    [523.456789, '523 B/s'],
    [1.5324955408658938, '2 B/s'],
    [0.0019043486392550765, '0 B/s'],
    [1e-7, '0 B/s'],
    [999.7, '1.0 kB/s'],
    [2_500_000, '2.5 MB/s'],
  ] as const) {
    assert.equal(
      progressText(t, stats, 10, rate, 30_000),
      `3/10 (30%) · 2 active · 5.0 kB · ${shown} · ETA 1m10s`,
    )
  }
  // A byte count is unchanged: whole, as it was.
  assert.equal(formatBytes(999), '999 B')
  assert.equal(formatBytes(12_345_678), '12.3 MB')
})

// A limit said as a person gives it: `over --max-size 10000000` read as another number than the
// `--max-size 10MB` given.
test('a byte count as a size option gives it: whole binary or decimal units, else bytes', () => {
  for (const [bytes, shown] of [
    [536_870_912, '512 MiB'],
    [10_000_000, '10 MB'],
    [1024, '1 KiB'],
    [1000, '1 kB'],
    [1_500_000, '1500 kB'],
    [1_073_741_824, '1 GiB'],
    [2 * 1000 ** 4, '2 TB'],
    [1234, '1234 bytes'],
    [1, '1 byte'],
    [0, '0 bytes'],
    [Number.MAX_SAFE_INTEGER, '9007199254740991 bytes'],
  ] as const)
    assert.equal(sizeText(bytes), shown, String(bytes))
})

test('progress text: done of total, failed, in flight, bytes, rate, ETA from the pace so far', () => {
  const t = { ...newTally(), ok: 20, skipped: 5, failed: 5 }
  const stats = { active: 4, bytes: 12_345_678, duplicates: 10 }
  assert.equal(
    progressText(t, stats, 100, 2_500_000, 30_000),
    '40/100 (40%) · 5 failed · 4 active · 12.3 MB · 2.5 MB/s · ETA 1m12s',
  )
  // A rerun: 990 files done before are skipped at once, 5 fetched in 10 s, 5 left: 10 s, not the
  // 0.1 s the pace over all 995 said.
  assert.equal(
    progressText(
      { ...newTally(), ok: 5, skipped: 900, failedBefore: 90 },
      { active: 5, bytes: 0, duplicates: 0 },
      1000,
      0,
      10_000,
    ),
    '995/1,000 (99%) · 5 active · 0 B · 0 B/s · ETA 10.0 s',
  )
  // A list whose every other line repeats a URL, run to its end: 100%, where it stood at 50%.
  assert.equal(
    progressText({ ...newTally(), ok: 50 }, { active: 0, bytes: 0, duplicates: 50 }, 100, 0, 1_000),
    '100/100 (100%) · 0 active · 0 B · 0 B/s',
  )
  // No total yet (stdin, a table being read): what the count counts is said.
  assert.equal(
    progressText(t, stats, undefined, 0, 30_000),
    '30 done · 5 failed · 4 active · 12.3 MB · 0 B/s',
  )
  assert.equal(
    progressText(newTally(), { active: 0, bytes: 0, duplicates: 0 }, 3, 0, 0),
    '0/3 (0%) · 0 active · 0 B · 0 B/s',
  )
  // every file left waits out a server's Retry-After (or a backoff): the pace so far
  // said `ETA 0.0 s` for a minute. The last wait to run out bounds it, and says so.
  const fast = { ...newTally(), ok: 99 }
  assert.equal(
    progressText(fast, { active: 0, bytes: 0, duplicates: 0, waitLeft: 58_000 }, 100, 0, 100),
    '99/100 (99%) · 0 active · 0 B · 0 B/s · ETA 58.0 s (waiting to retry)',
  )
  assert.equal(
    progressText(fast, { active: 0, bytes: 0, duplicates: 0, waitLeft: 0 }, 100, 0, 100),
    '99/100 (99%) · 0 active · 0 B · 0 B/s · ETA 0.0 s',
  )
  // The pace says longer: the pace it is.
  assert.equal(
    progressText(t, { ...stats, waitLeft: 5_000 }, 100, 2_500_000, 30_000),
    '40/100 (40%) · 5 failed · 4 active · 12.3 MB · 2.5 MB/s · ETA 1m12s',
  )
  // Nothing done yet, every file waiting: the wait is all there is to go on.
  assert.equal(
    progressText(newTally(), { active: 0, bytes: 0, duplicates: 0, waitLeft: 3_000 }, 3, 0, 500),
    '0/3 (0%) · 0 active · 0 B · 0 B/s · ETA 3.0 s (waiting to retry)',
  )
})

test('progress text fitted to a narrow terminal: in flight, bytes, rate, then the ETA are left out, and what is still too long is cut', () => {
  const t = { ...newTally(), ok: 20, skipped: 5, failed: 5 }
  const stats = { active: 4, bytes: 12_345_678, duplicates: 10 }
  const fitted = (width: number) => progressText(t, stats, 100, 2_500_000, 30_000, width)
  const table: [number, string][] = [
    [80, '40/100 (40%) · 5 failed · 4 active · 12.3 MB · 2.5 MB/s · ETA 1m12s'],
    [60, '40/100 (40%) · 5 failed · 12.3 MB · 2.5 MB/s · ETA 1m12s'],
    [50, '40/100 (40%) · 5 failed · 2.5 MB/s · ETA 1m12s'],
    [39, '40/100 (40%) · 5 failed · ETA 1m12s'],
    [25, '40/100 (40%) · 5 failed'],
    [12, '40/100 (40%…'],
    [1, '…'],
  ]
  for (const [width, line] of table) assert.equal(fitted(width), line, `${width} columns`)
})

test('progress text of a run told to stop (Ctrl-C) says stopping, not an ETA for the files left to the next run', () => {
  const t = { ...newTally(), ok: 20, skipped: 5, failed: 5 }
  const stopping = { active: 4, bytes: 12_345_678, duplicates: 10, waitLeft: 5_000, stopping: true }
  assert.equal(
    progressText(t, stopping, 100, 2_500_000, 30_000),
    '40/100 (40%) · 5 failed · 4 active · 12.3 MB · 2.5 MB/s · stopping',
  )
  // It said 'ETA 1m12s' under 'Stopping: finishing transfers in flight (up to 30 s)'.
  assert.equal(progressText(t, stopping, 100, 2_500_000, 30_000, 39), '40/100 (40%) · 5 failed · stopping')
})

test('IMGPULL_PROGRESS_INTERVAL: seconds between progress lines in a log, 0 for none, 60 unset', () => {
  const table: [string | undefined, number | undefined][] = [
    [undefined, 60],
    ['', 60],
    ['30', 30],
    ['0.5', 0.5],
    ['0', undefined],
  ]
  for (const [given, expected] of table) {
    assert.equal(
      progressLogSeconds(given === undefined ? {} : { IMGPULL_PROGRESS_INTERVAL: given }),
      expected,
      given,
    )
  }
  for (const bad of ['often', '-1', 'Infinity', '1m']) {
    assert.throws(
      () => progressLogSeconds({ IMGPULL_PROGRESS_INTERVAL: bad }),
      (e: Error) =>
        e.name === 'UsageError' &&
        e.message.includes('IMGPULL_PROGRESS_INTERVAL') &&
        e.message.includes(JSON.stringify(bad)),
    )
  }
})

test('RecentMap keeps the most recently used entries up to its limit', () => {
  const rows: [string, (m: RecentMap<string, number>) => void, string[]][] = [
    [
      'set past the limit drops the oldest',
      (m) => {
        for (const [i, k] of ['a', 'b', 'c', 'd'].entries()) m.set(k, i)
      },
      ['b', 'c', 'd'],
    ],
    [
      'a get makes an entry recent',
      (m) => {
        m.set('a', 1).set('b', 2).set('c', 3)
        m.get('a')
        m.set('d', 4)
      },
      ['c', 'a', 'd'],
    ],
    [
      'has counts as a use',
      (m) => {
        m.set('a', 1).set('b', 2).set('c', 3)
        m.has('a')
        m.set('d', 4)
      },
      ['c', 'a', 'd'],
    ],
    [
      'set again makes it recent',
      (m) => {
        m.set('a', 1).set('b', 2).set('c', 3).set('a', 9).set('d', 4)
      },
      ['c', 'a', 'd'],
    ],
    [
      'a lower limit drops at once',
      (m) => {
        m.set('a', 1).set('b', 2).set('c', 3)
        m.limit = 1
      },
      ['c'],
    ],
    [
      'a miss changes nothing',
      (m) => {
        m.set('a', 1).set('b', 2)
        m.get('z')
        m.set('c', 3)
        m.set('d', 4)
      },
      ['b', 'c', 'd'],
    ],
  ]
  for (const [name, act, kept] of rows) {
    const m = new RecentMap<string, number>(3)
    act(m)
    assert.deepEqual([...m.keys()], kept, name)
    assert.ok(m.size <= m.limit, name)
  }
  for (const bad of [0, -1, Number.NaN]) assert.throws(() => new RecentMap(bad), RangeError)
})

test('autoThreads: one a core beyond the first, none on one core, at most AUTO_THREADS_MAX', () => {
  const table: [number, number][] = [
    [1, 0],
    [2, 1],
    [3, 2],
    [4, 3],
    [5, 4],
    [16, AUTO_THREADS_MAX],
    [128, AUTO_THREADS_MAX],
  ]
  for (const [cores, threads] of table) assert.equal(autoThreads(cores), threads, `${cores} cores`)
  assert.equal(AUTO_THREADS_MAX, 4)
})

test("AutoThreadBudget: runs at once share the machine's auto threads; one that found none takes them once given back", () => {
  const budget = new AutoThreadBudget(autoThreads(4))
  const step = (op: 'take' | 'give', n = 0) => {
    if (op === 'take') return budget.take()
    budget.give(n)
    return 0
  }
  // [a run takes its threads or gives them back, threads it gets]
  const table: [['take'] | ['give', number], number][] = [
    [['take'], 3],
    [['take'], 0],
    [['give', 3], 0],
    [['take'], 3],
    [['give', 3], 0],
    [['give', 3], 0],
    [['take'], 3],
  ]
  for (const [i, [[op, n], threads]] of table.entries()) assert.equal(step(op, n), threads, `step ${i}`)
  assert.equal(new AutoThreadBudget(autoThreads(1)).take(), 0, 'one core: none')
})

test("heldOptions and otherOptions: a re-enqueue's options not chosen are the queue's; those chosen otherly are named", () => {
  const held = JSON.stringify({ concurrency: 8, perHost: 2, userAgent: 'first', shardSize: 10 })
  const cases: {
    given: Record<string, unknown>
    chosen?: string[]
    want: Record<string, unknown>
    differ?: string
  }[] = [
    // The command line's defaults, nothing chosen: the queue's options whole.
    {
      given: { concurrency: 128, perHost: 'auto', userAgent: 'imgpull', shardSize: 10 },
      chosen: [],
      want: { concurrency: 8, perHost: 2, userAgent: 'first', shardSize: 10 },
    },
    // One chosen the same, one chosen otherly: that one named.
    {
      given: { concurrency: 8, perHost: 4, userAgent: 'imgpull', shardSize: 10 },
      chosen: ['concurrency', 'perHost'],
      want: { concurrency: 8, perHost: 4, userAgent: 'first', shardSize: 10 },
      differ: 'perHost 2, not 4',
    },
    // A library caller that says nothing of choices: every option given counts, as before.
    {
      given: { concurrency: 128, perHost: 2, userAgent: 'first', shardSize: 10 },
      want: { concurrency: 128, perHost: 2, userAgent: 'first', shardSize: 10 },
      differ: 'concurrency 8, not 128',
    },
  ]
  for (const c of cases) {
    const options = heldOptions(held, c.given, c.chosen && new Set(c.chosen))
    assert.deepEqual(options, c.want, JSON.stringify(c))
    assert.equal(otherOptions(held, options), c.differ, JSON.stringify(c))
  }
  // A queue with no options yet (its first enqueue): what was given.
  assert.deepEqual(heldOptions(null, { concurrency: 3 }, new Set()), { concurrency: 3 })
})

test('changedFile: the first input file whose contents are not those a queue holds, with its sizes', () => {
  const plan = {
    files: ['/a.txt', '/b.txt'],
    contents: [
      { size: 10, fingerprint: 'aa' },
      { size: 30, fingerprint: 'bb2' },
    ],
  }
  const held = (b: string) =>
    JSON.stringify([
      { size: 10, fingerprint: 'aa' },
      { size: 20, fingerprint: b },
    ])
  assert.deepEqual(changedFile(plan, held('bb')), { path: '/b.txt', was: 20, now: 30 })
  assert.equal(changedFile(plan, held('bb2')), undefined, 'the same contents')
  assert.equal(changedFile(plan, null), undefined, 'a queue of an earlier imgpull says nothing of them')
  assert.equal(changedFile(plan, '{oops'), undefined)
  assert.equal(changedFile(plan, JSON.stringify([{ size: 10, fingerprint: 'aa' }])), undefined)
})

// a host out of reach from a SOCKS5 proxy (its reply says so) is given up as a direct one
// is; an HTTP proxy's 5xx to a CONNECT is ambiguous (Squid's 503: refused, or overloaded) and is not.
test('outOfReachWords: definite refusals only, direct or told by a SOCKS5 proxy', () => {
  const cases: [string, string, RegExp | undefined][] = [
    ['network', 'ECONNREFUSED', /^nothing listens on its port$/],
    ['network', 'EHOSTUNREACH', /^no route to it$/],
    // SERVFAIL or no answer at every attempt (a domain whose DNS servers are down).
    ['network', 'EAI_AGAIN', /^DNS gave its name no address at any attempt$/],
    ['network', 'ECONNRESET', undefined],
    ['proxy', 'UND_ERR_SOCKS5_REPLY_5', /nothing listening on its port \(SOCKS5 reply 5\)/],
    ['proxy', 'UND_ERR_SOCKS5_REPLY_4', /no route to it \(SOCKS5 reply 4\)/],
    ['proxy', 'UND_ERR_SOCKS5_REPLY_3', /no route to its network \(SOCKS5 reply 3\)/],
    // A ruleset's refusal, a general failure: the proxy's, not the host's.
    ['proxy', 'UND_ERR_SOCKS5_REPLY_2', undefined],
    ['proxy', 'UND_ERR_SOCKS5_REPLY_1', undefined],
    // The proxy itself refusing is ProxySilence's (the proxy given up), not the host's.
    ['proxy', 'ECONNREFUSED', undefined],
    // An HTTP proxy's 502/503/504 to a CONNECT.
    ['proxy', '', undefined],
    ['network', 'UND_ERR_SOCKS5_REPLY_5', undefined],
  ]
  for (const [code, cause, words] of cases) {
    const got = outOfReachWords(code, cause)
    if (words) assert.match(got ?? '', words, `${code} ${cause}`)
    else assert.equal(got, undefined, `${code} ${cause}`)
  }
})

// an HTTP proxy's 502/503/504 to one CONNECT is ambiguous; a few files of one host failing
// so while the proxy opens tunnels to other hosts is the host.
test('gatewayGivesUp: a host only after a few files, and only while the proxy serves other hosts', () => {
  const cases: [number, number, boolean][] = [
    [1, 5, false], // one proxy hiccup is never a verdict
    [GATEWAY_FILES - 1, 1, false],
    [GATEWAY_FILES, 1, true],
    [GATEWAY_FILES + 10, 2, true],
    [GATEWAY_FILES, 0, false], // the proxy opened no other tunnel: it may be the one in trouble
    [100, 0, false],
  ]
  for (const [files, others, verdict] of cases)
    assert.equal(gatewayGivesUp(files, others), verdict, `${files} files, ${others} other hosts`)
  // the proxy said it could not reach the host (Proxy-Status, X-Squid-Error): as definite
  // as a direct refusal, so once a file has spent its retries, whatever other hosts it served.
  const told: [number, number, boolean][] = [
    [0, 0, false],
    [1, 0, true],
    [1, 3, true],
  ]
  for (const [files, others, verdict] of told)
    assert.equal(gatewayGivesUp(files, others, true), verdict, `told: ${files} files, ${others} other hosts`)
})

// the statuses an HTTP proxy may have written for want of reaching the host.
test("proxyMayHaveWritten: 502 and 504, a CONNECT's 503, and any the proxy says is its own", () => {
  const cases: [GatewayAnswer, boolean][] = [
    [{ status: 502, tunnel: false }, true],
    [{ status: 504, tunnel: false }, true],
    [{ status: 503, tunnel: true }, true],
    [{ status: 503, tunnel: false }, false],
    [{ status: 503, tunnel: false, said: 'Proxy-Status error=connection_refused' }, true],
    [{ status: 500, tunnel: false }, false],
  ]
  for (const [answer, verdict] of cases)
    assert.equal(proxyMayHaveWritten(answer), verdict, JSON.stringify(answer))
})

// a proxy's own word on its error status, read for whether it could not reach the host.
test('toldOutOfReach: RFC 9209 Proxy-Status and squid errors that say the proxy could not reach the host', () => {
  const cases: [string | undefined, string | undefined][] = [
    ['Proxy-Status error=connection_refused', 'nothing listens on its port'],
    ['Proxy-Status error="connection_refused"', 'nothing listens on its port'],
    ['Proxy-Status error=dns_error', 'its name does not resolve'],
    ['Proxy-Status error=destination_ip_unroutable', 'no route to it'],
    ['Proxy-Status error=connection_timeout', 'it did not answer the TCP handshake'],
    ['Proxy-Status error=destination_unavailable', 'the proxy holds it down (recent attempts failed)'],
    ['X-Squid-Error: ERR_CONNECT_FAIL 111', 'nothing listens on its port'],
    ['X-Squid-Error: ERR_CONNECT_FAIL 113', 'no route to it'],
    ['X-Squid-Error: ERR_DNS_FAIL 0', 'its name does not resolve'],
    // The proxy's own trouble, its rules, an answer cut or slow: nothing said of reaching the host.
    ['Proxy-Status error=proxy_internal_error', undefined],
    ['Proxy-Status error=http_request_denied', undefined],
    ['Proxy-Status error=connection_read_timeout', undefined],
    ['Proxy-Status error=dns_timeout', undefined],
    ['Proxy-Status error=destination_not_found', undefined],
    ['X-Squid-Error: ERR_CONNECT_FAIL 104', undefined],
    ['X-Squid-Error: ERR_ACCESS_DENIED 0', undefined],
    ['X-Squid-Error: ERR_READ_TIMEOUT 0', undefined],
    [undefined, undefined],
  ]
  for (const [said, words] of cases) assert.equal(toldOutOfReach(said), words, String(said))
})

// an http:// URL's status through an HTTP proxy counts as the host's answer unless the
// proxy may have written it (a 502/503/504) or said it did.
test("fromHost: an http:// URL's status through an HTTP proxy is the host's unless the proxy may have written it", () => {
  const cases: [Parameters<typeof fromHost>[0], boolean][] = [
    [undefined, true], // a tunnel's, a SOCKS5 proxy's
    [{ status: 404, tunnel: false }, true],
    [{ status: 500, tunnel: false }, true],
    [{ status: 502, tunnel: false }, false],
    [{ status: 503, tunnel: false }, true], // Squid says its own 503 (X-Squid-Error); a server's asks for a wait
    [{ status: 503, tunnel: false, said: 'X-Squid-Error: ERR_CONNECT_FAIL 111' }, false],
    [{ status: 504, tunnel: false }, false],
    [{ status: 403, tunnel: false, said: 'Proxy-Status error=http_request_denied' }, false],
  ]
  for (const [gateway, verdict] of cases) assert.equal(fromHost(gateway), verdict, JSON.stringify(gateway))
})

// A Unix-time reset is read on the server's clock, its Date: in asctime's form too, which is GMT
// (RFC 9110 §5.6.7), not this machine's local time (the wait was hours off, or none at all).
test("readRefusal: a Date in asctime form is the server's clock, whatever the zone of the machine", () => {
  const zone = process.env.TZ
  const served = Date.parse('2026-01-01T00:00:00Z')
  try {
    for (const tz of ['America/New_York', 'Asia/Tokyo']) {
      process.env.TZ = tz
      // This machine's clock an hour ahead of the server's.
      const got = readRefusal(
        429,
        { date: 'Thu Jan  1 00:00:00 2026', 'x-ratelimit-reset': String(served / 1000 + 30) },
        served + 3_600_000,
      )
      assert.deepEqual([got.retryAfter, got.waitFrom], [30_000, 'X-RateLimit-Reset'], tz)
    }
  } finally {
    if (zone === undefined) delete process.env.TZ
    else process.env.TZ = zone
  }
})

// a ready thread that died was replaced without a limit; one dying at every file looped.
test('keepsDying: ready threads given up after a few deaths in a short time, not for one now and then', () => {
  const minute = READY_DEATHS_MS
  const cases: [number[], number, boolean][] = [
    [[1000], 1000, false],
    [[0, 500, 1000], 1000, true],
    [Array.from({ length: READY_DEATHS - 1 }, (_, i) => i), 10, false],
    // One an hour in a long run: each replaced.
    [[0, 3_600_000, 7_200_000], 7_200_000, false],
    // Old deaths fall out of the window.
    [[0, 10, minute + 20, minute + 30], minute + 30, false],
    [[0, minute - 2, minute - 1], minute - 1, true],
  ]
  for (const [deaths, now, verdict] of cases)
    assert.equal(keepsDying(deaths, now), verdict, `${deaths} at ${now}`)
})

test('reservedNameWords: a host under a top-level name reserved never to resolve says so', () => {
  // The README's dataset examples point at images.example: each row failed as "host not found",
  // with nothing saying the name is a placeholder no resolver will ever know.
  const table: [string, string][] = [
    ['images.example', ': .example names are reserved for examples (RFC 2606) and exist nowhere'],
    ['IMAGES.EXAMPLE.', ': .example names are reserved for examples (RFC 2606) and exist nowhere'],
    ['example', ': .example names are reserved for examples (RFC 2606) and exist nowhere'],
    ['cdn.invalid', ': .invalid names are reserved to be invalid (RFC 2606) and exist nowhere'],
    // Names that resolve somewhere: a real domain, one a local resolver may know.
    ['example.com', ''],
    ['images.example.com', ''],
    ['gone.test', ''],
    ['myexample', ''],
    ['127.0.0.1', ''],
  ]
  for (const [host, words] of table) assert.equal(reservedNameWords(host), words, host)
})

// such a name failed as `dns`, a passing cause: `imgpull status` told to run the example
// tables again "to retry the 10 failures with a passing cause", each run failing them again.
test("notFoundCode: a name no rerun will find is the input's own, or the redirect's; any other stays dns", () => {
  const table: [string, boolean, string][] = [
    ['images.example', false, 'invalid-url'],
    ['CDN.INVALID.', false, 'invalid-url'],
    ['nohost.invalid', true, 'bad-redirect'],
    ['images.example', true, 'bad-redirect'],
    // Names a resolver may know: a real domain, a local resolver's (RFC 6761 §6.2), mDNS's.
    ['gone.test', false, 'dns'],
    ['printer.local', false, 'dns'],
    ['example.com', false, 'dns'],
    ['images.example.com', true, 'dns'],
    ['intranet', false, 'dns'],
  ]
  for (const [host, redirected, code] of table)
    assert.equal(notFoundCode(host, redirected), code, `${host} ${redirected}`)
  // A plain rerun leaves what these say, and tries dns again.
  assert.equal(retriedOnRerun('invalid-url'), false)
  assert.equal(retriedOnRerun('bad-redirect'), false)
  assert.equal(retriedOnRerun('dns'), true)
})

test('emptyInputLine names the inputs that held no job, as lists or tables, standard input as such', () => {
  const cases: [readonly string[] | undefined, boolean, string][] = [
    [
      ['e.txt'],
      false,
      'No input found in e.txt: the list holds no URL (blank lines and # comments are skipped).',
    ],
    [
      ['a.txt', '-'],
      false,
      'No input found in a.txt, standard input: the lists hold no URL (blank lines and # comments are skipped).',
    ],
    // A table on standard input is read at /dev/stdin: named as the user gave it, not by that path.
    [['/dev/stdin'], true, 'No input found in standard input: the table holds no row.'],
    [['t.csv'], true, 'No input found in t.csv: the table holds no row.'],
    [['t.csv', 'u.parquet'], true, 'No input found in t.csv, u.parquet: the tables hold no row.'],
    [
      ['bad\u001b[2Jname.txt'],
      false,
      "No input found in $'bad\\x1b[2Jname.txt': the list holds no URL (blank lines and # comments are skipped).",
    ],
    [undefined, false, 'No input found: the lists hold no URL (blank lines and # comments are skipped).'],
  ]
  for (const [inputs, tables, line] of cases) assert.equal(emptyInputLine(inputs, tables), line)
})

// at --total-timeout, a body under way is given as long again only when its pace would
// bring the rest of its length within that time (a poor link, not a trickle).
test('steadyAtDeadline: the rest of its length within as long again at its pace so far, or the body is cut', () => {
  const total = 600_000
  const rows: [string, Parameters<typeof steadyAtDeadline>[0], boolean][] = [
    // 60 MB at 80 kB/s: 48 MB in at 600 s, 12 MB left, 150 s more.
    ['a poor link, 60 MB', { began: 0, length: 60_000_000, got: 48_000_000 }, true],
    // Exactly as long again: given.
    ['the rest in exactly the time', { began: 0, length: 2_000_000, got: 1_000_000 }, true],
    ['the rest in a moment more than the time', { began: 0, length: 2_000_002, got: 1_000_000 }, false],
    // A trickle: 100 B/s of 5 MB, 60 kB in.
    ['100 B/s of 5 MB', { began: 0, length: 5_000_000, got: 60_000 }, false],
    ['a byte a second', { began: 0, length: 40_000, got: 600 }, false],
    ['no length to measure the rest by', { began: 0, length: undefined, got: 48_000_000 }, false],
    ['nothing came', { began: 0, length: 1000, got: 0 }, false],
    ['no body under way', undefined, false],
    // Its length all in (the end not yet seen): nothing left.
    ['every byte in', { began: 0, length: 1000, got: 1000 }, true],
    // The body began late in the attempt: its own pace counts, not the attempt's.
    ['a body begun 590 s in, 100 kB/s', { began: 590_000, length: 1_500_000, got: 1_000_000 }, true],
    // Half in a burst, then silent (an idle timeout set longer): no pace, a stop.
    ['half, then silent since 1 s in', { began: 0, length: 2_000_000, got: 1_000_000, last: 1000 }, false],
    ['coming until 20 s before', { began: 0, length: 60_000_000, got: 48_000_000, last: 580_000 }, true],
    ['silent for the last 60 s', { began: 0, length: 60_000_000, got: 48_000_000, last: 540_000 }, false],
  ]
  for (const [what, pace, expected] of rows)
    assert.equal(steadyAtDeadline(pace, total, total), expected, what)
  const stops: [string, Parameters<typeof stoppedAt>[0], number | undefined][] = [
    ['the head, then nothing', { began: 1000, length: 1000, got: 0 }, total - 1000],
    ['silent for the last 60 s', { began: 0, length: 5_000_000, got: 60_000, last: 540_000 }, 60_000],
    [
      'silent for the last 59 s: still coming',
      { began: 0, length: 5_000_000, got: 60_000, last: 541_000 },
      undefined,
    ],
    ['begun 1 s before, silent 100 ms', { began: total - 1000, length: 9, got: 1, last: total - 100 }, 100],
    [
      'begun 1 s before, silent 99 ms',
      { began: total - 1000, length: 9, got: 1, last: total - 99 },
      undefined,
    ],
    // A trickle of 1 kB every 512 ms, 190 ms since the last: no stop.
    [
      'a trickle between reads',
      { began: total - 700, length: 9e4, got: 2048, last: total - 190, gap: 512 },
      undefined,
    ],
    [
      'a trickle silent for twice its gap',
      { began: total - 3000, length: 9e4, got: 2048, last: total - 1024, gap: 512 },
      1024,
    ],
    ['no body under way', undefined, undefined],
  ]
  for (const [what, pace, expected] of stops) assert.equal(stoppedAt(pace, total), expected, what)
  assert.equal(paceWords({ began: 0, length: 1, got: 48_000_000 }, total), '80.0 kB/s')
  assert.equal(paceWords({ began: 0, length: 1, got: 60_000 }, total), '100 B/s')
})

// a host is given up once 3 of its files' bodies trickled past the total timeout (see
// Scheduler.trickled); a body cut so counts only when it had the file's time.
test('trickledOut: a body cut at the total timeout had bytes and at least half the time', () => {
  const total = 600_000
  const rows: [string, Parameters<typeof trickledOut>[0], boolean][] = [
    ['a byte a second since the start', { began: 0, length: 40_000, got: 600 }, true],
    ['no length, coming all the time', { began: 0, length: undefined, got: 60_000 }, true],
    ['begun at half the time', { began: 300_000, length: 5_000_000, got: 30_000 }, true],
    // Waits and retries spent the time; this body had little of it.
    ['begun 590 s in', { began: 590_000, length: 5_000_000, got: 1000 }, false],
    // Silent since its head: the idle timeout's to judge, no trickle.
    ['nothing came', { began: 0, length: 1000, got: 0 }, false],
    [
      'a byte a second, then silent for the last 100 s',
      { began: 0, length: 40_000, got: 500, last: 500_000 },
      false,
    ],
    ['no body under way', undefined, false],
  ]
  for (const [what, pace, expected] of rows) assert.equal(trickledOut(pace, total, total), expected, what)
})

// what a total timeout says of the body it cut, beyond "its body was under way and had not ended".
test('deadlineWords: a body given the time once more overran twice the timeout; one with no length is cut at its pace', () => {
  const total = 600_000
  const rows: [string, Parameters<typeof deadlineWords>[0], string | undefined, CutWords | undefined][] = [
    [
      'given the time once more at 80.0 kB/s',
      { began: 0, length: 60_000_000, got: 59_000_000 },
      '80.0 kB/s',
      {
        ms: 2 * total,
        words:
          'its body was under way and had not ended in twice --total-timeout, the time a body is given when its pace at --total-timeout (80.0 kB/s then) would end it within as long again',
      },
    ],
    [
      'no length, 100 B/s',
      { began: 0, length: undefined, got: 60_000 },
      undefined,
      {
        ms: total,
        words:
          'its body was under way at 100 B/s, with no Content-Length to tell how much was left (a body so is not given more time), and had not ended',
      },
    ],
    // Silent at the deadline: stopped, where and for how long, not a trickle.
    [
      'half, then silent',
      { began: 0, length: 2_000_000, got: 1_000_000, last: 1000 },
      undefined,
      {
        ms: total,
        words:
          'its body had stopped after 1000000 of 2000000 bytes, nothing coming for its last 9m59s (--idle-timeout, longer, had not yet cut it)',
      },
    ],
    [
      'no length, nothing came',
      { began: 0, length: undefined, got: 0 },
      undefined,
      {
        ms: total,
        words:
          'its head came and no byte of its body after it (silent 10m00s; --idle-timeout, longer, had not yet cut it)',
      },
    ],
    // Nothing more to say: the failure says the body was still coming, or nothing.
    ['a length, not steady', { began: 0, length: 5_000_000, got: 60_000 }, undefined, undefined],
    ['no body under way', undefined, undefined, undefined],
  ]
  for (const [what, pace, overtime, expected] of rows)
    assert.deepEqual(deadlineWords(pace, total, total, overtime), expected, what)
})

// a 4xx a proxy may have written itself is asked of the URL the origin that answered was asked for.
test('answeredUrl: the URL itself where its own origin answered, else the root of the redirect target that did', () => {
  const rows: [string, string, string][] = [
    ['https://a.test/x/1.jpg?s=2', 'https://a.test', 'https://a.test/x/1.jpg?s=2'],
    ['https://a.test/x/1.jpg', 'https://cdn.test', 'https://cdn.test/'],
    ['http://a.test:8080/1.jpg', 'http://a.test:8080', 'http://a.test:8080/1.jpg'],
    ['http://a.test:8080/1.jpg', 'http://a.test', 'http://a.test/'],
    ['not a url', 'https://a.test', 'https://a.test/'],
  ]
  for (const [url, answeredBy, expected] of rows) assert.equal(answeredUrl(url, answeredBy), expected, url)
})

test("proxyLimitWait: a proxy's wait or limit holds every file through it, a 503 naming no wait does not", () => {
  const cases: [Parameters<typeof proxyLimitWait>[0], number][] = [
    // The wait named (a 429's or a 503's), up to --max-retry-after.
    [{ proxy: true, limit: true, retryAfter: 2000, maxRetryAfter: 60_000, attempts: 1 }, 2000],
    [{ proxy: true, limit: false, retryAfter: 2000, maxRetryAfter: 60_000, attempts: 3 }, 2000],
    [{ proxy: true, limit: true, retryAfter: 3_600_000, maxRetryAfter: 60_000, attempts: 1 }, 60_000],
    // A 429 naming none (or under --max-retry-after 0): the refused file's backoff window, whole.
    [{ proxy: true, limit: true, maxRetryAfter: 60_000, attempts: 1 }, 500],
    [{ proxy: true, limit: true, maxRetryAfter: 60_000, attempts: 3 }, 2000],
    [{ proxy: true, limit: true, retryAfter: 2000, maxRetryAfter: 0, attempts: 2 }, 1000],
    // A 503 naming none may be the host's out of reach (Squid's), a wait ignored is none.
    [{ proxy: true, limit: false, maxRetryAfter: 60_000, attempts: 1 }, 0],
    [{ proxy: true, limit: false, retryAfter: 2000, maxRetryAfter: 0, attempts: 1 }, 0],
    // A server's wait is its host's alone.
    [{ proxy: false, limit: false, retryAfter: 2000, maxRetryAfter: 60_000, attempts: 1 }, 0],
  ]
  for (const [facts, wait] of cases) assert.equal(proxyLimitWait(facts), wait, JSON.stringify(facts))
})

test("flagWords: a library hint in the command line's words, its options named as their flags", () => {
  const cases: [string, string][] = [
    [
      'move that file away, or choose another output folder with `out`',
      'move that file away, or choose another output folder with -o',
    ],
    [
      'choose an output folder with a shorter path with `out`, or run with `journal: false`',
      'choose an output folder with a shorter path with -o, or run with --no-journal',
    ],
    [
      'run with `threads: 0` to keep every transfer on the main thread',
      'run with --threads 0 to keep every transfer on the main thread',
    ],
    [
      'move it, or run without the report (`report: false`)',
      'move it, or run without the report (--no-report)',
    ],
    ['check UNSPLASH_ACCESS_KEY or `accessKey`', 'check UNSPLASH_ACCESS_KEY or --access-key'],
    // A name of the user's that is an option's too stays as it came.
    [
      'rows.csv has no column `out`: its columns are `url`',
      'rows.csv has no column `out`: its columns are `url`',
    ],
  ]
  for (const [library, command] of cases) assert.equal(flagWords(library), command)
})

/** A body fed from `chunks`, in turn; `ends: false`: it then never ends, until aborted. */
class FedBody extends Body {
  readonly socket = undefined
  #stop?: (reason: unknown) => void
  constructor(
    readonly chunks: Buffer[],
    readonly ends: boolean,
  ) {
    super()
  }
  async consume(sink: (chunk: Buffer) => void | Promise<void>): Promise<void> {
    for (const chunk of this.chunks) await sink(chunk)
    if (!this.ends)
      await new Promise((_, reject) => {
        this.#stop = reject
      })
  }
  abort(reason: unknown): void {
    this.#stop?.(reason)
  }
}

test("bodyText: a small body whole (an nginx page) or an error body's head, one reader", async () => {
  const a = (n: number) => Buffer.alloc(n, 0x61)
  const table: [string, Buffer[], boolean, number, number][] = [
    // name, chunks, ends, length read whole, length of the head read
    ['a page', [Buffer.from('<title>400 x</title>')], true, 20, 20],
    ['PAGE_LIMIT exactly, in two chunks', [a(4000), a(96)], true, 4096, 4096],
    ['a byte over PAGE_LIMIT: not a small body', [a(4000), a(97)], true, 0, 4097],
    ['past ERROR_HEAD: its head kept', [a(10_000), a(10_000)], true, 0, 16_384],
    [
      'past what is read out (128 KiB): its head kept',
      Array.from({ length: 20 }, () => a(10_000)),
      true,
      0,
      16_384,
    ],
    ['a body that never ends: whole is none, the head what came', [Buffer.from('head')], false, 0, 4],
    ['an empty body', [], true, 0, 0],
  ]
  for (const [name, chunks, ends, whole, head] of table) {
    assert.equal((await bodyText(new FedBody(chunks, ends), 'whole', 20)).length, whole, `whole: ${name}`)
    assert.equal((await bodyText(new FedBody(chunks, ends), 'head', 20)).length, head, `head: ${name}`)
  }
  // latin1: every byte one character, none lost to UTF-8.
  assert.equal(await bodyText(new FedBody([Buffer.from([0xe9, 0xff, 0x41])], true), 'whole'), '\u00e9\u00ffA')
})

// curl sends each -H line; the server reads two lines of one name as one, joined (RFC 9110 §5.3;
// Cookie by `; `, RFC 6265 §5.4). The last one given replaced the others: `-H 'Cookie: a=1'
// -H 'Cookie: b=2'` sent `b=2` alone, and the site asked to log in.
test('header (-H): a name given again adds its value, Cookie by "; ", lists by ", "; a field of one value is the last one given', () => {
  const all = (...given: string[]) => given.reduce<Record<string, string>>((h, v) => header(v, h), {})
  assert.deepEqual(all('Cookie: a=1', 'cookie: b=2'), { Cookie: 'a=1; b=2' })
  assert.deepEqual(all('Accept: image/webp', 'X-A: 1', 'ACCEPT: image/*'), {
    Accept: 'image/webp, image/*',
    'X-A': '1',
  })
  // A field of one value: the last one given (two User-Agents joined by a comma would be one
  // neither meant).
  assert.deepEqual(all('User-Agent: a/1', 'user-agent: b/2', 'Referer: http://x/', 'Referer: http://y/'), {
    'user-agent': 'b/2',
    Referer: 'http://y/',
  })
  // An empty value given before or after takes the place of the other (curl: `-H 'Accept:'`).
  assert.deepEqual(all('Accept: image/webp', 'Accept:'), { Accept: '' })
  assert.deepEqual(all('Accept:', 'Accept: image/webp'), { Accept: 'image/webp' })
  assert.deepEqual(all('Referer:  http://site/page '), { Referer: 'http://site/page' })
  assert.throws(() => header('X-Token abc'), /expected 'Name: value'/)
  // curl's way to send a header with an empty value, which imgpull does not send: said so.
  assert.throws(() => header('X-Empty;'), /no header with an empty value.*-H 'X-Empty:' leaves it out/)
  assert.throws(() => header('X-Empty ; '), /-H 'X-Empty:' leaves it out/)
})

test('readLines reads a line of 32 MB (a file of no line ends given as the list) in a time of the order of 32 MB of short lines: it was searched from its start at each chunk, and a 100 MB line held the run for minutes before its first request', async () => {
  // As Node's readline once searched its growing buffer at each chunk (nodejs/node-v0.x-archive#8370).
  const CHUNK = 64 * 1024
  const read = async (text: string) => {
    const chunks: Buffer[] = []
    for (let i = 0; i < text.length; i += CHUNK) chunks.push(Buffer.from(text.slice(i, i + CHUNK), 'latin1'))
    const started = performance.now()
    let chars = 0
    for await (const url of readLines(Readable.from(chunks))) chars += url.length
    return { ms: performance.now() - started, chars }
  }
  const size = 32 * 1024 * 1024
  const long = `http://h/a.jpg?${'x'.repeat(size)}`
  const short = `http://h/a.jpg?${'x'.repeat(1000)}\n`.repeat(Math.ceil(size / 1016))
  const one = await read(`${long}\n`)
  const many = await read(short)
  assert.equal(one.chars, long.length)
  // A ratio of one run's two readings (the machine's speed cancels out): about 1 now, over 50 before.
  assert.ok(one.ms < 10 * many.ms + 200, `one line ${one.ms} ms, short lines ${many.ms} ms`)
})

test('readLines splits lines as readline did (CRLF across chunks, a lone CR, a last line without its end), and stops at one cut at a buffer end', async () => {
  const lines = async (chunks: string[]) => {
    const got: string[] = []
    for await (const url of readLines(Readable.from(chunks.map((c) => Buffer.from(c, 'latin1')))))
      got.push(url)
    return got
  }
  const u = (n: number) => `http://h/${n}`
  assert.deepEqual(await lines([`${u(1)}\r`, `\n${u(2)}\r${u(3)}\n\n`, u(4)]), [u(1), u(2), u(3), u(4)])
  assert.deepEqual(await lines([`${u(1)}\r`]), [u(1)])
  assert.deepEqual(await lines(['']), [])
  // Cut at 512 bytes: the lines before it are read, then the error.
  const cut = `${u(1)}\n${u(2)}`.padEnd(512, 'x')
  const got: string[] = []
  await assert.rejects(async () => {
    for await (const url of readLines(Readable.from([Buffer.from(cut)]))) got.push(url)
  }, /^Error: line 2 \('http:\/\/h\/2[x…]+'\) has no newline, and the list ends at byte 512/)
  assert.deepEqual(got, [u(1)])
  // A comment cut so is no URL: nothing to hold back.
  assert.deepEqual(await lines([`${u(1)}\n#`.padEnd(512, 'x')]), [u(1)])
  // Zeros to the end after a line end (a CR alone too, the zeros in chunks of their own) are
  // padding; a last line that runs into them is cut (the zeros counted across chunks), and one
  // they come inside of is its own (binary data).
  const z = (n: number) => '\0'.repeat(n)
  assert.deepEqual(await lines([`${u(1)}\n`, z(3), z(4)]), [u(1)])
  assert.deepEqual(await lines([`${u(1)}\r`, z(3)]), [u(1)])
  assert.deepEqual(await lines([`${u(1)}\n${u(2)}${z(2)}`, z(2), 'x\n']), [u(1), `${u(2)}${z(4)}x`])
  await assert.rejects(
    lines([`${u(1)}\n${u(2)}${z(2)}`, z(3)]),
    /^Error: line 2 \('http:\/\/h\/2'\) runs into zero bytes with no newline before them \(5 of them/,
  )
  for (const [bytes, cutShort] of [
    [0, false],
    [511, false],
    [512, true],
    [4096, true],
    [8193, false],
  ] as const)
    assert.equal(cutAtBuffer(bytes), cutShort, String(bytes))
})

// a body slow at its deadline for its share of a slow link (a hotel Wi-Fi: one bandwidth for
// every transfer) is no trickle of the host's: 16 bodies of 200 KB through 300 KB/s were each
// judged alone, cut, and 3 of them gave the host up, 38 files of 40 lost.
test("sharedAtDeadline: the rest of its length within the time at the pace of its host's bodies together", () => {
  const total = 2000
  const share = { began: 0, length: 200_000, got: 37_500 } // 18.75 kB/s, 16 of them: 300 kB/s
  const rows: [string, Parameters<typeof sharedAtDeadline>[0], number, boolean][] = [
    ['a 16th of 300 kB/s, 162.5 kB left', share, 300_000, true],
    ['alone at its own pace', share, paceOf(share, total), false],
    ['the rest in exactly the time', { began: 0, length: 600_000, got: 200_000 }, 200_000, true],
    ['the rest in a moment more', { began: 0, length: 600_002, got: 200_000 }, 200_000, false],
    // A tarpit trickles each body: 16 of 100 B/s are 1.6 kB/s together.
    ['16 trickles of 100 B/s', { began: 0, length: 5_000_000, got: 200 }, 1600, false],
    ['no length to measure the rest by', { began: 0, length: undefined, got: 37_500 }, 300_000, false],
    ['nothing came', { began: 0, length: 1000, got: 0 }, 300_000, false],
    ['no body under way', undefined, 300_000, false],
    ['nothing coming together', share, 0, false],
    // Half in a burst, then silent: a stop, whatever the others did.
    [
      'half, then silent since 100 ms in',
      { began: 0, length: 200_000, got: 100_000, last: 100 },
      300_000,
      false,
    ],
  ]
  for (const [what, pace, together, expected] of rows)
    assert.equal(sharedAtDeadline(pace, total, total, together), expected, what)
  assert.equal(paceOf(share, total), 18_750)
  assert.equal(paceOf({ began: 0, length: 1, got: 0 }, total), 0)
  assert.equal(paceOf({ began: total, length: 1, got: 5 }, total), 0)
})

test('giveWay: the bodies the link brings in time stay, the others give way', () => {
  const now = 500
  // 0.5 s in, 9.4 kB each of 200 kB: 16 at 300 kB/s together, 1.5 s left, 450 kB more cross.
  const at = (got: number, movable = true, leftMs = 1500): SharedBody => ({
    pace: { began: 0, length: 200_000, got, last: now },
    leftMs,
    movable,
  })
  const round = Array.from({ length: 16 }, (_, i) => at(9_400 + i))
  const rows: [string, SharedBody[], number, { withdraw: number[]; keep: number }][] = [
    // The nearest their end (most bytes) stay: 2 rests of 190 kB are 380 kB, 3 are 570.
    ['16 at 300 kB/s', round, 300_000, { withdraw: [...Array(14).keys()], keep: 2 }],
    ['all in time', [at(150_000), at(150_000)], 300_000, { withdraw: [], keep: 2 }],
    // A server that caps each connection at 60 kB/s: 170 kB more take each 2.8 s, within the 1.5 s
    // left and the 2 s once more; together they are not in time, but fewer would not be faster.
    [
      'each in time at its own pace',
      Array.from({ length: 16 }, () => at(30_000)),
      960_000,
      { withdraw: [], keep: 16 },
    ],
    // A tarpit's 16 of 100 B/s: not one would end; the deadline judges them.
    ['not even one in time', round, 1_600, { withdraw: [], keep: 16 }],
    ['nothing together', round, 0, { withdraw: [], keep: 16 }],
    // One that cannot give way stays first, its rest counted; the others' then do not fit.
    [
      'one unresumable, far from its end',
      [at(10_000, false), at(100_000), at(90_000)],
      200_000,
      { withdraw: [2], keep: 2 },
    ],
    [
      'none may give way',
      [at(10_000, false), at(10_000, false), at(10_000, false)],
      300_000,
      { withdraw: [], keep: 3 },
    ],
    // The least time left bounds them all.
    [
      'one near its deadline',
      [at(30_000, true, 700), at(30_000), at(30_000)],
      300_000,
      { withdraw: [1, 2], keep: 1 },
    ],
    // Not weighed (stay): no length, nothing yet, stopped.
    [
      'unweighed bodies stay',
      [
        { pace: { began: 0, length: undefined, got: 5_000, last: now }, leftMs: 1500, movable: true },
        { pace: { began: 400, length: 200_000, got: 0 }, leftMs: 1500, movable: true },
        { pace: undefined, leftMs: 1500, movable: true },
        at(100_000),
        at(10_000),
        at(20_000),
      ],
      300_000,
      { withdraw: [4], keep: 5 }, // rests of 100 and 180 kB fit in 450, 190 more do not,
    ],
  ]
  for (const [what, bodies, together, expected] of rows)
    assert.deepEqual(giveWay(bodies, now, 2000, together), expected, what)
})

test('roomToGrow: the limit grows only while a body would still end in time with more at once', () => {
  const rows: [string, number, number, number, boolean, boolean][] = [
    ['a fast body, slow start', 50, 16, 600_000, true, true],
    ['half the time, slow start: twice as many end just in time', 1000, 4, 2000, true, true],
    ['past half, slow start', 1001, 4, 2000, true, false],
    ['4 at 300 kB/s, 2.7 s each', 2670, 4, 2000, false, false],
    ['2 of 1.3 s: 3 take 1.95 s', 1300, 2, 2000, false, true],
    ['2 of 1.4 s: 3 take 2.1 s', 1400, 2, 2000, false, false],
    ['no total timeout', 1e9, 16, Number.POSITIVE_INFINITY, true, true],
  ]
  for (const [what, took, limit, total, slowStart, expected] of rows)
    assert.equal(roomToGrow(took, limit, total, slowStart), expected, what)
  // Held: no room, no growth, whether in slow start or not.
  assert.equal(limitOnSuccess(limitStart(4), 128, undefined, true, false).limit, 4)
  assert.equal(limitOnSuccess(limitStart(4), 128, undefined, true, true).limit, 5)
  // Falls to those that stay, ends slow start, sets no ceiling; never rises, never under 1.
  const shared = limitShared(limitStart(16), 2)
  assert.deepEqual([shared.limit, shared.cut, shared.ceiling], [2, true, Number.POSITIVE_INFINITY])
  assert.equal(limitShared(limitStart(4), 9).limit, 4)
  assert.equal(limitShared(limitStart(4), 0).limit, 1)
})

test('rerunByCommand: the latest command holding every failure is "the same command"; another input\'s are named by theirs', () => {
  const last: { id: number; command?: string } = { id: 3, command: 'imgpull b.txt -o out' }
  const row = (run: number, command: string | null, failed: number, pending = 0) => ({
    run,
    command,
    failed,
    pending,
  })
  const same = { rerun: 'Run the same command again', retryFailed: 'Add --retry-failed' }
  const cases: [
    string,
    Parameters<typeof rerunByCommand>[0],
    typeof last | undefined,
    ReturnType<typeof rerunByCommand>,
  ][] = [
    ['nothing open', [], last, { words: same }],
    ['the latest run holds them', [row(3, 'imgpull b.txt -o out', 2)], last, { words: same }],
    [
      'an earlier run of the same command line',
      [row(1, 'imgpull b.txt -o out', 1), row(3, 'imgpull b.txt -o out', 1)],
      last,
      { words: same },
    ],
    ['a library run, the latest', [row(2, null, 1)], { id: 2 }, { words: same }],
    [
      'another list run before',
      [row(1, 'imgpull a.txt -o out', 2, 1)],
      last,
      {
        words: {
          rerun: 'Run imgpull a.txt -o out again',
          retryFailed: 'Run imgpull a.txt -o out again with --retry-failed',
        },
        by: "Failed or not finished, by the command that last read them (each command's rerun takes up its own input's alone): imgpull a.txt -o out: 2 failed, 1 not finished.",
      },
    ],
    [
      'two commands, the latest among them, a library run',
      [row(1, 'imgpull a.txt -o out', 1), row(2, null, 0, 4), row(3, 'imgpull b.txt -o out', 1)],
      last,
      {
        words: {
          rerun: 'Run each of those commands again',
          retryFailed: 'Run each of them again with --retry-failed',
        },
        by: "Failed or not finished, by the command that last read them (each command's rerun takes up its own input's alone): imgpull a.txt -o out: 1 failed; the library run 2 (pull() from code, no command line recorded): 4 not finished; imgpull b.txt -o out (the latest run): 1 failed.",
      },
    ],
    [
      "a queue's shard: enqueuing again, whatever the runs",
      [row(1, 'imgpull a.txt -o out', 1)],
      { id: 2, command: 'imgpull worker --queue q (shard 00001)' },
      {
        words: {
          queue: 'q',
          rerun: 'Enqueue the same input again (imgpull enqueue INPUTS --queue q)',
          retryFailed:
            'Enqueue the same input again with --retry-failed (imgpull enqueue INPUTS --queue q --retry-failed)',
        },
      },
    ],
  ]
  for (const [what, open, run, want] of cases) assert.deepEqual(rerunByCommand(open, run), want, what)
})

import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  type Asked,
  answerStamped,
  type Decision,
  endMarked,
  etagShifted,
  ifRangeMisread,
  ifRangeRefused,
  ifRangeValue,
  judge,
  LATER_OVERLAP,
  lastModifiedValidator,
  mismatch,
  nextOverlap,
  parseContentRange,
  RESUME_OVERLAP,
  resumesInRun,
  seenAfter,
  validatorsFlap,
  validatorsOf,
} from '../src/fetch/judge.js'

const ETAG = '"abc"'
const LM = 'Mon, 01 Jan 2024 00:00:00 GMT'
const LATER = 'Mon, 01 Jan 2024 00:00:09 GMT'
const LATER_DAY = 'Tue, 02 Jan 2024 00:00:00 GMT'
const plain: Asked = { from: 0, known: {} }
const resume = (known: Asked['known'], from = 600): Asked => ({ from, known })

/** A resume of this run's part of a 20,000-byte file from byte 10,000, `overlap` asked again. */
const ours = (known: Asked['known'], overlap = 4096): Asked => ({
  from: 10_000,
  overlap,
  known: { length: 20_000, thisRun: true, ...known },
})
/** The rest of that file, from the first byte of a 4,096-byte overlap, and its join. */
const TAIL = { 'content-range': 'bytes 5904-19999/20000' }
const JOINED: Decision = { do: 'receive', at: 10_000, overlap: 4096, total: 20_000, length: 14_096 }

/** [case, asked, status, headers, decision (or its `do` alone)] */
const table: [string, Asked, number, Record<string, string>, Decision | Decision['do']][] = [
  // Plain GETs.
  [
    '200 with a length',
    plain,
    200,
    { 'content-length': '1000' },
    { do: 'receive', at: 0, total: 1000, length: 1000 },
  ],
  ['200 without a length', plain, 200, {}, { do: 'receive', at: 0, total: undefined, length: undefined }],
  ['404', plain, 404, {}, { do: 'fail', status: 404 }],
  ['503', plain, 503, {}, { do: 'fail', status: 503 }],
  // No body whatever its Content-Length says (RFC 9110 §15.3.5): not a cut to retry.
  ['204 with a Content-Length', plain, 204, { 'content-length': '7416' }, { do: 'fail', status: 204 }],
  ['205', plain, 205, {}, { do: 'fail', status: 205 }],
  // Not made yet (RFC 9110 §15.3.3): not the image, and retried (errors.ts).
  ['202', plain, 202, { 'content-length': '20' }, { do: 'fail', status: 202 }],
  ['416 to a plain GET', plain, 416, { 'content-range': 'bytes */1000' }, { do: 'fail', status: 416 }],
  // A part labelled 200 (a front that caps every answer): its length marks an end that is not the file's.
  [
    '200 whose Content-Range and length say it is a part',
    plain,
    200,
    { 'content-length': '600', 'content-range': 'bytes 0-599/1000' },
    'refuse',
  ],
  [
    '200 of a part, to a resume',
    resume({ etag: ETAG, length: 1000 }),
    200,
    { 'content-length': '600', 'content-range': 'bytes 0-599/1000' },
    'restart',
  ],
  // the range asked for under a 200, its length its own (modelscope_hub#50): its 206.
  [
    '200 of the range a resume asked for, the bytes on disk asked again',
    { ...resume({ etag: ETAG, length: 1000 }), overlap: 100 },
    200,
    { 'content-length': '500', 'content-range': 'bytes 500-999/1000', etag: ETAG },
    { do: 'receive', at: 600, total: 1000, length: 500, overlap: 100 },
  ],
  [
    '200 of the range a resume asked for, proving nothing',
    resume({ etag: ETAG, length: 1000 }),
    200,
    { 'content-length': '400', 'content-range': 'bytes 600-999/1000', etag: '"other"' },
    'restart',
  ],
  [
    '200 of another range than a resume asked for',
    resume({ etag: ETAG, length: 1000 }),
    200,
    { 'content-length': '300', 'content-range': 'bytes 700-999/1000', etag: ETAG },
    'restart',
  ],
  [
    '200 naming the range a resume asked for, without its length',
    resume({ etag: ETAG, length: 1000 }),
    200,
    { 'content-range': 'bytes 600-999/1000', etag: ETAG },
    'restart',
  ],
  [
    '200 naming the range a resume asked for over the whole file',
    resume({ etag: ETAG, length: 1000 }),
    200,
    { 'content-length': '1000', 'content-range': 'bytes 600-999/1000', etag: ETAG },
    'restart',
  ],
  [
    'a 203 of the range a resume asked for',
    resume({ etag: ETAG, length: 1000 }),
    203,
    { 'content-length': '400', 'content-range': 'bytes 600-999/1000', etag: ETAG },
    'restart',
  ],
  // RFC 9110 §14.4: a 200's Content-Range means nothing; a stale one over the whole body is let be.
  [
    '200 of the whole file under a stale Content-Range',
    plain,
    200,
    { 'content-length': '1000', 'content-range': 'bytes 0-599/1000' },
    { do: 'receive', at: 0, total: 1000, length: 1000 },
  ],
  [
    '200 whose Content-Range names the whole file',
    plain,
    200,
    { 'content-length': '1000', 'content-range': 'bytes 0-999/1000' },
    { do: 'receive', at: 0, total: 1000, length: 1000 },
  ],
  [
    '206 to a plain GET, whole',
    plain,
    206,
    { 'content-range': 'bytes 0-999/1000', etag: ETAG },
    { do: 'receive', at: 0, total: 1000, length: 1000 },
  ],
  [
    '206 to a plain GET, the start only: kept, the rest asked for',
    plain,
    206,
    { 'content-range': 'bytes 0-11038/33119', etag: ETAG },
    { do: 'receive', at: 0, total: 33119, length: 11039 },
  ],
  // No validator: the rest is asked for, and proves itself (the same total, the bytes compared).
  [
    '206 to a plain GET, the start only, no validator to continue with',
    plain,
    206,
    { 'content-range': 'bytes 0-11038/33119' },
    { do: 'receive', at: 0, total: 33119, length: 11039 },
  ],
  [
    '206 to a plain GET, not from byte 0',
    plain,
    206,
    { 'content-range': 'bytes 500-999/1000', etag: ETAG },
    'refuse',
  ],
  [
    '206 to a plain GET, unknown total',
    plain,
    206,
    { 'content-range': 'bytes 0-499/*', etag: ETAG },
    'refuse',
  ],
  // No range asked for, none named (broken caches and cameras): the whole file from byte 0, as curl takes it.
  [
    '206 without Content-Range to a plain GET',
    plain,
    206,
    { etag: ETAG, 'content-length': '7416' },
    { do: 'receive', at: 0, total: 7416, length: 7416 },
  ],
  ['206 with an unreadable Content-Range', plain, 206, { 'content-range': 'bytes 0-?/10' }, 'refuse'],
  [
    '206 with an open-ended Content-Range to a plain GET',
    plain,
    206,
    { 'content-range': 'bytes 0-/7416', 'content-length': '7416', etag: ETAG },
    { do: 'receive', at: 0, total: 7416, length: 7416 },
  ],
  // A 416's form on a 206 to a plain GET: the file only when its length is all of it.
  [
    '206 naming bytes */N to a plain GET, N bytes long',
    plain,
    206,
    { 'content-range': 'bytes */7416', 'content-length': '7416' },
    { do: 'receive', at: 0, total: 7416, length: 7416 },
  ],
  [
    '206 naming bytes */N to a plain GET, shorter',
    plain,
    206,
    { 'content-range': 'bytes */7416', 'content-length': '100' },
    'refuse',
  ],
  [
    '206 naming bytes */N to a plain GET, no length',
    plain,
    206,
    { 'content-range': 'bytes */7416' },
    'refuse',
  ],
  // bytes 0-B/* to a plain GET: a part all the same (a CDN that caps every answer:
  // ansible/ansible#68843), the rest asked for with Range; taken as the file, a capped image failed
  // `truncated` at every attempt.
  [
    '206 of bytes 0-B/* to a plain GET, B+1 bytes long',
    plain,
    206,
    { 'content-range': 'bytes 0-7415/*', 'content-length': '7416' },
    { do: 'receive', at: 0, length: 7416, more: true },
  ],
  // The same part again to the Range that asked for the rest (a server that ignores Range): the
  // file ends there.
  [
    '206 of bytes 0-B/* again to the Range after it',
    resume({}, 7416),
    206,
    { 'content-range': 'bytes 0-7415/*', 'content-length': '7416' },
    { do: 'complete', total: 7416 },
  ],
  [
    'the same part again, the size known before',
    resume({ length: 9000 }, 7416),
    206,
    { 'content-range': 'bytes 0-7415/*', 'content-length': '7416' },
    'restart',
  ],
  [
    '206 of bytes 0-B/* to a plain GET, no length',
    plain,
    206,
    { 'content-range': 'bytes 0-7415/*' },
    'refuse',
  ],
  [
    '206 of bytes 0-B/* to a plain GET, another length',
    plain,
    206,
    { 'content-range': 'bytes 0-7415/*', 'content-length': '100' },
    'refuse',
  ],
  [
    '206 naming bytes */N to a resume',
    resume({ etag: ETAG }),
    206,
    { 'content-range': 'bytes */7416', 'content-length': '7416', etag: ETAG },
    'restart',
  ],
  ['206 without Content-Range to a resume', resume({ etag: ETAG }), 206, { etag: ETAG }, 'restart'],
  // malformed Content-Ranges a resume can meet start over, never join bytes at a guess:
  // a number unreadable (?, a sign, a space in the range, more digits than a double holds
  // exactly), none for the size, an end past the size, the header sent twice (joined by a
  // proxy). An open end with the size, the unit in capitals, and a last byte at the size that
  // the Content-Length counts as the size's last (pydio-core#400), are read (curl, wget2).
  ...(
    [
      'bytes 600-?/1000',
      'bytes 0-?/1000',
      'bytes 600-999/?',
      'bytes 600-999',
      'bytes 600-/*',
      'bytes -600-999/1000',
      'bytes 600-1001/1000',
      'bytes 600 - 999/1000',
      'bytes 600-999/1000, bytes 600-999/1000',
      'bytes 600-99999999999999999999/100000000000000000000',
      'bytes 600.0-999/1000',
    ] as const
  ).map((range): (typeof table)[number] => [
    `206 to a resume, Content-Range ${range}`,
    resume({ etag: ETAG, length: 1000 }),
    206,
    { 'content-range': range, 'content-length': '400', etag: ETAG },
    'restart',
  ]),
  // A last byte at the size whose Content-Length counts the range as it states it: past the size.
  [
    '206 to a resume, Content-Range bytes 600-1000/1000, 401 bytes',
    resume({ etag: ETAG, length: 1000 }),
    206,
    { 'content-range': 'bytes 600-1000/1000', 'content-length': '401', etag: ETAG },
    'restart',
  ],
  ...(['bytes 600-/1000', 'Bytes 600-999/1000', 'bytes 600-1000/1000'] as const).map(
    (range): (typeof table)[number] => [
      `206 to a resume, Content-Range ${range}`,
      resume({ etag: ETAG, length: 1000 }),
      206,
      { 'content-range': range, 'content-length': '400', etag: ETAG },
      { do: 'receive', at: 600, total: 1000, length: 400 },
    ],
  ),
  // The redirects now end elsewhere: another resource, whatever its validators (RFC 9110 §13.1.5).
  [
    'resume answered by another URL, Last-Modified its only validator',
    { ...resume({ lastModified: LM, length: 1000, from: 'https://h/img/1.jpg' }), at: 'https://h/img/2.jpg' },
    206,
    { 'content-range': 'bytes 600-999/1000', 'last-modified': LM },
    'restart',
  ],
  [
    'resume answered by the same path with a new signature',
    { ...resume({ etag: ETAG, length: 1000, from: 'https://s3/b/k?X-Sig=1' }), at: 'https://s3/b/k?X-Sig=2' },
    206,
    { 'content-range': 'bytes 600-999/1000', etag: ETAG },
    { do: 'receive', at: 600, total: 1000, length: 400 },
  ],
  // A bare ETag (rustfs/rustfs#611) names the file as a quoted one does; its date proves the 206.
  [
    'resume answered by the same path with a new signature, a bare ETag',
    {
      ...resume({ etag: 'abc', lastModified: LM, length: 1000, from: 'https://s3/b/k?X-Sig=1' }),
      at: 'https://s3/b/k?X-Sig=2',
    },
    206,
    { 'content-range': 'bytes 600-999/1000', etag: 'abc', 'last-modified': LM },
    { do: 'receive', at: 600, total: 1000, length: 400 },
  ],
  [
    'resume answered by the same path with a new signature, another bare ETag',
    {
      ...resume({ etag: 'abc', lastModified: LM, length: 1000, from: 'https://s3/b/k?X-Sig=1' }),
      at: 'https://s3/b/k?X-Sig=2',
    },
    206,
    { 'content-range': 'bytes 600-999/1000', etag: 'abd', 'last-modified': LM },
    'restart',
  ],
  [
    'resume answered by another query, its date the same, no ETag',
    { ...resume({ lastModified: LM, length: 1000, from: 'https://h/img?f=1' }), at: 'https://h/img?f=2' },
    206,
    { 'content-range': 'bytes 600-999/1000', 'last-modified': LM },
    'restart',
  ],
  [
    'resume answered by another edge host, the same strong ETag and size',
    {
      ...resume({ etag: ETAG, length: 1000, from: 'https://edge1.cdn/a.jpg' }),
      at: 'https://edge2.cdn/a.jpg',
    },
    206,
    { 'content-range': 'bytes 600-999/1000', etag: ETAG },
    { do: 'receive', at: 600, total: 1000, length: 400 },
  ],
  [
    'resume answered by another URL, the same ETag, the size unknown before (a chunked first answer)',
    { ...resume({ etag: ETAG, from: 'https://h/1.jpg' }), at: 'https://h/2.jpg' },
    206,
    { 'content-range': 'bytes 600-999/1000', etag: ETAG },
    { do: 'receive', at: 600, total: 1000, length: 400 },
  ],
  [
    'resume answered by another URL, the same ETag, another size',
    { ...resume({ etag: ETAG, length: 900, from: 'https://h/1.jpg' }), at: 'https://h/2.jpg' },
    206,
    { 'content-range': 'bytes 600-999/1000', etag: ETAG },
    'restart',
  ],
  // If-Range never yields 304 or 412 (RFC 9110 §13.1.5): a server that misread it, or rejects Range.
  ['resume, 304', resume({ etag: ETAG }), 304, {}, 'restart'],
  ['resume, 412', resume({ etag: ETAG }), 412, {}, 'restart'],
  ['resume, 400', resume({ etag: ETAG }), 400, {}, 'restart'],
  ['resume, 501', resume({ etag: ETAG }), 501, {}, 'restart'],
  // Servers and CDNs that refuse Range (bezzad/Downloader#220, darkhttpd's 404 at the end): the
  // plain GET settles what the file is.
  ['resume, 403', resume({ etag: ETAG }), 403, {}, 'restart'],
  ['resume, 404', resume({ etag: ETAG }), 404, {}, 'restart'],
  ['resume, 405', resume({ etag: ETAG }), 405, {}, 'restart'],
  // Passing trouble, maybe: tried again with the Range (run/retry.ts drops the part after a second 5xx).
  ['resume, 500', resume({ etag: ETAG }), 500, {}, { do: 'fail', status: 500 }],
  ['resume, 502', resume({ etag: ETAG }), 502, {}, { do: 'fail', status: 502 }],
  ['resume, 408', resume({ etag: ETAG }), 408, {}, { do: 'fail', status: 408 }],
  ['204 to a resume', resume({ etag: ETAG }), 204, { 'content-length': '10' }, 'restart'],
  ['202 to a resume', resume({ etag: ETAG }), 202, {}, 'restart'],
  // Come back later: the next attempt resumes.
  ['resume, 429', resume({ etag: ETAG }), 429, {}, { do: 'fail', status: 429 }],
  ['resume, 503', resume({ etag: ETAG }), 503, {}, { do: 'fail', status: 503 }],
  ['plain GET, 412', plain, 412, {}, { do: 'fail', status: 412 }],
  // A part of a file of unknown size: the rest is asked for after it, until a 416 says the size.
  [
    'resume, 206 of unknown size',
    resume({ etag: ETAG }),
    206,
    { 'content-range': 'bytes 600-899/*', etag: ETAG },
    { do: 'receive', at: 600, total: undefined, length: 300, more: true },
  ],
  [
    'resume, 206 of unknown size, the size known before',
    resume({ etag: ETAG, length: 1000 }),
    206,
    { 'content-range': 'bytes 600-899/*', etag: ETAG },
    { do: 'receive', at: 600, total: 1000, length: 300 },
  ],
  [
    '206 multipart/byteranges',
    plain,
    206,
    { 'content-type': 'multipart/byteranges; boundary=x', 'content-range': 'bytes 0-9/10' },
    'refuse',
  ],
  [
    'resume, a 206 multipart/byteranges for the one range asked: the whole file again',
    resume({ etag: ETAG, length: 1000 }),
    206,
    { 'content-type': 'multipart/byteranges; boundary=x', etag: ETAG },
    {
      do: 'restart',
      why: 'a 206 in multipart/byteranges (the range inside the body) to a request for one range or none',
    },
  ],
  [
    '206 whose Content-Length is under its range',
    plain,
    206,
    { 'content-range': 'bytes 0-999/1000', 'content-length': '10', etag: ETAG },
    'refuse',
  ],
  // Framed by its range, as a resume's is (below).
  [
    '206 of the whole file whose Content-Length is over its range',
    plain,
    206,
    { 'content-range': 'bytes 0-999/1000', 'content-length': '1200', etag: ETAG },
    { do: 'receive', at: 0, total: 1000, length: 1000, rangeEnds: true },
  ],
  [
    '206 from 0 of a file of unknown size whose Content-Length is over its range',
    plain,
    206,
    { 'content-range': 'bytes 0-999/*', 'content-length': '1200' },
    { do: 'receive', at: 0, length: 1000, more: true, rangeEnds: true },
  ],
  // Resumes.
  [
    'resume, strong ETag equal',
    resume({ etag: ETAG, length: 1000 }),
    206,
    { 'content-range': 'bytes 600-999/1000', etag: ETAG },
    { do: 'receive', at: 600, total: 1000, length: 400 },
  ],
  // Its range frames it: a handler that states the whole file's size (DaveRandom/Resume#3), or
  // counts bytes it appends. Fewer than the range says, or no number: not the range.
  [
    'resume, a 206 whose Content-Length is over its range',
    resume({ etag: ETAG, length: 1000 }),
    206,
    { 'content-range': 'bytes 600-999/1000', 'content-length': '1000', etag: ETAG },
    { do: 'receive', at: 600, total: 1000, length: 400, rangeEnds: true },
  ],
  [
    'resume, a 206 whose Content-Length is under its range',
    resume({ etag: ETAG, length: 1000 }),
    206,
    { 'content-range': 'bytes 600-999/1000', 'content-length': '399', etag: ETAG },
    'restart',
  ],
  [
    'resume, a 206 whose Content-Length is no number',
    resume({ etag: ETAG, length: 1000 }),
    206,
    { 'content-range': 'bytes 600-999/1000', 'content-length': 'ten', etag: ETAG },
    'restart',
  ],
  [
    'resume, Last-Modified only, equal',
    resume({ lastModified: LM, length: 1000 }),
    206,
    { 'content-range': 'bytes 600-999/1000', 'last-modified': LM },
    { do: 'receive', at: 600, total: 1000, length: 400 },
  ],
  [
    'resume, Last-Modified changed (a server that ignores If-Range)',
    resume({ lastModified: LM, length: 1000 }),
    206,
    { 'content-range': 'bytes 600-999/1000', 'last-modified': LATER },
    'restart',
  ],
  [
    'resume, ETag changed',
    resume({ etag: ETAG, length: 1000 }),
    206,
    { 'content-range': 'bytes 600-999/1000', etag: '"new"' },
    'restart',
  ],
  [
    'resume, ETag equal but Last-Modified changed',
    resume({ etag: ETAG, lastModified: LM }),
    206,
    { 'content-range': 'bytes 600-999/1000', etag: ETAG, 'last-modified': LATER },
    'restart',
  ],
  [
    'resume, the total disagrees with the first answer',
    resume({ etag: ETAG, length: 1000 }),
    206,
    { 'content-range': 'bytes 600-1000/1001', etag: ETAG },
    'restart',
  ],
  [
    'resume, starts elsewhere than asked',
    resume({ etag: ETAG, length: 1000 }),
    206,
    { 'content-range': 'bytes 700-999/1000', etag: ETAG },
    'restart',
  ],
  // A 206 that leaves out the ETag its 200 carried (RFC 9110 §15.3.7 says it must repeat it): its
  // strong date proves it; another ETag never does.
  [
    'resume, a 206 without the ETag, the same strong date',
    resume({ etag: ETAG, lastModified: LM, length: 1000 }),
    206,
    { 'content-range': 'bytes 600-999/1000', 'last-modified': LM, date: LATER_DAY },
    { do: 'receive', at: 600, total: 1000, length: 400 },
  ],
  [
    'resume, a 206 without the ETag, another date',
    resume({ etag: ETAG, lastModified: LM, length: 1000 }),
    206,
    { 'content-range': 'bytes 600-999/1000', 'last-modified': LATER, date: LATER_DAY },
    'restart',
  ],
  [
    'resume, a 206 without the ETag, the date weak when first seen',
    resume({ etag: ETAG, lastModified: `W/${LM}`, length: 1000 }),
    206,
    { 'content-range': 'bytes 600-999/1000', 'last-modified': LM, date: LATER_DAY },
    'restart',
  ],
  [
    'resume, a 206 with another ETag, the same strong date',
    resume({ etag: ETAG, lastModified: LM, length: 1000 }),
    206,
    { 'content-range': 'bytes 600-999/1000', etag: '"other"', 'last-modified': LM, date: LATER_DAY },
    'restart',
  ],
  [
    'resume, a 206 with no validator: nothing proves the file unchanged',
    resume({ etag: ETAG, length: 1000 }),
    206,
    { 'content-range': 'bytes 600-999/1000' },
    'restart',
  ],
  // A part whose first answer, in this run, stated its length and no strong validator:
  // resumed when the answer proves the splice itself (aria2c -c resumes without any proof).
  [
    'resume of an unproven part: same total, exact start, the overlap asked again',
    { from: 10_000, overlap: 4096, known: { length: 20_000, unproven: true } },
    206,
    { 'content-range': 'bytes 5904-19999/20000' },
    { do: 'receive', at: 10_000, overlap: 4096, total: 20_000, length: 14_096 },
  ],
  [
    'resume of an unproven part with a weak ETag: equal, so not against it',
    { from: 10_000, overlap: 4096, known: { etag: 'W/"abc"', length: 20_000, unproven: true } },
    206,
    { 'content-range': 'bytes 5904-19999/20000', etag: 'W/"abc"' },
    { do: 'receive', at: 10_000, overlap: 4096, total: 20_000, length: 14_096 },
  ],
  [
    'resume of an unproven part, a weak ETag changed',
    { from: 10_000, overlap: 4096, known: { etag: 'W/"abc"', length: 20_000, unproven: true } },
    206,
    { 'content-range': 'bytes 5904-19999/20000', etag: 'W/"new"' },
    'restart',
  ],
  [
    'resume of an unproven part, an ETag only the 206 names: taken as no proof, not against it',
    { from: 10_000, overlap: 4096, known: { length: 20_000, unproven: true } },
    206,
    { 'content-range': 'bytes 5904-19999/20000', etag: ETAG },
    { do: 'receive', at: 10_000, overlap: 4096, total: 20_000, length: 14_096 },
  ],
  [
    'resume of an unproven part, another total',
    { from: 10_000, overlap: 4096, known: { length: 20_000, unproven: true } },
    206,
    { 'content-range': 'bytes 5904-20000/20001' },
    'restart',
  ],
  [
    'resume of an unproven part, a total unknown',
    { from: 10_000, overlap: 4096, known: { length: 20_000, unproven: true } },
    206,
    { 'content-range': 'bytes 5904-19999/*' },
    'restart',
  ],
  [
    'resume of an unproven part, a block-aligned start before the one asked',
    { from: 10_000, overlap: 4096, known: { length: 20_000, unproven: true } },
    206,
    { 'content-range': 'bytes 4096-19999/20000' },
    'restart',
  ],
  [
    'resume of an unproven part, the overlap shorter than RESUME_OVERLAP',
    { from: 10_000, overlap: 1024, known: { length: 20_000, unproven: true } },
    206,
    { 'content-range': 'bytes 8976-19999/20000' },
    'restart',
  ],
  [
    'resume of an unproven part no longer than the overlap: all of it asked again',
    { from: 3000, overlap: 3000, known: { length: 20_000, unproven: true } },
    206,
    { 'content-range': 'bytes 0-19999/20000' },
    { do: 'receive', at: 3000, overlap: 3000, total: 20_000, length: 20_000 },
  ],
  // A part with a strong validator, fetched in this run, whose 206 repeats none (RFC 9110
  // §15.3.7 leaves Last-Modified out of a 206 to If-Range; range handlers that send validators on
  // their 200 alone leave the ETag out too): joined on the answer's own proofs, and from then on
  // resumed so. A part of an earlier run is not (the row after these).
  [
    "this run's part known by its date, a 206 under If-Range without it",
    ours({ lastModified: LM }),
    206,
    { ...TAIL, date: LATER_DAY },
    { ...JOINED, unproven: true },
  ],
  [
    "this run's part known by its ETag, a 206 without it",
    ours({ etag: ETAG }),
    206,
    TAIL,
    { ...JOINED, unproven: true },
  ],
  [
    "this run's part, a 206 without its validator, once resumed so",
    ours({ etag: ETAG, unproven: true }),
    206,
    TAIL,
    JOINED,
  ],
  [
    "this run's part, a 206 without its validator, of another total",
    ours({ etag: ETAG }),
    206,
    { 'content-range': 'bytes 5904-20000/20001' },
    'restart',
  ],
  [
    "this run's part, a 206 without its validator, from before the byte asked",
    ours({ etag: ETAG }),
    206,
    { 'content-range': 'bytes 4096-19999/20000' },
    'restart',
  ],
  [
    "this run's part, a 206 without its validator, the later overlap only",
    ours({ etag: ETAG }, 1024),
    206,
    { 'content-range': 'bytes 8976-19999/20000' },
    'restart',
  ],
  [
    "this run's part, a 206 with another ETag: never proven by itself",
    ours({ etag: ETAG }),
    206,
    { ...TAIL, etag: '"other"' },
    'restart',
  ],
  [
    "this run's part known by its date, a 206 with another date",
    ours({ lastModified: LM }),
    206,
    { ...TAIL, 'last-modified': LATER_DAY, date: LATER_DAY },
    'restart',
  ],
  [
    'resume without a validator, the part not of this run: nothing proves it',
    { from: 10_000, overlap: 4096, known: { length: 20_000 } },
    206,
    { 'content-range': 'bytes 5904-19999/20000' },
    'restart',
  ],
  [
    'resume of an unproven part answered 416: never complete on its word',
    { from: 10_000, overlap: 4096, known: { length: 20_000, unproven: true } },
    416,
    { 'content-range': 'bytes */10000' },
    'restart',
  ],
  [
    'resume, weak ETag equal and no date: proves nothing',
    resume({ etag: 'W/"abc"', length: 1000 }),
    206,
    { 'content-range': 'bytes 600-999/1000', etag: 'W/"abc"' },
    'restart',
  ],
  [
    'resume, weak ETag and date equal: the date proves it',
    resume({ etag: 'W/"abc"', lastModified: LM, length: 1000 }),
    206,
    { 'content-range': 'bytes 600-999/1000', etag: 'W/"abc"', 'last-modified': LM },
    { do: 'receive', at: 600, total: 1000, length: 400 },
  ],
  [
    'resume answered 200: the whole file again',
    resume({ etag: ETAG, length: 1000 }),
    200,
    { 'content-length': '1200', etag: '"new"' },
    { do: 'receive', at: 0, total: 1200, length: 1200 },
  ],
  [
    'resume answered 200, same version, same size: the whole file again',
    resume({ etag: ETAG, length: 1000 }),
    200,
    { 'content-length': '1000', etag: ETAG },
    { do: 'receive', at: 0, total: 1000, length: 1000 },
  ],
  // A mislabelled part that says exactly what it is: judged as its 206 (see above).
  [
    'resume answered 200 with a Content-Range past 0 and its length: the part, as a 206',
    resume({ etag: ETAG, length: 1000 }),
    200,
    { 'content-length': '400', 'content-range': 'bytes 600-999/1000', etag: ETAG },
    { do: 'receive', at: 600, total: 1000, length: 400 },
  ],
  [
    'resume answered 200 with a Content-Range past 0, no length: a mislabelled part, ask for the whole',
    resume({ etag: ETAG, length: 1000 }),
    200,
    { 'content-range': 'bytes 600-999/1000', etag: ETAG },
    'restart',
  ],
  [
    'resume answered 200 with a Content-Range from 0: the whole file',
    resume({ etag: ETAG, length: 1000 }),
    200,
    { 'content-length': '1000', 'content-range': 'bytes 0-999/1000', etag: ETAG },
    { do: 'receive', at: 0, total: 1000, length: 1000 },
  ],
  [
    'resume answered 200, same strong ETag, another size: the tail under the wrong status',
    resume({ etag: ETAG, length: 1000 }),
    200,
    { 'content-length': '400', etag: ETAG },
    'restart',
  ],
  [
    'resume answered 200, same date (no ETag), another size: the tail under the wrong status',
    resume({ lastModified: LM, length: 1000 }),
    200,
    { 'content-length': '400', 'last-modified': LM },
    'restart',
  ],
  [
    'resume answered 200, weak ETag only, another size: nothing proves it one version, taken whole',
    resume({ etag: 'W/"abc"', length: 1000 }),
    200,
    { 'content-length': '400', etag: 'W/"abc"' },
    { do: 'receive', at: 0, total: 400, length: 400 },
  ],
  [
    'resume, 416 with the size on disk: already whole',
    resume({ etag: ETAG, length: 1000 }, 1000),
    416,
    { 'content-range': 'bytes */1000' },
    { do: 'complete', total: 1000 },
  ],
  [
    'resume, 416 with another size',
    resume({ etag: ETAG }, 1000),
    416,
    { 'content-range': 'bytes */900' },
    'restart',
  ],
  [
    'resume, 416 with another ETag',
    resume({ etag: ETAG }, 1000),
    416,
    { 'content-range': 'bytes */1000', etag: '"new"' },
    'restart',
  ],
  ['resume, 503', resume({ etag: ETAG }), 503, {}, { do: 'fail', status: 503 }],
  // A resume that asks again for the last bytes on disk (`overlap`), to compare them.
  [
    'resume with an overlap, 206 from the overlap: the rest, its first bytes compared',
    { ...resume({ etag: ETAG, length: 1000 }), overlap: 100 },
    206,
    { 'content-range': 'bytes 500-999/1000', etag: ETAG },
    { do: 'receive', at: 600, overlap: 100, total: 1000, length: 500 },
  ],
  [
    'resume with an overlap, 206 from the byte after the bytes on disk: nothing to compare',
    { ...resume({ etag: ETAG, length: 1000 }), overlap: 100 },
    206,
    { 'content-range': 'bytes 600-999/1000', etag: ETAG },
    'restart',
  ],
  // a cache that serves whole blocks answers from before the byte asked for.
  [
    'resume with an overlap, 206 from before the overlap (a block-aligned cache): the rest, the bytes before the overlap passed over',
    { ...resume({ etag: ETAG, length: 1000 }), overlap: 100 },
    206,
    { 'content-range': 'bytes 0-999/1000', etag: ETAG },
    { do: 'receive', at: 600, overlap: 600, total: 1000, length: 1000 },
  ],
  [
    'resume with an overlap, 206 from before the overlap that ends within it: nothing new, a restart',
    { ...resume({ etag: ETAG, length: 1000 }), overlap: 100 },
    206,
    { 'content-range': 'bytes 0-549/1000', etag: ETAG },
    'restart',
  ],
  [
    'resume with an overlap, 206 from before the overlap that ends at the bytes on disk: nothing new, a restart',
    { ...resume({ etag: ETAG, length: 1000 }), overlap: 100 },
    206,
    { 'content-range': 'bytes 0-599/1000', etag: ETAG },
    'restart',
  ],
  [
    'resume with an overlap of a whole file on disk, 206 from before the overlap to its end: compared, whole',
    { ...resume({ etag: ETAG, length: 1000 }, 1000), overlap: 100 },
    206,
    { 'content-range': 'bytes 0-999/1000', etag: ETAG },
    { do: 'receive', at: 1000, overlap: 1000, total: 1000, length: 1000 },
  ],
  [
    'resume with an overlap of a whole file on disk: the overlap alone, to compare',
    { ...resume({ etag: ETAG, length: 1000 }, 1000), overlap: 100 },
    206,
    { 'content-range': 'bytes 900-999/1000', etag: ETAG },
    { do: 'receive', at: 1000, overlap: 100, total: 1000, length: 100 },
  ],
  [
    'resume with an overlap, 416 stating the size on disk: contradicts the range asked, nothing compared',
    { ...resume({ etag: ETAG, length: 1000 }, 1000), overlap: 100 },
    416,
    { 'content-range': 'bytes */1000' },
    'restart',
  ],
  [
    'resume, 206 stating a total below the bytes on disk: they are not a part of this file',
    { ...resume({ etag: ETAG }, 1000), overlap: 100 },
    206,
    { 'content-range': 'bytes 900-949/950', etag: ETAG },
    'restart',
  ],
  [
    'resume with an overlap, 200: the whole file anew',
    { ...resume({ etag: ETAG, length: 1000 }), overlap: 100 },
    200,
    { 'content-length': '1000', etag: ETAG },
    { do: 'receive', at: 0, total: 1000, length: 1000 },
  ],
]

// a resume's 206 under a content coding restarted, its line blaming the Content-Length
// (the coded size) against the range, not the coding.
// its range may count the file's bytes (a compression layer that codes the 206 a range
// handler cut): decoded, its overlap compared with the bytes on disk, it is joined; a range of the
// coded bytes (their size, their ETag) starts over, saying the coding.
test('judge: a resume answered with a content-coded 206 is decoded onto the bytes on disk, or restarts saying the coding', () => {
  const asked = { ...resume({ etag: ETAG, length: 1000 }, 600), overlap: 100 }
  const rows: [string, Record<string, string>][] = [
    ['gzip, its length the coded size', { 'content-encoding': 'gzip', 'content-length': '377' }],
    ['br, no length', { 'content-encoding': 'br' }],
    ['deflate, the range its length', { 'content-encoding': 'deflate', 'content-length': '500' }],
    ['zstd', { 'content-encoding': 'zstd', 'content-length': '300' }],
    ['x-gzip', { 'content-encoding': 'x-gzip', 'content-length': '300' }],
    ['gzip under chunked', { 'content-encoding': 'gzip', 'transfer-encoding': 'chunked' }],
  ]
  for (const [name, headers] of rows) {
    const decision = judge(asked, {
      status: 206,
      headers: { 'content-range': 'bytes 500-999/1000', etag: ETAG, ...headers },
    })
    assert.deepEqual(
      decision,
      {
        do: 'receive',
        at: 600,
        total: 1000,
        overlap: 100,
        decode: [headers['content-encoding']],
        decodedTotal: 1000,
      },
      name,
    )
  }
  // A range of the coded bytes, as a server that stores the file gzip'd states it.
  const stored = judge(asked, {
    status: 206,
    headers: { 'content-range': 'bytes 500-700/701', etag: ETAG, 'content-encoding': 'gzip' },
  })
  assert.deepEqual(stored, {
    do: 'restart',
    why: "the file's size 1000 became 701, under Content-Encoding: gzip",
  })
  const tagged = judge(asked, {
    status: 206,
    headers: { 'content-range': 'bytes 500-999/1000', etag: '"v1-gzip"', 'content-encoding': 'gzip' },
  })
  assert.equal(tagged.do, 'restart')
  assert.match((tagged as { why: string }).why, /, under Content-Encoding: gzip$/)
  // A coding that names none (`identity`): the plain range, joined.
  const plain = judge(asked, {
    status: 206,
    headers: {
      'content-range': 'bytes 500-999/1000',
      etag: ETAG,
      'content-encoding': 'identity',
      'content-length': '500',
    },
  })
  assert.equal(plain.do, 'receive')
})

test('judge: what to do with each answer, for every case of the integrity issue', () => {
  for (const [name, asked, status, headers, expected] of table) {
    const decision = judge(asked, { status, headers })
    if (typeof expected === 'string') assert.equal(decision.do, expected, name)
    else assert.deepEqual(decision, expected, name)
  }
})

test('resumesInRun: a strong validator, or a length stated to this run without one', () => {
  const rows: [string, Asked['known'], boolean][] = [
    ['a strong ETag', { etag: ETAG }, true],
    ['a strong date', { lastModified: LM }, true],
    ['nothing', {}, false],
    ['a length, from the journal (an earlier run)', { length: 1000 }, false],
    ['a length, stated to this run', { length: 1000, unproven: true }, true],
    ['a weak ETag and a length, stated to this run', { etag: 'W/"a"', length: 1000, unproven: true }, true],
    ['no length, stated to this run', { unproven: true }, false],
  ]
  for (const [name, known, expected] of rows) assert.equal(resumesInRun(known), expected, name)
})

test('etagShifted: another strong ETag than an answer of this run gave, all else the same', () => {
  const before = {
    etag: ETAG,
    lastModified: LM,
    length: 1000,
    from: 'http://a/x.jpg',
    thisRun: true as const,
  }
  const at = 'http://a/x.jpg'
  const rows: [string, Parameters<typeof etagShifted>[0], Parameters<typeof etagShifted>[1], boolean][] = [
    [
      'another ETag, the same length and date',
      before,
      { etag: '"def"', lastModified: LM, length: 1000 },
      true,
    ],
    [
      'another ETag, the date weak now',
      before,
      { etag: '"def"', lastModified: `W/${LM}`, length: 1000 },
      true,
    ],
    ['no date in either', { ...before, lastModified: undefined }, { etag: '"def"', length: 1000 }, true],
    ['the same ETag', before, { etag: ETAG, lastModified: LM, length: 1000 }, false],
    ['another length', before, { etag: '"def"', lastModified: LM, length: 1001 }, false],
    ['no length known', { ...before, length: undefined }, { etag: '"def"', lastModified: LM }, false],
    ['another date', before, { etag: '"def"', lastModified: LATER, length: 1000 }, false],
    // Dates that are each their answer's own time (contao/core#8773): they say nothing of the file.
    [
      "another date, each its answer's own time",
      { ...before, stamped: true },
      { etag: '"def"', lastModified: LATER, length: 1000, stamped: true },
      true,
    ],
    [
      "another date, only the new one its answer's own time",
      before,
      { etag: '"def"', lastModified: LATER, length: 1000, stamped: true },
      false,
    ],
    ['a date only one names', before, { etag: '"def"', length: 1000 }, false],
    ['a weak ETag now', before, { etag: 'W/"def"', lastModified: LM, length: 1000 }, false],
    // Bare ETags (no quotes: rustfs/rustfs#611) shift as quoted ones do.
    ['bare ETags', { ...before, etag: 'abc' }, { etag: 'def', lastModified: LM, length: 1000 }, true],
    ['a bare ETag now', before, { etag: 'def', lastModified: LM, length: 1000 }, true],
    [
      'the same bare ETag',
      { ...before, etag: 'abc' },
      { etag: 'abc', lastModified: LM, length: 1000 },
      false,
    ],
    ['no ETag now', before, { lastModified: LM, length: 1000 }, false],
    [
      'known from the journal, not this run',
      { ...before, thisRun: undefined },
      { etag: '"def"', lastModified: LM, length: 1000 },
      false,
    ],
    ['nothing known', undefined, { etag: '"def"', lastModified: LM, length: 1000 }, false],
    [
      'from another URL',
      { ...before, from: 'http://b/y.jpg' },
      { etag: '"def"', lastModified: LM, length: 1000 },
      false,
    ],
  ]
  for (const [name, known, got, expected] of rows) assert.equal(etagShifted(known, got, at), expected, name)
})

test('seenAfter: an answer of this run remembers the naming of the one before it, where that named the same length otherwise', () => {
  const at = 'http://a/x.jpg'
  const before = { etag: ETAG, lastModified: LM, length: 1000, from: at, thisRun: true as const }
  const rows: [string, Parameters<typeof seenAfter>[0], Parameters<typeof seenAfter>[1], unknown][] = [
    [
      'another ETag',
      before,
      { etag: '"def"', lastModified: LM, length: 1000 },
      { etag: ETAG, lastModified: LM },
    ],
    [
      'another date',
      before,
      { etag: ETAG, lastModified: LATER_DAY, length: 1000 },
      { etag: ETAG, lastModified: LM },
    ],
    ['the same naming', before, { etag: ETAG, lastModified: LM, length: 1000 }, undefined],
    ['the same date, weak now', before, { etag: ETAG, lastModified: `W/${LM}`, length: 1000 }, undefined],
    ['another length', before, { etag: '"def"', lastModified: LM, length: 1001 }, undefined],
    ['no length', before, { etag: '"def"', lastModified: LM }, undefined],
    ['from an earlier run', { ...before, thisRun: undefined }, { etag: '"def"', length: 1000 }, undefined],
    ['nothing before', undefined, { etag: '"def"', length: 1000 }, undefined],
    [
      'the one before named nothing',
      { length: 1000, thisRun: true },
      { etag: '"def"', length: 1000 },
      undefined,
    ],
    ['from another URL', { ...before, from: 'http://b/x.jpg' }, { etag: '"def"', length: 1000 }, undefined],
  ]
  for (const [name, known, got, other] of rows) {
    const seen = seenAfter(known, got, at)
    assert.deepEqual(seen.other, other, name)
    assert.equal(seen.thisRun, true, name)
    assert.equal(seen.from, at, name)
    assert.equal(seen.etag, got.etag, name)
  }
})

test('ifRangeMisread: a whole answer naming the very validator its If-Range offered', () => {
  const known = { etag: ETAG, lastModified: LM, length: 1000, thisRun: true as const }
  const rows: [
    string,
    string | undefined,
    Parameters<typeof ifRangeMisread>[1],
    Parameters<typeof ifRangeMisread>[2],
    boolean,
  ][] = [
    [
      'the ETag offered, all else the same',
      ETAG,
      known,
      { etag: ETAG, lastModified: LM, length: 1000 },
      true,
    ],
    ['the ETag offered, no date', ETAG, known, { etag: ETAG, length: 1000 }, true],
    ['the date offered', LM, { lastModified: LM, length: 1000 }, { lastModified: LM, length: 1000 }, true],
    [
      'the date offered, in another form',
      LM,
      { lastModified: LM, length: 1000 },
      { lastModified: 'Monday, 01-Jan-24 00:00:00 GMT', length: 1000 },
      true,
    ],
    ['another ETag', ETAG, known, { etag: '"def"', lastModified: LM, length: 1000 }, false],
    [
      'the ETag offered, another date',
      ETAG,
      known,
      { etag: ETAG, lastModified: LATER_DAY, length: 1000 },
      false,
    ],
    ['the ETag offered, another length', ETAG, known, { etag: ETAG, lastModified: LM, length: 1001 }, false],
    // Sent in chunks: its length left out contradicts nothing.
    ['the ETag offered, no length', ETAG, known, { etag: ETAG, lastModified: LM }, true],
    [
      'the ETag offered, no length known or stated',
      ETAG,
      { etag: ETAG, lastModified: LM, thisRun: true },
      { etag: ETAG, lastModified: LM },
      true,
    ],
    ['the date offered, no length', LM, { lastModified: LM }, { lastModified: LM }, true],
    ['no ETag named', ETAG, known, { lastModified: LM, length: 1000 }, false],
    [
      'another date',
      LM,
      { lastModified: LM, length: 1000 },
      { lastModified: LATER_DAY, length: 1000 },
      false,
    ],
    ['nothing offered', undefined, known, { etag: ETAG, lastModified: LM, length: 1000 }, false],
  ]
  for (const [name, offered, k, got, expected] of rows)
    assert.equal(ifRangeMisread(offered, k, got), expected, name)
})

test('ifRangeRefused: a 304 or 412 to a request whose only condition was its If-Range, a 4xx it may be blamed for', () => {
  const resume = ['accept', 'range', 'if-range']
  const rows: [string, number, string[], boolean][] = [
    ['a 304 to If-Range', 304, resume, true],
    ['a 412 to If-Range', 412, resume, true],
    ['a 304 where -H If-None-Match asked it', 304, [...resume, 'if-none-match'], false],
    ['a 304 where -H If-Modified-Since asked it', 304, [...resume, 'if-modified-since'], false],
    ['a 412 where -H If-Match asked it', 412, [...resume, 'if-match'], false],
    ['a 412 where -H If-Unmodified-Since asked it', 412, [...resume, 'if-unmodified-since'], false],
    ['a 412 to a Range without If-Range', 412, ['accept', 'range'], false],
    ['a 416 to If-Range', 416, resume, false],
    ['a 200 to If-Range', 200, resume, false],
    // A server that rejects an If-Range it cannot read (aria2-next#43's CDN, a weak or bare ETag).
    ['a 400 to If-Range', 400, resume, true],
    ['a 403 to If-Range', 403, resume, true],
    ['a 400 to a Range without If-Range', 400, ['accept', 'range'], false],
    ['a 401 to If-Range (credentials asked)', 401, resume, false],
    ['a 408 to If-Range (passing)', 408, resume, false],
    ['a 429 to If-Range (passing)', 429, resume, false],
    ['a 500 to If-Range (passing)', 500, resume, false],
  ]
  for (const [name, status, sent, expected] of rows)
    assert.equal(ifRangeRefused(status, sent), expected, name)
})

test('validatorsFlap: validators back to those of the answer before the last, at the same length', () => {
  const at = 'http://a/x.jpg'
  const first = { etag: ETAG, lastModified: LM }
  // The last answer named the file "def" a day later; the one before, "abc".
  const before = {
    etag: '"def"',
    lastModified: LATER_DAY,
    length: 1000,
    from: at,
    thisRun: true as const,
    other: first,
  }
  const rows: [
    string,
    Parameters<typeof validatorsFlap>[0],
    Parameters<typeof validatorsFlap>[1],
    boolean,
  ][] = [
    ['back to the first', before, { ...first, length: 1000 }, true],
    [
      'back to the first, its date weak now',
      before,
      { etag: ETAG, lastModified: `W/${LM}`, length: 1000 },
      true,
    ],
    [
      'dates only',
      { lastModified: LATER_DAY, length: 1000, thisRun: true, other: { lastModified: LM } },
      { lastModified: LM, length: 1000 },
      true,
    ],
    ['the last naming again', before, { etag: '"def"', lastModified: LATER_DAY, length: 1000 }, false],
    ['a third naming', before, { etag: '"ghi"', lastModified: LM, length: 1000 }, false],
    ['the first ETag, another date', before, { etag: ETAG, lastModified: LATER, length: 1000 }, false],
    ['another length', before, { ...first, length: 1001 }, false],
    ['no length', before, first, false],
    ['nothing named', before, { length: 1000 }, false],
    ['no earlier naming', { ...before, other: undefined }, { ...first, length: 1000 }, false],
    ['from an earlier run', { ...before, thisRun: undefined }, { ...first, length: 1000 }, false],
    ['from another URL', { ...before, from: 'http://b/x.jpg' }, { ...first, length: 1000 }, false],
    ['nothing before', undefined, { ...first, length: 1000 }, false],
  ]
  for (const [name, known, got, expected] of rows)
    assert.equal(validatorsFlap(known, got, at), expected, name)
})

test('Content-Range: forms, stars, and inconsistent ranges refused', () => {
  assert.deepEqual(parseContentRange('bytes 0-99/100'), { start: 0, end: 99, total: 100 })
  assert.deepEqual(parseContentRange('bytes 5-9/*'), { start: 5, end: 9, total: undefined })
  assert.deepEqual(parseContentRange('bytes */100'), { start: undefined, end: undefined, total: 100 })
  assert.equal(parseContentRange('bytes 9-5/100'), undefined)
  assert.equal(parseContentRange('bytes 0-100/100'), undefined)
  assert.equal(parseContentRange('items 0-1/2'), undefined)
  // The Range header's syntax, echoed by some servers: the same numbers.
  assert.deepEqual(parseContentRange('bytes=0-7415/7416'), { start: 0, end: 7415, total: 7416 })
  assert.equal(parseContentRange('bytes=0-7416/7416'), undefined)
  assert.equal(parseContentRange('bytes0-99/100'), undefined)
  // Without the unit (old Netscape proxies), or `bytes:` (JavaWebServer): read as curl and wget read them.
  assert.deepEqual(parseContentRange('100-199/200'), { start: 100, end: 199, total: 200 })
  assert.deepEqual(parseContentRange('bytes: 100-199/200'), { start: 100, end: 199, total: 200 })
  assert.deepEqual(parseContentRange('*/200'), { start: undefined, end: undefined, total: 200 })
  assert.equal(parseContentRange('100-200/200'), undefined)
  assert.equal(parseContentRange(undefined), undefined)
  // An open end (Resin, httpie#515): to the last byte of the size given; none given, unreadable.
  assert.deepEqual(parseContentRange('bytes 0-/7416'), { start: 0, end: 7415, total: 7416 })
  assert.deepEqual(parseContentRange('bytes 100-/200'), { start: 100, end: 199, total: 200 })
  assert.equal(parseContentRange('bytes 0-/*'), undefined)
  assert.equal(parseContentRange('bytes 200-/200'), undefined)
  // A last byte at the size itself (pydio-core#400, yiisoft/yii#2479): its size's last byte, where
  // the Content-Length counts the range so; else, as any range past the size, unreadable.
  assert.deepEqual(parseContentRange('bytes 100-200/200', '100'), { start: 100, end: 199, total: 200 })
  assert.deepEqual(parseContentRange('bytes 0-200/200', ' 200 '), { start: 0, end: 199, total: 200 })
  assert.equal(parseContentRange('bytes 100-200/200', '101'), undefined)
  assert.equal(parseContentRange('bytes 100-200/200'), undefined)
  assert.equal(parseContentRange('bytes 100-201/200', '100'), undefined)
  // Bytes past 2^53 - 1 are no exact numbers: unreadable; a total past it is read (too large).
  assert.equal(parseContentRange('bytes 9007199254740992-9007199254740993/9007199254740994'), undefined)
  assert.equal(parseContentRange('bytes 0-/18446744073709551616'), undefined)
  assert.deepEqual(parseContentRange('bytes 0-9/18446744073709551616'), { start: 0, end: 9, total: 2 ** 64 })
  assert.deepEqual(parseContentRange('bytes 9007199254740990-9007199254740990/9007199254740991'), {
    start: 9007199254740990,
    end: 9007199254740990,
    total: 9007199254740991,
  })
  // the unit in any case, white space a tab; anything else around the numbers (spaces
  // inside the range, no total, a trailing parameter, two ranges, a number no decimal) unreadable,
  // so never spliced: a resume's starts over, a plain GET's is refused.
  assert.deepEqual(parseContentRange('BYTES 0-99/100'), { start: 0, end: 99, total: 100 })
  assert.deepEqual(parseContentRange('Bytes=0-99/100'), { start: 0, end: 99, total: 100 })
  assert.deepEqual(parseContentRange(' bytes\t0-99/100 '), { start: 0, end: 99, total: 100 })
  assert.deepEqual(parseContentRange('bytes 00-099/0100'), { start: 0, end: 99, total: 100 })
  for (const value of [
    'bytes 0 - 99/100',
    'bytes 0-99 / 100',
    'bytes 0-99',
    'bytes 0-99/',
    'bytes 0-99/100;',
    'bytes 0-99/100, bytes 100-199/200',
    'bytes 0-99/100/100',
    'bytes -99/100',
    'bytes 1e2-199/200',
    'bytes 0x10-99/100',
    'octets 0-99/100',
  ])
    assert.equal(parseContentRange(value), undefined, value)
})

test("Last-Modified as a validator: strong only a minute or more before the answer's Date (RFC 9110 §8.8.2.2)", () => {
  const lm = 'Tue, 03 Nov 2026 10:00:00 GMT'
  const table: [string | undefined, string | undefined, string | undefined][] = [
    [lm, 'Tue, 03 Nov 2026 10:01:00 GMT', lm],
    [lm, 'Wed, 04 Nov 2026 08:00:00 GMT', lm],
    // A second after it, from clocks that may be out of step by more: Chromium's
    // HasStrongValidators draws the line at 60 s too.
    [lm, 'Tue, 03 Nov 2026 10:00:01 GMT', `W/${lm}`],
    [lm, 'Tue, 03 Nov 2026 10:00:59 GMT', `W/${lm}`],
    [lm, lm, `W/${lm}`],
    [lm, 'Tue, 03 Nov 2026 09:59:00 GMT', `W/${lm}`],
    [lm, undefined, `W/${lm}`],
    [lm, 'not a date', `W/${lm}`],
    ['not a date', 'Tue, 03 Nov 2026 10:01:00 GMT', 'W/not a date'],
    // No HTTP-date (RFC 9110 §5.6.7), though V8's Date.parse reads each (2000, 2026, 9999): no
    // instant to compare, so no validator to send as If-Range (`If-Range: 0` went out).
    ['0', 'Tue, 03 Nov 2026 10:01:00 GMT', 'W/0'],
    ['2026', 'Tue, 03 Nov 2026 10:01:00 GMT', 'W/2026'],
    ['Tue, 3 Nov 2026', 'Tue, 03 Nov 2026 10:01:00 GMT', 'W/Tue, 3 Nov 2026'],
    [lm, '9999', `W/${lm}`],
    // A day no calendar has (V8 reads 31 Feb as 2 Mar), a year of one digit written in four (V8 reads 0001 as 2001).
    ['Mon, 31 Feb 2025 10:00:00 GMT', 'Tue, 03 Nov 2026 10:01:00 GMT', 'W/Mon, 31 Feb 2025 10:00:00 GMT'],
    [lm, 'Mon, 01 Jan 0001 00:00:00 GMT', `W/${lm}`],
    // The epoch and before it, and an RFC 850 date 44 years ahead ("70": 2070, RFC 9110 §5.6.7): as they are.
    ['Thu, 01 Jan 1970 00:00:00 GMT', 'Tue, 03 Nov 2026 10:01:00 GMT', 'Thu, 01 Jan 1970 00:00:00 GMT'],
    ['Wed, 31 Dec 1969 23:59:59 GMT', 'Tue, 03 Nov 2026 10:01:00 GMT', 'Wed, 31 Dec 1969 23:59:59 GMT'],
    ['Fri, 31 Dec 9999 23:59:59 GMT', 'Tue, 03 Nov 2026 10:01:00 GMT', 'W/Fri, 31 Dec 9999 23:59:59 GMT'],
    [undefined, 'Tue, 03 Nov 2026 10:01:00 GMT', undefined],
  ]
  for (const [lastModified, date, expected] of table)
    assert.equal(lastModifiedValidator(lastModified, date), expected, `${lastModified} / ${date}`)
  assert.equal(ifRangeValue({ lastModified: lm }), lm)
  assert.equal(ifRangeValue({ lastModified: `W/${lm}` }), undefined, 'a weak date proves nothing')
  assert.equal(ifRangeValue({ etag: 'W/"a"', lastModified: lm }), lm)
  assert.equal(ifRangeValue({ etag: '"a"', lastModified: lm }), '"a"')
  // An ETag without its quotes is no entity-tag (rustfs/rustfs#611): servers read such an If-Range
  // as a date. The date goes instead; with none, nothing (the part is resumed in its run only).
  for (const bare of ['d2a1cbe1405f80f445505287713280ab', '0x8D8117F40DD72AC', '"a', 'a"', '"'])
    assert.equal(ifRangeValue({ etag: bare, lastModified: lm }), lm, bare)
  assert.equal(ifRangeValue({ etag: 'abc' }), undefined)
  assert.equal(ifRangeValue({ etag: '""' }), '""')
  // A value no request can carry (a control character: undici refuses it) goes in no If-Range;
  // a tab, a space or a byte past 0x7F is sent as it came.
  for (const odd of ['"a\x01b"', '"a\x00b"', '"ab\x7f"', '"a\nb"', '"a\rb"'])
    assert.equal(ifRangeValue({ etag: odd, lastModified: lm }), lm, JSON.stringify(odd))
  for (const fine of ['"a\tb"', '"a b"', '"caf\xc3\xa9"']) assert.equal(ifRangeValue({ etag: fine }), fine)
  assert.equal(ifRangeValue({ lastModified: `${lm}\x01` }), undefined)
  assert.equal(ifRangeValue({ etag: '"a\x01"', lastModified: `\x0b${lm}` }), undefined)
  assert.equal(
    mismatch({ etag: 'abc' }, { etag: 'abd' }),
    'ETag abc became abd',
    'still compared with later answers',
  )
  assert.equal(
    mismatch({ lastModified: `W/${lm}` }, { lastModified: lm }),
    undefined,
    'the same date, weak or not',
  )
  // A date that is its answer's own time (contao/core#8773's Last-Modified: now): stamped.
  const later = 'Tue, 03 Nov 2026 10:00:08 GMT'
  for (const [date, stamped] of [
    [lm, true],
    ['Tue, 03 Nov 2026 10:00:01 GMT', true],
    ['Tue, 03 Nov 2026 09:59:59 GMT', true],
    ['Tue, 03 Nov 2026 10:00:02 GMT', false],
    [undefined, false],
  ] as const)
    assert.equal(answerStamped(lm, date), stamped, `${date}`)
  const a = validatorsOf({ status: 200, headers: { 'last-modified': lm, date: lm, etag: '"e"' } })
  const b = validatorsOf({ status: 200, headers: { 'last-modified': later, date: later, etag: '"e"' } })
  assert.deepEqual(a, { etag: '"e"', lastModified: `W/${lm}`, length: undefined, stamped: true })
  assert.equal(mismatch(a, b), undefined, 'two stamped dates are not compared')
  assert.match(mismatch({ lastModified: lm }, b) ?? '', /^Last-Modified .* became /, 'a date of the file is')
  assert.match(mismatch(a, { lastModified: later }) ?? '', /^Last-Modified .* became /)
})

test('endMarked: only a length, a last chunk, a 416 or a known file size mark where the file ends', () => {
  const rows: [string, number, Record<string, string | string[]>, boolean, number | undefined, boolean][] = [
    ['Content-Length', 200, { 'content-length': '10' }, false, undefined, true],
    ['Content-Length over HTTP/2', 200, { 'content-length': '10' }, true, undefined, true],
    ['a Content-Length that is no number', 200, { 'content-length': 'ten' }, false, undefined, false],
    ['chunked', 200, { 'transfer-encoding': 'chunked' }, false, undefined, true],
    ['gzip, then chunked', 200, { 'transfer-encoding': 'gzip, Chunked ' }, false, undefined, true],
    // Several field lines are one list (RFC 9110 §5.3).
    [
      'gzip, then chunked on the next line',
      200,
      { 'transfer-encoding': ['gzip', 'chunked'] },
      false,
      undefined,
      true,
    ],
    [
      'chunked, then gzip on the next line',
      200,
      { 'transfer-encoding': ['chunked', 'gzip'] },
      false,
      undefined,
      false,
    ],
    // RFC 9112 §6.3: chunked not the last coding means read to the close.
    ['chunked, then identity', 200, { 'transfer-encoding': 'chunked, identity' }, false, undefined, false],
    ['x-chunked', 200, { 'transfer-encoding': 'x-chunked' }, false, undefined, false],
    ['chunked with a parameter', 200, { 'transfer-encoding': 'chunked;q=1' }, false, undefined, false],
    ['nothing: read to the close', 200, {}, false, undefined, false],
    // A stream reset with NO_ERROR or CANCEL reaches us as the stream's end.
    ['HTTP/2 without a length', 200, {}, true, undefined, false],
    [
      'a 200 with a Content-Range and no length',
      200,
      { 'content-range': 'bytes 0-9/10' },
      false,
      undefined,
      false,
    ],
    ['a 206 of a known size', 206, { 'content-range': 'bytes 5-9/10' }, false, undefined, true],
    ['a 206 of an unknown size', 206, { 'content-range': 'bytes 5-9/*' }, false, undefined, false],
    [
      'a 206 of an unknown size, the size known before',
      206,
      { 'content-range': 'bytes 5-9/*' },
      false,
      10,
      true,
    ],
    ['a 416', 416, { 'content-range': 'bytes */10' }, false, undefined, true],
    // Taken as the file from byte 0, it still says it is partial (a first chunk, say).
    ['a 206 naming no range, with a length', 206, { 'content-length': '10' }, false, undefined, false],
    [
      'a 206 naming no range it can read, with a length',
      206,
      { 'content-range': 'bytes */*', 'content-length': '10' },
      false,
      undefined,
      false,
    ],
  ]
  for (const [name, status, headers, http2, total, expected] of rows)
    assert.equal(endMarked({ status, headers }, http2, total), expected, name)
})

// RFC 9110 §5.6.7: one instant in any of the three forms, in any case or spacing, is one date: two
// backends behind one name (one writing RFC 850's form) made every resume "another version".
test('Last-Modified is compared as the instant it names, not as text', () => {
  const imf = 'Tue, 03 Nov 2026 08:00:00 GMT'
  const same = [
    'Tuesday, 03-Nov-26 08:00:00 GMT',
    'Tue Nov  3 08:00:00 2026',
    'Tue Nov 3 08:00:00 2026',
    'tue, 03 nov 2026 08:00:00 gmt',
    'Tue,  03 Nov 2026  08:00:00 GMT',
    'Tue, 3 Nov 2026 08:00:00 GMT',
    `W/${imf}`,
  ]
  for (const other of same) {
    assert.equal(mismatch({ lastModified: imf }, { lastModified: other }), undefined, other)
    assert.equal(mismatch({ lastModified: other }, { lastModified: imf }), undefined, other)
    // A resume's 206 proven by it (no ETag known), and an ETag that changed alone still seen as such.
    const headers = {
      'content-range': 'bytes 6-9/10',
      'content-length': '4',
      'last-modified': other.replace(/^W\//, ''),
      date: 'Tue, 03 Nov 2026 10:00:00 GMT',
    }
    assert.equal(
      judge({ from: 6, known: { lastModified: imf, length: 10 } }, { status: 206, headers }).do,
      'receive',
      other,
    )
    assert.equal(
      etagShifted(
        { etag: '"a"', lastModified: imf, length: 10, thisRun: true },
        { etag: '"b"', lastModified: other, length: 10 },
        undefined,
      ),
      true,
      other,
    )
  }
  // Another instant, in whatever form, is another version; a value that is no HTTP-date is text.
  const changed: [string, string][] = [
    [imf, 'Tuesday, 03-Nov-26 08:00:01 GMT'],
    [imf, 'Tue Nov  3 09:00:00 2026'],
    [imf, 'Tue, 03 Nov 2026 08:00:00 +0100'],
    [imf, '1762156800'],
    ['1762156800', '1762156801'],
    ['yesterday', 'Yesterday'],
  ]
  for (const [a, b] of changed) {
    assert.equal(mismatch({ lastModified: a }, { lastModified: b }), `Last-Modified ${a} became ${b}`, b)
    const headers = { 'content-range': 'bytes 6-9/10', 'content-length': '4', 'last-modified': b }
    assert.equal(
      judge({ from: 6, known: { lastModified: a, length: 10 } }, { status: 206, headers }).do,
      'restart',
      b,
    )
  }
  assert.equal(mismatch({ lastModified: '1762156800' }, { lastModified: ' 1762156800' }), undefined)
})

// RFC 9110 §5.6.7: a recipient reads all three forms of an HTTP-date, and asctime's names no zone
// because it is GMT. V8's Date.parse takes it for local time: west of GMT a Last-Modified written
// two hours before the answer read as hours after it (weak: the file's resumes refused their
// If-Range), east of it one written the second before read as hours old (strong).
test('an HTTP-date in asctime form is GMT, whatever the zone of the machine', () => {
  const zone = process.env.TZ
  try {
    for (const tz of ['America/New_York', 'Asia/Tokyo', 'UTC']) {
      process.env.TZ = tz
      const answered = 'Tue, 03 Nov 2026 10:00:01 GMT'
      assert.equal(
        lastModifiedValidator('Tue Nov  3 08:00:00 2026', answered),
        'Tue Nov  3 08:00:00 2026',
        tz,
      )
      assert.equal(
        lastModifiedValidator('Tue Nov  3 10:00:00 2026', answered),
        'W/Tue Nov  3 10:00:00 2026',
        tz,
      )
      // The answer's Date in asctime too.
      assert.equal(
        lastModifiedValidator('Tue, 03 Nov 2026 10:00:00 GMT', 'Tue Nov  3 10:00:01 2026'),
        'W/Tue, 03 Nov 2026 10:00:00 GMT',
        tz,
      )
      assert.equal(
        lastModifiedValidator('Tue, 03 Nov 2026 08:00:00 GMT', 'Tue Nov  3 10:00:01 2026'),
        'Tue, 03 Nov 2026 08:00:00 GMT',
        tz,
      )
    }
  } finally {
    if (zone === undefined) delete process.env.TZ
    else process.env.TZ = zone
  }
})

test('nextOverlap: the bytes asked again after a short answer are fewer than it carried, at most half of it while the proof allows', () => {
  const cases: [string, number, number, number][] = [
    ['an answer longer than the overlap: all of it', LATER_OVERLAP, 64 * 1024, LATER_OVERLAP],
    ['an answer twice the overlap: all of it', LATER_OVERLAP, 2 * LATER_OVERLAP, LATER_OVERLAP],
    // A cap a few bytes over the overlap moved the file on by those few bytes an answer.
    ['one byte longer: half of it', LATER_OVERLAP, LATER_OVERLAP + 1, LATER_OVERLAP / 2],
    ['an answer capped at 1,030 bytes: half of it', LATER_OVERLAP, 1030, 515],
    [
      'a file without validators, an answer capped at 5,000: the overlap its proof needs',
      RESUME_OVERLAP,
      5000,
      RESUME_OVERLAP,
    ],
    ['an answer of the overlap exactly: half of it', LATER_OVERLAP, LATER_OVERLAP, LATER_OVERLAP / 2],
    ['an answer capped at 1,000 bytes', LATER_OVERLAP, 1000, 500],
    ['a file without validators, an answer capped at 3,000', RESUME_OVERLAP, 3000, 1500],
    ['one byte', LATER_OVERLAP, 1, 0],
  ]
  for (const [name, wanted, carried, expected] of cases) {
    // A file resumed on the bytes compared alone (RESUME_OVERLAP wanted) asks no fewer while it can.
    const again = nextOverlap(wanted, carried, wanted === RESUME_OVERLAP ? RESUME_OVERLAP : 0)
    assert.equal(again, expected, name)
    assert.ok(again < carried, `${name}: each answer moves the file on`)
  }
})

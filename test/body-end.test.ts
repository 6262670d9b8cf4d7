import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  type BodyEnd,
  type BodySoFar,
  type BodyStop,
  bodyEnd,
  type CutAtLength,
  connectionEnded,
  encodedLimit,
  endedByClose,
  endedShort,
  endedUnframed,
  invalidEof,
  lengthCutImage,
  lengthOfDecoded,
  quietEnds,
  stalledUnframed,
} from '../src/fetch/body-end.js'
import { overrunNote, stallWords } from '../src/fetch/failure-words.js'

/** A plain HTTP/1.1 body of 10 bytes that stopped after 5, closed by the server; `over` changes it. */
const stop = (over: Partial<BodyStop>): BodyStop => ({
  code: 'UND_ERR_SOCKET',
  invalidEof: false,
  aborted: false,
  received: 5,
  length: 10,
  http2: false,
  chunked: false,
  lastChunk: false,
  badTrailer: false,
  insideChunk: false,
  decoded: false,
  ownEnd: false,
  ...over,
})

test('bodyEnd: how a body that stopped with an error ended, by its framing, its coding and the error', () => {
  const table: [string, Partial<BodyStop>, BodyEnd][] = [
    ['a plain body closed short of its length', {}, 'failed'],
    ['a plain body closed at its length', { received: 10 }, 'whole'],
    ['a plain body reset at its length', { received: 10, code: 'ECONNRESET' }, 'whole'],
    [
      'an HTTP/1.1 body silent at its length: the timeout stands',
      { received: 10, code: 'UND_ERR_BODY_TIMEOUT' },
      'failed',
    ],
    [
      'an HTTP/2 stream never ended at its length',
      { received: 10, http2: true, code: 'UND_ERR_BODY_TIMEOUT' },
      'whole',
    ],
    [
      'an HTTP/2 stream reset at its length',
      { received: 10, http2: true, code: 'ERR_HTTP2_STREAM_ERROR' },
      'whole',
    ],
    ['cancelled at its length: the cancel stands', { received: 10, aborted: true }, 'failed'],
    ['an encoded body closed short of its length', { decoded: true }, 'short'],
    [
      'an encoded body whose length its parser blamed',
      { decoded: true, code: 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH' },
      'short',
    ],
    [
      'an encoded HTTP/2 body reset short of its length',
      { decoded: true, http2: true, code: 'ERR_HTTP2_STREAM_ERROR' },
      'short',
    ],
    [
      'an encoded HTTP/1.1 body with a stream error code',
      { decoded: true, code: 'ERR_HTTP2_STREAM_ERROR' },
      'failed',
    ],
    ['an encoded body closed before any byte', { decoded: true, received: 0 }, 'failed'],
    ['an encoded body cancelled short of its length', { decoded: true, aborted: true }, 'failed'],
    ["ended by imgpull at its coding's end, short of its length", { ownEnd: true, decoded: true }, 'short'],
    [
      "ended by imgpull at its coding's end, without a length",
      { ownEnd: true, decoded: true, length: undefined },
      'whole',
    ],
    ['ended by imgpull, then cancelled', { ownEnd: true, decoded: true, aborted: true, code: '' }, 'failed'],
    [
      'a body read to the close, left open past the idle timeout',
      { length: undefined, code: 'UND_ERR_BODY_TIMEOUT' },
      'stalled',
    ],
    [
      'one left open before any byte',
      { length: undefined, received: 0, code: 'UND_ERR_BODY_TIMEOUT' },
      'failed',
    ],
    ['one with a length, silent short of it', { code: 'UND_ERR_BODY_TIMEOUT' }, 'failed'],
    [
      'an encoded HTTP/2 body without a length, reset',
      { decoded: true, http2: true, length: undefined, code: 'ERR_HTTP2_STREAM_ERROR' },
      'unframed',
    ],
    [
      'an encoded HTTP/2 body without a length, its session failed',
      { decoded: true, http2: true, length: undefined, code: 'ERR_HTTP2_SESSION_ERROR' },
      'unframed',
    ],
    [
      'a plain HTTP/2 body without a length, reset',
      { http2: true, length: undefined, code: 'ERR_HTTP2_STREAM_ERROR' },
      'failed',
    ],
    ['a chunked body closed before its last chunk', { chunked: true, length: undefined }, 'closed-early'],
    [
      "one whose answer said Connection: close (llhttp's EOF)",
      { chunked: true, length: undefined, code: '', invalidEof: true },
      'closed-early',
    ],
    [
      'a chunked body closed inside a chunk',
      { chunked: true, length: undefined, insideChunk: true },
      'failed',
    ],
    [
      'a chunked body closed after its last chunk, its trailer missing',
      { chunked: true, length: undefined, lastChunk: true },
      'whole',
    ],
    [
      'one silent after its last chunk',
      { chunked: true, length: undefined, lastChunk: true, code: 'UND_ERR_BODY_TIMEOUT' },
      'whole',
    ],
    [
      'one whose trailer section llhttp refused a line of, after its last chunk (httrack#855)',
      {
        chunked: true,
        length: undefined,
        lastChunk: true,
        badTrailer: true,
        code: 'HPE_INVALID_HEADER_TOKEN',
      },
      'whole',
    ],
    [
      'a parse error before its last chunk (a chunk-size line refused)',
      { chunked: true, length: undefined, code: 'HPE_INVALID_CHUNK_SIZE' },
      'failed',
    ],
    [
      'one silent before its last chunk',
      { chunked: true, length: undefined, code: 'UND_ERR_BODY_TIMEOUT' },
      'stalled',
    ],
    ['a chunked body closed before any byte', { chunked: true, length: undefined, received: 0 }, 'failed'],
    [
      'a chunked body cancelled',
      { chunked: true, length: undefined, aborted: true, lastChunk: true },
      'failed',
    ],
    [
      "an error of imgpull's own (a full disk)",
      { length: undefined, chunked: true, code: 'ENOSPC' },
      'failed',
    ],
  ]
  for (const [name, over, want] of table) assert.equal(bodyEnd(stop(over)), want, name)
})

test('the classifiers bodyEnd is made of, each on its own', () => {
  const table: [string, (s: BodyStop) => boolean, Partial<BodyStop>, boolean][] = [
    ['endedShort: closed short', endedShort, {}, true],
    ['endedShort: at its length', endedShort, { received: 10 }, false],
    ['endedShort: no length', endedShort, { length: undefined }, false],
    ['endedShort: HTTP/2 reset', endedShort, { http2: true, code: 'ERR_HTTP2_STREAM_ERROR' }, true],
    ['endedShort: an abort of its own', endedShort, { code: 'UND_ERR_ABORTED' }, false],
    [
      'endedUnframed: HTTP/2 reset, no length',
      endedUnframed,
      { http2: true, length: undefined, code: 'ECONNRESET' },
      true,
    ],
    [
      'endedUnframed: HTTP/2 stall, no length',
      endedUnframed,
      { http2: true, length: undefined, code: 'UND_ERR_BODY_TIMEOUT' },
      false,
    ],
    ['endedUnframed: HTTP/1.1', endedUnframed, { length: undefined }, false],
    ['endedByClose: chunked, closed', endedByClose, { chunked: true, length: undefined }, true],
    [
      'endedByClose: chunked over HTTP/2',
      endedByClose,
      { chunked: true, length: undefined, http2: true },
      false,
    ],
    ['endedByClose: not chunked', endedByClose, { length: undefined }, false],
    [
      'endedByClose: chunked, stalled',
      endedByClose,
      { chunked: true, length: undefined, code: 'UND_ERR_BODY_TIMEOUT' },
      false,
    ],
    [
      'stalledUnframed: no length',
      stalledUnframed,
      { length: undefined, code: 'UND_ERR_BODY_TIMEOUT' },
      true,
    ],
    ['stalledUnframed: a length', stalledUnframed, { code: 'UND_ERR_BODY_TIMEOUT' }, false],
    [
      "stalledUnframed: a 206's range, all come",
      stalledUnframed,
      { code: 'UND_ERR_BODY_TIMEOUT', received: 10, rangeLength: true },
      true,
    ],
    [
      "stalledUnframed: a 206's range, all come, over HTTP/2",
      stalledUnframed,
      { code: 'UND_ERR_BODY_TIMEOUT', received: 10, rangeLength: true, http2: true },
      false,
    ],
    [
      'stalledUnframed: a Content-Length, all come',
      stalledUnframed,
      { code: 'UND_ERR_BODY_TIMEOUT', received: 10 },
      false,
    ],
    ['stalledUnframed: closed', stalledUnframed, { length: undefined }, false],
  ]
  for (const [name, f, over, want] of table) assert.equal(f(stop(over)), want, name)
})

test('connectionEnded and invalidEof: the connection closed or reset under an answer', () => {
  for (const [code, want] of [
    ['UND_ERR_SOCKET', true],
    ['ECONNRESET', true],
    ['UND_ERR_BODY_TIMEOUT', false],
    ['', false],
  ] as const)
    assert.equal(connectionEnded(code), want, code)
  const parserError = (message: string) => Object.assign(new Error(message), { name: 'HTTPParserError' })
  assert.equal(
    invalidEof(parserError('Response does not match the HTTP/1.1 protocol (Invalid EOF state)')),
    true,
  )
  assert.equal(invalidEof(parserError('Invalid character in chunk size')), false)
  assert.equal(invalidEof(new Error('Invalid EOF state')), false)
  assert.equal(invalidEof(null), false)
})

test('encodedLimit and lengthOfDecoded: the bounds of an encoded body', () => {
  assert.equal(encodedLimit(0), 65536)
  assert.equal(encodedLimit(1000), 1000 + 1 + 65536)
  assert.equal(encodedLimit(1001), 1001 + 2 + 65536)
  const table: [boolean, boolean, number, number, boolean][] = [
    // identity, unterminated, decoded, length, whole
    [false, false, 100, 100, true],
    [false, false, 99, 100, false],
    [false, true, 100, 100, false],
    [true, false, 100, 100, false],
  ]
  for (const [identity, unterminated, decoded, length, want] of table)
    assert.equal(
      lengthOfDecoded({ identity, unterminated }, decoded, length),
      want,
      `${identity} ${unterminated} ${decoded}`,
    )
})

test('stallWords and overrunNote: where a body stopped, and bytes after its coded stream', () => {
  const table: [number, number, number | undefined, string][] = [
    [0, 0, undefined, 'no byte of the body came after the head'],
    [100, 0, 500, 'no byte past the 100 on disk came after the head'],
    [0, 40, undefined, 'the body stopped after 40 bytes'],
    [100, 40, 500, 'the body stopped after 140 of 500 bytes'],
  ]
  for (const [at, beyond, total, want] of table) assert.equal(stallWords(at, beyond, total), want)
  assert.equal(overrunNote(undefined), undefined)
  assert.equal(
    overrunNote({ bytes: 1, coding: 'gzip' }),
    '1 byte came after the end of its gzip stream, not decoded (a second stream joined on, or binary bytes the server appended)',
  )
  assert.match(overrunNote({ bytes: 7, coding: 'zstd' })!, /^7 bytes came after the end of its zstd stream/)
})

test('quietEnds: a plain body ends after a short quiet where it may have ended, not at the idle timeout', () => {
  const so = (over: Partial<BodySoFar>): BodySoFar => ({
    received: 100,
    length: undefined,
    pastLength: undefined,
    seen: undefined,
    decoded: false,
    at: 0,
    ...over,
  })
  const rows: [string, Partial<BodySoFar>, boolean][] = [
    ['read past its length, not yet at it', { pastLength: 200 }, false],
    ['read past its length, at it', { pastLength: 100 }, true],
    ['read past its length, beyond it', { pastLength: 60 }, true],
    ['read past its length, but the answer states one again', { pastLength: 60, length: 300 }, false],
    ['read past its length, decoded (its coding ends it)', { pastLength: 60, decoded: true }, false],
    ['short of its length, the bytes an earlier attempt saw whole', { length: 200, seen: 100 }, true],
    ['short of its length, fewer than seen', { length: 200, seen: 150 }, false],
    ['short of its length, more than seen', { received: 160, length: 200, seen: 150 }, false],
    ['at its length (it ends there anyway)', { length: 100, seen: 100 }, false],
    ['short of its length, nothing seen before', { length: 200 }, false],
    ['a resume', { length: 200, seen: 100, at: 50 }, false],
    ['no length, nothing read past', {}, false],
  ]
  for (const [name, over, want] of rows) assert.equal(quietEnds(so(over)), want, name)
})

test('lengthCutImage: a plain HTTP/1.x image its Content-Length cut is asked again and read past it', () => {
  const cut = (over: Partial<CutAtLength>): CutAtLength => ({
    code: 'truncated',
    markedWhole: 9679,
    byCache: false,
    status: 200,
    http2: false,
    contentLength: '9679',
    transferEncoding: undefined,
    encoded: false,
    at: 0,
    ...over,
  })
  const rows: [string, Partial<CutAtLength>, boolean][] = [
    ['cut at its length', {}, true],
    ['cut at its length, written +9679', { contentLength: '+9679' }, true],
    ['not cut', { code: 'corrupt' }, false],
    ['cut, its end not marked', { markedWhole: undefined }, false],
    ['cut short of its length', { markedWhole: 9000 }, false],
    ["a cache's stored copy", { byCache: true }, false],
    ['a 206', { status: 206 }, false],
    ['over HTTP/2', { http2: true }, false],
    ['chunked', { transferEncoding: 'chunked', contentLength: undefined }, false],
    ['content-coded (see endedAtLength)', { encoded: true }, false],
    ['a resume', { at: 100 }, false],
    ['no length', { contentLength: undefined }, false],
  ]
  for (const [name, over, want] of rows) assert.equal(lengthCutImage(cut(over)), want, name)
})

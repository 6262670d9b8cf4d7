import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  afterPart,
  boundaryOf,
  PART_HEAD_LIMIT,
  type PartHead,
  partAnswer,
  readPartHead,
} from '../src/fetch/byteranges.js'

// A resume's 206 in multipart/byteranges with one part (RFC 9110 §14.6): taken apart only where
// it is exactly the range asked for (see byteranges.ts); the rules, table by table.

test('the boundary a multipart Content-Type names', () => {
  const table: [string, string | undefined, string | undefined][] = [
    ['plain', 'multipart/byteranges; boundary=3d6b6a416f9b5', '3d6b6a416f9b5'],
    ['quoted', 'multipart/byteranges; boundary="a b:c"', 'a b:c'],
    ['another parameter after it', 'multipart/byteranges;boundary=XB; charset=x', 'XB'],
    ['upper case', 'Multipart/Byteranges; BOUNDARY=XB', 'XB'],
    ['none', 'multipart/byteranges', undefined],
    ['empty', 'multipart/byteranges; boundary=', undefined],
    ['no header', undefined, undefined],
  ]
  for (const [name, type, boundary] of table) assert.equal(boundaryOf(type), boundary, name)
})

test("a multipart body's first part head", () => {
  const b = (s: string) => Buffer.from(s, 'latin1')
  const range = 'content-range: bytes 10-19/20'
  const table: [string, string, PartHead][] = [
    [
      'nginx: a line end before the delimiter',
      `\r\n--XB\r\nContent-Type: image/jpeg\r\nContent-Range: bytes 10-19/20\r\n\r\nabc`,
      { headers: { 'content-type': 'image/jpeg', 'content-range': 'bytes 10-19/20' }, body: 67 },
    ],
    [
      'the delimiter first',
      `--XB\r\n${range}\r\n\r\n`,
      { headers: { 'content-range': 'bytes 10-19/20' }, body: 39 },
    ],
    ['bare line ends', `--XB\n${range}\n\n`, { headers: { 'content-range': 'bytes 10-19/20' }, body: 36 }],
    [
      'transport padding after the delimiter',
      `--XB \t\r\n${range}\r\n\r\n`,
      { headers: { 'content-range': 'bytes 10-19/20' }, body: 41 },
    ],
    [
      'a preamble',
      `ignore me\r\n--XB\r\n${range}\r\n\r\n`,
      { headers: { 'content-range': 'bytes 10-19/20' }, body: 50 },
    ],
    ['no headers', '--XB\r\n\r\n', { headers: {}, body: 8 }],
    ['the headers not all in', `--XB\r\n${range}\r\n`, { more: true }],
    ['the delimiter not all in', '\r\n--X', { more: true }],
    ['the delimiter not at a line start', `x--XB\r\n${range}\r\n\r\n`, { more: true }],
    [
      'another boundary that begins alike',
      `--XBC\r\n${range}\r\n\r\n`,
      { why: 'its delimiter line goes on with "C"' },
    ],
    ['closed before any part', '--XB--\r\n', { why: 'it closes before any part' }],
    [
      'a header line that does not parse',
      '--XB\r\nbytes 10-19/20\r\n\r\n',
      { why: 'its part\'s header line "bytes 10-19/20" does not parse' },
    ],
    ['a header twice', `--XB\r\n${range}\r\n${range}\r\n\r\n`, { why: 'its part names content-range twice' }],
  ]
  for (const [name, bytes, head] of table) assert.deepEqual(readPartHead(b(bytes), 'XB'), head, name)
  assert.deepEqual(readPartHead(Buffer.alloc(PART_HEAD_LIMIT + 1, 0x41), 'XB'), {
    why: `no delimiter --XB in its first ${PART_HEAD_LIMIT} bytes`,
  })
  assert.deepEqual(readPartHead(b(`--XB\r\nx-pad: ${'y'.repeat(PART_HEAD_LIMIT)}`), 'XB'), {
    why: `its first part's headers run past ${PART_HEAD_LIMIT} bytes`,
  })
})

test('a part is taken as a 206 only where it is exactly the range asked for, of the file known, under If-Range', () => {
  const outer = {
    status: 206,
    headers: {
      etag: '"e"',
      'content-type': 'multipart/byteranges; boundary=XB',
      'content-length': '5000',
    },
  }
  const known = { etag: '"e"', length: 1000 }
  const asked = { first: 600, known, ifRange: true }
  const part = { 'content-type': 'image/jpeg', 'content-range': 'bytes 600-999/1000' }
  assert.deepEqual(partAnswer(asked, outer, part), {
    answer: {
      status: 206,
      headers: {
        etag: '"e"',
        'content-type': 'image/jpeg',
        'content-length': '400',
        'content-range': 'bytes 600-999/1000',
      },
    },
    length: 400,
  })
  // A part without a Content-Type: the wrapper's is not the part's.
  const untyped = partAnswer(asked, outer, { 'content-range': 'bytes 600-999/1000' })
  assert.ok('answer' in untyped && untyped.answer.headers['content-type'] === undefined)
  const refused: [string, Parameters<typeof partAnswer>[0], Record<string, string>, string][] = [
    [
      'no If-Range',
      { ...asked, ifRange: false },
      part,
      'asked without If-Range, so nothing but its range vouches for the part',
    ],
    [
      'no Content-Range',
      asked,
      { 'content-type': 'image/jpeg' },
      'its part names no usable Content-Range (none)',
    ],
    [
      'a size unknown',
      asked,
      { 'content-range': 'bytes 600-999/*' },
      'its part names no usable Content-Range (bytes 600-999/*)',
    ],
    [
      'starting elsewhere',
      asked,
      { 'content-range': 'bytes 0-999/1000' },
      'its part holds bytes 0-999/1000, not the range asked for (byte 600 to the end)',
    ],
    [
      'ending short of the file',
      asked,
      { 'content-range': 'bytes 600-899/1000' },
      'its part holds bytes 600-899/1000, not the range asked for (byte 600 to the end)',
    ],
    [
      'of another size',
      asked,
      { 'content-range': 'bytes 600-1099/1100' },
      'its part is of a 1100-byte file, not of the 1000 bytes known',
    ],
    ['content-encoded', asked, { ...part, 'content-encoding': 'gzip' }, 'it is content-encoded'],
  ]
  for (const [name, a, p, why] of refused) assert.deepEqual(partAnswer(a, outer, p), { why }, name)
})

test("what may follow a part's last byte", () => {
  const table: [string, string, ReturnType<typeof afterPart>][] = [
    ['the close delimiter', '\r\n--XB--', 'closed'],
    ['the close delimiter, its line end and an epilogue', '\r\n--XB--\r\nbye', 'closed'],
    ['the close delimiter not all in', '\r\n--X', 'more'],
    [
      'a second part',
      '\r\n--XB\r\nContent-Range: bytes 0-1/2\r\n',
      { why: 'a second part follows the first' },
    ],
    [
      'more bytes of the part',
      'abc',
      { why: "bytes follow its part's range other than the close delimiter" },
    ],
  ]
  for (const [name, after, said] of table) assert.deepEqual(afterPart(Buffer.from(after), 'XB'), said, name)
})

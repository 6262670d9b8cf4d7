import assert from 'node:assert/strict'
import { test } from 'node:test'
import { mendAllLines, mendLines } from '../src/fetch/mend-head.js'
import { parseHeaders } from '../src/fetch/undici.js'

// `mendLines` passes a head that needs nothing without its ten searches (see `PLAIN_HEAD`): it must
// give what the whole search gives, for heads as servers send them and for each quirk beside them.
const PLAIN = [
  'HTTP/1.1 200 OK\r\n\r\n',
  'HTTP/1.1 200\r\nContent-Length: 5\r\n\r\n',
  'HTTP/1.0 404 Not Found\r\nServer: x\r\n\r\n',
  'HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: 123456\r\nETag: "a-b"\r\nLast-Modified: Mon, 01 Jan 2024 00:00:00 GMT\r\nDate: Fri, 04 Dec 2026 16:00:00 GMT\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n',
  'HTTP/1.1 200 OK\r\nContent-Length:  42 \r\nX-A: b : c\r\n\r\n',
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n',
  'HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n',
  'HTTP/1.1 200 OK\r\ncontent-length: 9999999999999999999\r\n\r\n',
]

const QUIRKS = [
  // Lists in a length, or no length at all.
  'HTTP/1.1 200 OK\r\nContent-Length: 42, 42\r\n\r\n',
  'HTTP/1.1 200 OK\r\nContent-Length: 42,\r\n\r\n',
  'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n',
  'HTTP/1.1 200 OK\r\nContent-Length: +42\r\n\r\n',
  'HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n',
  'HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n',
  'HTTP/1.1 200 OK\r\nContent-Length: 00000000000000000042\r\n\r\n',
  // Codings listed with an empty element, or a tab.
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked,\r\n\r\n',
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip,,chunked\r\n\r\n',
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n',
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\t\r\n\r\n',
  'HTTP/1.1 200 OK\r\nContent-Length: 7416\t\r\n\r\n',
  // Folded framing lines.
  'HTTP/1.1 200 OK\r\nContent-Length:\r\n 7416\r\n\r\n',
  // White space before a colon, lines naming no field.
  'HTTP/1.1 200 OK\r\nX-Powered-By : PHP\r\n\r\n',
  'HTTP/1.1 200 OK\r\nen-US Content-Type: text/xml\r\n\r\n',
  'HTTP/1.1 200 OK\r\n: nothing\r\n\r\n',
  'HTTP/1.1 200 OK\r\nno colon here\r\n\r\n',
  // CR CR LF line ends, bare LF ends.
  'HTTP/1.1 200 OK\r\r\nContent-Length: 3\r\r\n\r\r\n',
  'HTTP/1.1 200 OK\nContent-Length: 3\n\n',
  // A bare CR inside a value.
  'HTTP/1.1 200 OK\r\nX-Note: one\rtwo\r\nContent-Length: 3\r\n\r\n',
  // Status lines curl or wget2 reads.
  'http/1.1 200 OK\r\n\r\n',
  'HTTP/1.2 200 OK\r\n\r\n',
  'HTTP/2 200\r\n\r\n',
  'HTTP/1.1  200 OK\r\n\r\n',
  'HTTP/1.1 200\tOK\r\n\r\n',
]

test('a head with nothing to mend is passed as it is, and each quirk is still mended', () => {
  for (const head of PLAIN) {
    assert.equal(mendAllLines(head), head, head)
    assert.equal(mendLines(head), head, head)
  }
  for (const head of QUIRKS) assert.equal(mendLines(head), mendAllLines(head), head)
  // The quirks are quirks: most are changed by the mending (the table would test nothing else).
  assert.ok(QUIRKS.filter((head) => mendAllLines(head) !== head).length >= 18)
  // Each plain head with one of its lines made a quirk gives what the whole search gives.
  for (const head of PLAIN) {
    const lines = head.split('\r\n')
    for (let i = 1; i < lines.length - 2; i++) {
      for (const twist of [
        (l: string) => l.replace(':', ' :'),
        (l: string) => l.replace(': ', ':\t'),
        (l: string) => `${l},`,
        (l: string) => `${l}\r`,
        (l: string) => l.replace(/^[^:]*/, 'Content-Length'),
        (l: string) => l.replace(/^[^:]*/, 'Transfer-Encoding'),
      ]) {
        const twisted = [...lines.slice(0, i), twist(lines[i]), ...lines.slice(i + 1)].join('\r\n')
        assert.equal(mendLines(twisted), mendAllLines(twisted), JSON.stringify(twisted))
      }
    }
  }
})

test('a bare CR in a head, one that ends no line, is read as a space (RFC 9112 §2.2)', () => {
  assert.equal(
    mendAllLines('HTTP/1.1 200 OK\r\nX-Note: one\rtwo\r\nContent-Length: 3\r\n\r\n'),
    'HTTP/1.1 200 OK\r\nX-Note: one two\r\nContent-Length: 3\r\n\r\n',
  )
  // CR CR LF line ends are mended as before, not read as a CR and a line end.
  assert.equal(mendAllLines('HTTP/1.1 200 OK\r\r\nA: b\r\n\r\n'), 'HTTP/1.1 200 OK \r\nA: b\r\n\r\n')
})

test('parseHeaders: a value without the spaces and tabs after it (RFC 9110 §5.5), those inside kept', () => {
  const raw = (...pairs: string[]) => pairs.map((p) => Buffer.from(p, 'latin1'))
  assert.deepEqual(parseHeaders(raw('ETag', '"a b"', 'X-Plain', 'v')), { etag: '"a b"', 'x-plain': 'v' })
  assert.deepEqual(
    parseHeaders(
      raw(
        'X-First',
        'v',
        'ETag',
        '"5f1a" \t ',
        'Set-Cookie',
        'a=1 ',
        'Set-Cookie',
        'b=2\t',
        'X-Blank',
        ' \t',
      ),
    ),
    { 'x-first': 'v', etag: '"5f1a"', 'set-cookie': ['a=1', 'b=2'], 'x-blank': '' },
  )
})

import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { test } from 'node:test'
import {
  encodedDigests,
  type StatedDigest,
  statedDigests,
  trailerAlgorithms,
  trailerDigests,
} from '../src/verify/stated-digest.js'

const file = Buffer.from('the bytes of an image')
const b64 = (algorithm: string) => createHash(algorithm).update(file).digest('base64')
const hex = (algorithm: string) => createHash(algorithm).update(file).digest('hex')
const sha256 = { algorithm: 'sha256' as const, hex: hex('sha256') }
const md5 = { algorithm: 'md5' as const, hex: hex('md5') }

test('stated digests: which header covers the whole file, and when', () => {
  type Case = [string, Record<string, string | string[]>, boolean, boolean, Partial<StatedDigest>[]]
  const table: Case[] = [
    ['none', {}, true, false, []],
    // RFC 9530: of the representation, whatever part a 206 carries.
    [
      'Repr-Digest sha-256',
      { 'repr-digest': `sha-256=:${b64('sha256')}:` },
      false,
      false,
      [{ ...sha256, header: 'Repr-Digest' }],
    ],
    [
      'Repr-Digest, two, best first',
      { 'repr-digest': `sha-512=:${b64('sha512')}:, sha-256=:${b64('sha256')}:` },
      true,
      false,
      [{ algorithm: 'sha256' }, { algorithm: 'sha512' }],
    ],
    [
      'Repr-Digest without colons is not a byte sequence',
      { 'repr-digest': `sha-256=${b64('sha256')}` },
      true,
      false,
      [],
    ],
    [
      'RFC 3230 Digest',
      { digest: `SHA-256=${b64('sha256')},MD5=${b64('md5')}` },
      false,
      false,
      [sha256, md5],
    ],
    // Of the message content: only an answer that carried all of the file.
    ['Content-MD5, whole', { 'content-md5': b64('md5') }, true, false, [{ ...md5, header: 'Content-MD5' }]],
    ['Content-MD5 of a part', { 'content-md5': b64('md5') }, false, false, []],
    ['Content-Digest of a part', { 'content-digest': `sha-256=:${b64('sha256')}:` }, false, false, []],
    ['Content-Digest, whole', { 'content-digest': `sha-256=:${b64('sha256')}:` }, true, false, [sha256]],
    // Google Cloud Storage: the stored object; crc32c not checked.
    [
      'x-goog-hash, two header lines',
      { 'x-goog-hash': ['crc32c=n03x6A==', `md5=${b64('md5')}`] },
      false,
      false,
      [{ ...md5, header: 'x-goog-hash' }],
    ],
    [
      'x-goog-hash of an object stored gzipped (decompressive transcoding)',
      { 'x-goog-hash': `crc32c=n03x6A==,md5=${b64('md5')}`, 'x-goog-stored-content-encoding': 'gzip' },
      true,
      false,
      [],
    ],
    [
      'x-goog-hash, stored as it is',
      { 'x-goog-hash': `md5=${b64('md5')}`, 'x-goog-stored-content-encoding': 'identity' },
      true,
      false,
      [md5],
    ],
    // Of the encoded bytes: nothing to compare the decoded file with.
    [
      'an encoded answer',
      { 'repr-digest': `sha-256=:${b64('sha256')}:`, 'content-md5': b64('md5') },
      true,
      true,
      [],
    ],
    // An edge that made the bytes anew, passing the origin's digests on.
    ['cf-polished', { 'content-md5': b64('md5'), 'cf-polished': 'origSize=1234' }, true, false, []],
    [
      'Warning: 214',
      { 'repr-digest': `sha-256=:${b64('sha256')}:`, warning: '214 - "Transformation Applied"' },
      true,
      false,
      [],
    ],
    [
      'x-goog-hash of an object of another size than the body',
      { 'x-goog-hash': `md5=${b64('md5')}`, 'x-goog-stored-content-length': String(file.length + 1) },
      true,
      false,
      [],
    ],
    [
      "x-goog-hash of an object of the body's size",
      { 'x-goog-hash': `md5=${b64('md5')}`, 'x-goog-stored-content-length': String(file.length) },
      true,
      false,
      [md5],
    ],
    // Malformed: ignored, never held against the file.
    ['wrong length', { 'content-md5': b64('sha256') }, true, false, []],
    ['not base64', { 'content-md5': 'not-base64!' }, true, false, []],
    ['unknown algorithm', { 'repr-digest': `crc32=:AAAAAA==:` }, true, false, []],
    [
      'sha (SHA-1) in Digest',
      { digest: `SHA=${b64('sha1')}` },
      true,
      false,
      [{ algorithm: 'sha1', hex: hex('sha1') }],
    ],
  ]
  for (const [name, headers, whole, encoded, expected] of table) {
    const got = statedDigests(headers, whole, encoded, file.length)
    assert.equal(got.length, expected.length, name)
    expected.forEach((e, i) => {
      for (const [k, v] of Object.entries(e))
        assert.equal(got[i][k as keyof StatedDigest], v, `${name}: ${k}`)
    })
  }
})

test('digests of the encoded bytes of a content-coded answer', () => {
  type Case = [string, Record<string, string>, boolean, Partial<StatedDigest>[]]
  const table: Case[] = [
    ['none', {}, true, []],
    ['Content-Digest, the whole answer', { 'content-digest': `sha-256=:${b64('sha256')}:` }, true, [sha256]],
    [
      'Content-Digest of a part: not of the whole',
      { 'content-digest': `sha-256=:${b64('sha256')}:` },
      false,
      [],
    ],
    ['Repr-Digest', { 'repr-digest': `sha-256=:${b64('sha256')}:` }, false, [sha256]],
    ['Content-MD5', { 'content-md5': b64('md5') }, true, [{ ...md5, header: 'Content-MD5' }]],
    // Stored encoded or not, sent decoded or not: nothing clear of the encoded bytes.
    ['x-goog-hash left out', { 'x-goog-hash': `md5=${b64('md5')}` }, true, []],
    ['made anew by an edge', { 'content-md5': b64('md5'), 'cf-polished': 'origSize=1' }, true, []],
  ]
  for (const [name, headers, whole, expected] of table) {
    const got = encodedDigests(headers, whole)
    assert.equal(got.length, expected.length, name)
    for (const [i, e] of expected.entries()) assert.deepEqual({ ...got[i], ...e }, got[i], name)
  }
})

test('trailerDigests: the trailer section states the digests, every other field the head says', () => {
  const head = { 'content-type': 'image/jpeg', 'content-md5': b64('md5'), 'cf-polished': 'x' }
  assert.equal(trailerDigests(head, undefined), undefined)
  // Trailers that state no digest: nothing to check beyond the head.
  assert.equal(trailerDigests(head, { expires: 'never' }), undefined)
  const trailed = trailerDigests(head, { 'repr-digest': `sha-256=:${b64('sha256')}:` })
  assert.deepEqual(trailed, {
    'content-type': 'image/jpeg',
    'cf-polished': 'x',
    'repr-digest': `sha-256=:${b64('sha256')}:`,
    digest: undefined,
    'content-digest': undefined,
    'content-md5': undefined,
    'x-goog-hash': undefined,
  })
  // The head's edge that made the body anew rules the trailer's digests too.
  assert.deepEqual(statedDigests(trailed!, true, false), [])
  const plain = trailerDigests({}, { 'content-md5': b64('md5') })!
  assert.deepEqual(statedDigests(plain, true, false), [{ ...md5, header: 'Content-MD5' }])
  // Of the message content: not of the file on a 206's part.
  assert.deepEqual(statedDigests(plain, false, false), [])
})

test("trailerAlgorithms: sha-256 always, and what the head's Trailer field announces", () => {
  const table: [string | string[] | undefined, string[]][] = [
    [undefined, ['sha256']],
    ['Expires', ['sha256']],
    ['Repr-Digest', ['sha256', 'sha512']],
    ['content-digest, X-Other', ['sha256', 'sha512']],
    ['Content-MD5', ['sha256', 'md5']],
    ['Digest', ['sha256', 'sha512', 'md5', 'sha1']],
    [
      ['Content-MD5', 'Repr-Digest'],
      ['sha256', 'sha512', 'md5'],
    ],
    [' ,, ', ['sha256']],
  ]
  for (const [trailer, algorithms] of table)
    assert.deepEqual(trailerAlgorithms({ trailer }), algorithms, String(trailer))
})

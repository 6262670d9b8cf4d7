import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { LATER_OVERLAP, RESUME_OVERLAP } from '../src/fetch/judge.js'
import { type Options, pull, type Result } from '../src/index.js'
import { hashKey } from '../src/plan/naming.js'
import { filePath } from '../src/utils/file-path.js'
import { cleanup, outputFiles, tempDir } from './support/cli.js'
import { type ImageServer, startImageServer } from './support/image-server.js'
import { makeImage } from './support/images.js'
import { listenLocal, startRawServer } from './support/raw-server.js'
import { BODY_PATHS, resumeRange } from './support/resume.js'

// A file under its final name is the complete, current image: answers that would make a wrong
// file look right, modelled on public bug reports of curl, aria2, wget, gallery-dl, img2dataset.

let server: ImageServer
let dir: string
let n = 0
before(async () => {
  server = await startImageServer()
  dir = await tempDir()
})
after(async () => {
  await server.close()
  await cleanup(dir)
})

async function get(urls: string[], options: Options = {}) {
  const out = filePath('out', options.out ?? join(dir, `run-${++n}`))
  const results: Result[] = []
  for await (const r of pull(urls, { out, journal: false, ...options })) results.push(r)
  return { out, results, one: results[0] }
}

const requests = (path: string) => server.log.filter((l) => l.url === path)

/**
 * A file cut at every answer waits out a backoff at each restart, the machine idle meanwhile: the
 * cases of such a test (marked `{ concurrency: true }`) run as subtests at once, `at(where)`
 * giving each body path a URL of its own (the server counts a URL's requests, and the test reads
 * them: a case must see its own alone).
 */
const at = (where: string) => `&on=${where.replace(/\W+/g, '-')}`

/** The one file in `out` is exactly `expected`. */
async function holds(out: string, name: string, expected: Buffer) {
  assert.deepEqual(await outputFiles(out), [name])
  assert.ok((await readFile(join(out, name))).equals(expected), `${name} is not the expected bytes`)
  assert.deepEqual(await readdir(join(out, '.imgpull', 'parts')), [], 'no part file left')
}

/**
 * Fetch `path`, a 200,000-byte file whose server cuts every answer after 30,000 bytes: it comes
 * whole, never restarted, each resume asking again for the last `RESUME_OVERLAP` bytes on disk.
 * The requests it sent, and the output folder.
 */
async function resumedAtEveryCut(path: string, options: Options) {
  const at = requests(path).length
  const { out, one } = await get([server.url(path)], { retries: 2, ...options })
  assert.equal(one.status, 'ok', one.message)
  assert.equal(one.sha256, createHash('sha256').update(server.bytes(path)).digest('hex'))
  const onDisk = [30_000]
  while (onDisk.at(-1)! < 200_000) onDisk.push(onDisk.at(-1)! + 30_000 - RESUME_OVERLAP)
  const sent = requests(path).slice(at)
  assert.deepEqual(
    sent.map((r) => r.headers.range),
    [undefined, ...onDisk.slice(0, -1).map(resumeRange)],
    'never restarted; each resume asks RESUME_OVERLAP again',
  )
  return { out, sent }
}

/** Nothing kept: no file under a final name, no part file. */
/**
 * Fetch `path` (kept as `name`), a 200,000-byte file behind a link that cuts every answer: it
 * comes whole, its last request a Range without If-Range (each answer proving itself, see
 * `unprovenSplice`).
 */
async function provedItself(path: string, name: string, options: Options) {
  const at = requests(path).length
  const { out, one } = await get([server.url(path)], options)
  assert.equal(one.status, 'ok', one.message)
  assert.equal(one.sha256, createHash('sha256').update(server.bytes(path)).digest('hex'))
  const sent = requests(path).slice(at)
  assert.equal(sent.at(-1)?.headers['if-range'], undefined)
  assert.match(sent.at(-1)?.headers.range ?? '', /^bytes=[1-9]\d*-$/)
  if (!options.outputFormat) await holds(out, name, server.bytes(path))
}

async function nothing(out: string) {
  assert.deepEqual(await outputFiles(out), [])
  assert.deepEqual(await readdir(join(out, '.imgpull', 'parts')), [])
}

/** Fetch `path`, a file cut at every answer whose answers are of other versions: it fails cut, nothing joined or kept. */
async function neverJoined(path: string, retries: number) {
  const { out, one } = await get([server.url(path)], { retries })
  assert.equal(one.status, 'failed')
  assert.equal(one.error, 'truncated', one.message)
  await nothing(out)
}

test('a 206 to a plain GET is whole only when its Content-Range says so: the rest comes with Range', async () => {
  const path = '/partial-get?size=33119&partial=11039'
  const { out, one } = await get([server.url(path)])
  assert.equal(one.status, 'ok', one.message)
  assert.equal(one.attempts, 1, 'continuing a partial answer is not a retry')
  await holds(out, 'partial-get.jpg', server.bytes(path))
  const sent = requests(path)
  // Each continuation asks again for the last LATER_OVERLAP bytes, in case another server answers.
  assert.deepEqual(
    sent.map((r) => r.headers.range),
    [undefined, 11_039, 21_054, 31_069].map((n) => n && `bytes=${n - LATER_OVERLAP}-`),
  )
  assert.equal(sent[1]?.headers['if-range'], '"v1-33119"', 'each continuation proves the same version')
})

test('a 206 to a plain GET without a validator: the rest comes too, each answer proving itself', async () => {
  // It was refused as bad-range at every attempt: "no validator to continue safely".
  const path = '/partial-bare?size=33119&partial=11039&lmonly=1&nolm=1'
  const { out, one } = await get([server.url(path)])
  assert.equal(one.status, 'ok', one.message)
  assert.equal(one.attempts, 1)
  await holds(out, 'partial-bare.jpg', server.bytes(path))
  const sent = requests(path)
  // Without a validator each continuation asks again for RESUME_OVERLAP bytes, not LATER_OVERLAP.
  const ends = [11_039]
  while (ends.at(-1)! < 33_119) ends.push(ends.at(-1)! - RESUME_OVERLAP + 11_039)
  assert.deepEqual(
    sent.map((r) => r.headers.range),
    [undefined, ...ends.slice(0, -1).map(resumeRange)],
  )
  assert.ok(sent.every((r) => r.headers['if-range'] === undefined))
})

test('a server that caps every answer at no more than the bytes asked again: each part still moves the file on, one proven by those bytes alone too', async () => {
  // Each request for the rest asked again for the last LATER_OVERLAP bytes on disk, all an answer
  // carried: the same request again and again (116,779 in 40 s for one 100 KB file), until twice
  // --total-timeout.
  const path = '/capped-small?size=60000&partial=1000'
  const { out, one } = await get([server.url(path)], { retries: 3, totalTimeout: 60_000 })
  assert.equal(one.status, 'ok', one.message)
  await holds(out, 'capped-small.jpg', server.bytes(path))
  const ranges = requests(path).map((r) => r.headers.range)
  assert.ok(ranges.length < 200, `${ranges.length} requests for 60,000 bytes`)
  assert.ok(
    ranges.slice(1).every((range, i) => range !== ranges[i]),
    'never the same range twice in a row',
  )
  // Without a validator, the bytes compared are all the proof: each later part asks again for half
  // the part before (1,500 bytes), as the parts of a file of unknown size do (see framing.test.ts),
  // the image's structure checked at the end. It was refused as bad-range ('only 1500 bytes on
  // disk asked for again, and no validator proves the file unchanged').
  const bare = '/capped-bare?size=60000&partial=3000&lmonly=1&nolm=1'
  const capped = await get([server.url(bare)], { retries: 1, totalTimeout: 60_000 })
  assert.equal(capped.one.status, 'ok', capped.one.message)
  await holds(capped.out, 'capped-bare.jpg', server.bytes(bare))
  assert.ok(requests(bare).length <= 60_000 / 1500 + 2, `${requests(bare).length} requests`)
})

test('a server that caps every answer a few bytes over the bytes asked again: each part brings at least half of it new', async () => {
  // Each request for the rest asked again for the last LATER_OVERLAP (1,024) bytes of an answer
  // capped at 1,030: 6 new bytes an answer, 390 requests for a 3.4 KB file.
  const path = '/capped-over?size=20000&partial=1030'
  const { out, one } = await get([server.url(path)], { retries: 0, totalTimeout: 60_000 })
  assert.equal(one.status, 'ok', one.message)
  await holds(out, 'capped-over.jpg', server.bytes(path))
  assert.ok(
    requests(path).length <= 2 * (20_000 / 1030),
    `${requests(path).length} requests for 20,000 bytes`,
  )
})

test('capped answers whose total is a byte over the file: the first answer for the rest that brings nothing past the bytes on disk restarts the file, saying so', async () => {
  // Each such answer halved the bytes asked again: 11 requests bringing nothing, until a 416 told
  // the size (364 requests in 6 attempts for one 23 KB file).
  const path = '/capped-lietotal?size=23902&partial=7401&lietotal=1'
  const { out, one } = await get([server.url(path)], { retries: 0, totalTimeout: 60_000 })
  assert.equal(one.error, 'bad-range', one.message)
  assert.match(one.message ?? '', /\(its answers end at byte 23901, short of the 23903 bytes they state\)$/)
  // Four answers a whole, four times (the first and three restarts).
  assert.ok(requests(path).length <= 4 * 5, `${requests(path).length} requests`)
  await nothing(out)
})

test('a file whose restarts run out names itself once: the reason quoted is said without the URL again', async () => {
  // A new version at every answer, capped, and no validator in its 206s: each join finds other
  // bytes. Its line read `URL: the server's answers cannot be put together (URL: the file changed
  // under the same validators ...)`.
  const path = '/capped-rotating?size=17629&partial=7068&rotate=1&bare206=1'
  const { one } = await get([server.url(path)], { retries: 0, totalTimeout: 60_000 })
  assert.equal(one.error, 'bad-range', one.message)
  assert.equal(one.message?.split(server.url(path)).length, 2, one.message)
  // No validator named where none proves the file (the words were 'the file changed under the
  // same validators', its 206s sending none).
  assert.match(
    one.message ?? '',
    /cannot be put together \(the bytes before byte \d+ differ from those on disk \(the file changed, or the server's range is not the one it names; no validator proves the file unchanged\)\)$/,
  )
})

test('a server that ignores Range and caps every answer, each a 206 from byte 0 ending at the bytes on disk: a bad-range in few requests, not a request storm', async () => {
  // Its answer to the request for the rest, 206 bytes 0-3043/10630, ended where the bytes on disk
  // did: taken as a block-aligned cache's, it brought nothing new, and the same request went out
  // again, uncounted: 39,080 requests in 10 s for one file, until twice --total-timeout.
  const path = '/capped-norange?size=10630&partial=3044&norange=1'
  const { out, one } = await get([server.url(path)], { retries: 1, totalTimeout: 10_000 })
  assert.equal(one.error, 'bad-range', one.message)
  assert.match(one.message ?? '', /asked for bytes from \d+, got 0-3043/)
  assert.ok(requests(path).length <= 2 * 2 * 4, `${requests(path).length} requests`)
  await nothing(out)
})

test('a 206 that covers the whole file, to a plain GET, is the file', async () => {
  const path = '/partial-whole?size=20000&partial=20000'
  const { out, one } = await get([server.url(path)])
  assert.equal(one.status, 'ok', one.message)
  await holds(out, 'partial-whole.jpg', server.bytes(path))
  assert.equal(requests(path).length, 1)
  // The file whole, as a cut run that resumed it reports it too: a dataset's rows do not depend on where a run was cut.
  assert.equal(one.httpStatus, 200)
})

test('a 206 to a plain GET that does not start at byte 0 is never kept', async () => {
  const path = '/partial-shifted?size=50000&partial=20000&shift=500'
  const { out, one } = await get([server.url(path)], { retries: 0 })
  assert.equal(one.status, 'failed')
  assert.equal(one.error, 'bad-range')
  assert.match(one.message ?? '', /asked for bytes from 0, got 500-20499/)
  await nothing(out)
})

test('a resumed 206 that starts anywhere but the byte asked for is never appended: the file restarts', async () => {
  const path = '/resume-shifted?size=2000000&reset=1000000&times=1&shift=100'
  const { out, one } = await get([server.url(path)])
  assert.equal(one.status, 'ok', one.message)
  await holds(out, 'resume-shifted.jpg', server.bytes(path))
  const ranges = requests(path).map((r) => r.headers.range)
  assert.equal(ranges.length, 3)
  assert.match(String(ranges[1]), /^bytes=\d+-$/)
  assert.equal(ranges[2], undefined, 'the restart asks for the whole file')
})

// a cache that serves whole blocks (httrack#198, pip#14131) answers a resume from the
// start of the block, its Content-Range saying so: the file restarted from byte 0 every time, so
// on a link that cuts every long answer it never completed.
test('a resumed 206 that starts before the byte asked for, saying so, is used: the bytes before it passed over', async () => {
  const path = '/resume-earlier?size=2000000&reset=1000000&times=1&shift=-65536'
  const { out, one } = await get([server.url(path)])
  assert.equal(one.status, 'ok', one.message)
  await holds(out, 'resume-earlier.jpg', server.bytes(path))
  const ranges = requests(path).map((r) => r.headers.range)
  assert.equal(ranges.length, 2, 'no restart')
  assert.match(String(ranges[1]), /^bytes=\d+-$/)
})

test('a Content-Range whose total disagrees with the first answer restarts the file', async () => {
  const path = '/resume-total?size=2000000&reset=1000000&times=1&lietotal=1'
  const { out, one } = await get([server.url(path)])
  assert.equal(one.status, 'ok', one.message)
  await holds(out, 'resume-total.jpg', server.bytes(path))
  assert.equal(requests(path).at(-1)?.headers.range, undefined)
})

test('a resume answered 200 with only the tail is never kept as the file: the whole is asked for again; one naming its range and length is joined as its 206', async (t) => {
  // Buggy range handlers: the tail under a 200, with its Content-Range, with its length alone,
  // or with neither (no length, no range: only the body shows it is not the file).
  for (const tail of ['cr', '1', '1&nolength=1', '1&nolength=1&lmonly=1', 'cr&nolength=1']) {
    await t.test(`tail200=${tail}`, async () => {
      const path = `/tail200-${tail.length}?size=300000&reset=150000&times=1&tail200=${tail}`
      const { out, one } = await get([server.url(path)])
      assert.equal(one.status, 'ok', one.message)
      await holds(out, `tail200-${tail.length}.jpg`, server.bytes(path))
      const ranges = requests(path).map((r) => r.headers.range)
      assert.match(String(ranges[1]), /^bytes=\d+-$/, 'the cut file was resumed')
      // its Content-Range and Content-Length say exactly what it is (nginx before
      // ModelScope, modelscope_hub#50): the part, proven as a 206 is, as curl, wget2 and aria2 take it.
      if (tail === 'cr') assert.equal(ranges.length, 2, 'the tail joined to the bytes on disk')
      else assert.equal(ranges.at(-1), undefined, 'then the whole file asked for without Range')
    })
  }
  // Each answer cut: the file moved on only by such parts (it restarted, and never finished).
  await t.test('tail200=cr, every answer cut', async () => {
    const path = '/tail200-every?size=300000&every=70000&tail200=cr'
    const { out, one } = await get([server.url(path)])
    assert.equal(one.status, 'ok', one.message)
    await holds(out, 'tail200-every.jpg', server.bytes(path))
  })
})

test('a resume across versions is never spliced: Last-Modified only, If-Range ignored by the server', async () => {
  // Version 1 is cut at 60%; the server then has version 2 and answers the resume with its tail.
  const path = '/splice-lm?size=2000000&reset=1200000&times=1&rotate=1&lmonly=1&ifrange=ignore'
  const { out, one } = await get([server.url(path)])
  assert.equal(one.status, 'ok', one.message)
  const sent = requests(path)
  assert.equal(sent.length, 3, 'cut, refused resume, whole file')
  assert.match(String(sent[1]?.headers['if-range']), /GMT$/, 'the resume offered the date it had')
  await holds(out, 'splice-lm.jpg', makeImage('splice-lm#3', 2_000_000))
})

test('a Last-Modified in the second of its answer is weak (RFC 9110 §8.8.2.2): no If-Range, a restart', async () => {
  // Two versions written within one second carry one date: a resume "proven" by it would splice.
  // Resumed in the run without it (see `unprovenSplice`), the bytes compared tell them apart.
  const path = '/fresh-lm?size=1500000&reset=800000&times=1&rotate=1&lmonly=1&lmfresh=1&ifrange=ignore'
  const { out, one } = await get([server.url(path)])
  assert.equal(one.status, 'ok', one.message)
  const sent = requests(path)
  assert.ok(
    sent.every((r) => r.headers['if-range'] === undefined),
    'no date offered as proof',
  )
  assert.equal(sent.at(-1)?.headers.range, undefined, 'restarted from byte 0')
  await holds(out, 'fresh-lm.jpg', makeImage(`fresh-lm#${sent.length}`, 1_500_000))
})

test('a Last-Modified less than a minute before its Date is weak: the two may come from two clocks (RFC 9110 §8.8.2.2)', async () => {
  // Files written by a host whose clock is 30 s behind the server's: the photo is written again
  // within the second of its Last-Modified, after the first answer. A resume "proven" by that date
  // joins the two once the overlap was compared (later resumes in a run ask from the next byte).
  const v1 = makeImage('skewed-v1', 100_000)
  const v2 = makeImage('skewed-v2', 100_000)
  const lastModified = new Date(Math.floor(Date.now() / 1000) * 1000 - 30_000).toUTCString()
  const sent: (string | undefined)[] = []
  let answers = 0
  const origin = await listenLocal(
    createHttpServer((req, res) => {
      sent.push(req.headers.range)
      const from = req.headers.range ? Number(/bytes=(\d+)-/.exec(req.headers.range)![1]) : 0
      const headers = { 'content-type': 'image/jpeg', 'last-modified': lastModified }
      if (answers++ === 0) {
        // The first answer is cut after 40,000 bytes.
        res.writeHead(200, { ...headers, 'content-length': v1.length })
        res.write(v1.subarray(0, 40_000), () => req.socket.resetAndDestroy())
        return
      }
      if (!req.headers.range) {
        res.writeHead(200, { ...headers, 'content-length': v2.length })
        res.end(v2)
        return
      }
      // The resume that compares the overlap gets the first version up to byte 60,000, then a cut;
      // the next, from byte 60,000, the second version's rest under the same date.
      const file = from < 40_000 ? v1 : v2
      res.writeHead(206, {
        ...headers,
        'content-length': file.length - from,
        'content-range': `bytes ${from}-${file.length - 1}/${file.length}`,
      })
      if (file === v2) res.end(file.subarray(from))
      else res.write(file.subarray(from, 60_000), () => req.socket.resetAndDestroy())
    }),
  )
  try {
    const url = origin.url('/skewed.jpg')
    const { out, one } = await get([url], { retries: 3 })
    assert.equal(one.status, 'ok', one.message)
    // Resumed in the run without it (see `unprovenSplice`): each resume compares RESUME_OVERLAP
    // bytes, and the second version's differ, so the file is asked for whole again.
    assert.ok(sent.length > 2)
    assert.equal(sent.at(-1), undefined, 'restarted from byte 0')
    await holds(out, 'skewed.jpg', v2)
  } finally {
    await origin.close()
  }
})

test("a Last-Modified that is each answer's own time (contao/core#8773) is no new version: a file cut at every answer finishes, with an ETag, without one, or with one new at every answer", {
  concurrency: true,
}, async (t) => {
  // A script that stamps every answer Last-Modified: now, its Date: compared as a validator,
  // every resume was "another version" and started over, however strong the ETag, and behind
  // a link that cuts every answer the file never finished ("Last-Modified ... became ..."). Nor
  // was an ETag new at every answer (background_downloader#541) seen as proving nothing, the
  // dates differing too.
  const file = makeImage('stamped', 100_000)
  const runs: Promise<void>[] = []
  for (const etag of ['fixed', 'none', 'new at every answer'] as const) {
    // Each waits out a backoff at its cuts: the cases run at once.
    const run = t.test(etag, async () => {
      let clock = Date.parse('2026-01-01T00:00:00Z')
      const ranges: (string | undefined)[] = []
      let wholes = 0
      const origin = await listenLocal(
        createHttpServer((req, res) => {
          ranges.push(req.headers.range)
          clock += 2000
          const now = new Date(clock).toUTCString()
          const tag =
            etag === 'fixed' ? '"stamped-v1"' : etag === 'none' ? undefined : `"node-${ranges.length}"`
          const ifRange = req.headers['if-range']
          const from =
            req.headers.range && (ifRange === undefined || ifRange === tag)
              ? Number(/bytes=(\d+)-/.exec(req.headers.range)![1])
              : 0
          const body = file.subarray(from)
          const headers = {
            'content-type': 'image/jpeg',
            'content-length': body.length,
            'last-modified': now,
            date: now,
            ...(tag ? { etag: tag } : {}),
          }
          if (from > 0)
            res.writeHead(206, {
              ...headers,
              'content-range': `bytes ${from}-${file.length - 1}/${file.length}`,
            })
          else res.writeHead(200, headers)
          if (from === 0) wholes++
          if (body.length <= 30_000) return void res.end(body)
          res.write(body.subarray(0, 30_000), () => req.socket.resetAndDestroy())
        }),
      )
      try {
        const { out, one } = await get([origin.url('/stamped.jpg')], { retries: 2 })
        assert.equal(one.status, 'ok', `${etag}: ${one.message}`)
        await holds(out, 'stamped.jpg', file)
        // Never started over; with a new ETag at every answer, once: the whole answer to the first
        // resume shows it (see `etagShifted`).
        assert.equal(wholes, etag === 'new at every answer' ? 2 : 1, `${etag}: ${ranges.join(', ')}`)
      } finally {
        await origin.close()
      }
    })
    runs.push(run)
  }
  await Promise.all(runs)
})

// RFC 9110 §5.6.7: one instant may come in three forms (IMF-fixdate, RFC 850's, asctime's), and a
// recipient reads them all. Two backends behind one name (an old one writing RFC 850, say) sent
// the file's one Last-Modified in two of them: compared as text, every resume was "another version"
// and restarted from byte 0, and over a link that cuts every answer the file never finished.
test('a Last-Modified is compared as the instant it names: the same date in another form, spacing or case resumes; another date never splices', async (t) => {
  const modified = new Date(Math.floor(Date.now() / 1000) * 1000 - 86_400_000)
  const day = modified.toUTCString().slice(0, 3)
  const long = {
    Sun: 'Sunday',
    Mon: 'Monday',
    Tue: 'Tuesday',
    Wed: 'Wednesday',
    Thu: 'Thursday',
    Fri: 'Friday',
    Sat: 'Saturday',
  }[day]
  const [, dd, mon, yyyy, time] = modified.toUTCString().split(' ')
  const forms = {
    imf: modified.toUTCString(),
    rfc850: `${long}, ${dd}-${mon}-${yyyy.slice(2)} ${time} GMT`,
    asctime: `${day} ${mon} ${String(Number(dd)).padStart(2, ' ')} ${time} ${yyyy}`,
    spaced: `${day.toLowerCase()},  ${dd} ${mon.toUpperCase()} ${yyyy} ${time} gmt`,
  }
  /** A server that cuts each answer after `cut` bytes, its nth answer dated by `dated(n)` and carrying `file(n)`. */
  async function serve(dated: (n: number) => string, file: (n: number) => Buffer, cut: number) {
    const sent: (string | undefined)[] = []
    const origin = await listenLocal(
      createHttpServer((req, res) => {
        const n = sent.push(req.headers.range) - 1
        const body = file(n)
        const from = req.headers.range ? Number(/bytes=(\d+)-/.exec(req.headers.range)![1]) : 0
        const headers = {
          'content-type': 'image/jpeg',
          'last-modified': dated(n),
          'content-length': body.length - from,
          ...(from > 0 ? { 'content-range': `bytes ${from}-${body.length - 1}/${body.length}` } : {}),
        }
        res.writeHead(from > 0 ? 206 : 200, headers)
        if (body.length - from <= cut) res.end(body.subarray(from))
        else res.write(body.subarray(from, from + cut), () => req.socket.resetAndDestroy())
      }),
    )
    return { sent, origin }
  }
  for (const [name, other] of Object.entries(forms).filter(([name]) => name !== 'imf')) {
    await t.test(`IMF-fixdate, then ${name}: ${other}`, async () => {
      const image = makeImage(`two-forms-${name}`, 200_000)
      const { sent, origin } = await serve(
        (n) => (n % 2 ? other : forms.imf),
        () => image,
        60_000,
      )
      try {
        const { out, one } = await get([origin.url(`/two-forms-${name}.jpg`)], { retries: 6 })
        assert.equal(one.status, 'ok', one.message)
        assert.ok(
          sent.slice(1).every((range) => range !== undefined),
          `never restarted: ${sent.join(' | ')}`,
        )
        await holds(out, `two-forms-${name}.jpg`, image)
      } finally {
        await origin.close()
      }
    })
  }
  await t.test('another date, in RFC 850 form, is another version: never spliced', async () => {
    const v1 = makeImage('later-date-v1', 200_000)
    const v2 = makeImage('later-date-v2', 200_000)
    const later = new Date(modified.getTime() + 3_600_000)
    const [, dd2, mon2, yyyy2, time2] = later.toUTCString().split(' ')
    const changed = `${long}, ${dd2}-${mon2}-${yyyy2.slice(2)} ${time2} GMT`
    const { sent, origin } = await serve(
      (n) => (n === 0 ? forms.imf : changed),
      (n) => (n === 0 ? v1 : v2),
      120_000,
    )
    try {
      const { out, one } = await get([origin.url('/later-date.jpg')], { retries: 3 })
      assert.equal(one.status, 'ok', one.message)
      assert.match(String(sent[1]), /^bytes=\d+-$/, 'the resume asked for its range')
      assert.equal(sent[2], undefined, 'its answer, another date, restarted the file from byte 0')
      await holds(out, 'later-date.jpg', v2)
    } finally {
      await origin.close()
    }
  })
})

// RFC 9110 §8.8.3: an entity-tag is a quoted string. Some servers send a bare value (rustfs's S3
// objects, rustfs/rustfs#611; Azure Blob's older API versions, curl#5610; Go's go-http-utils/etag,
// go-http-utils/etag#3; ESPAsyncWebServer before #367). A server reads an If-Range that does not
// start with a quote as a date (Go's net/http checkIfRange, nginx, Apache, Node's send): a resume
// that offered the bare value got the whole file each time, and behind a link that cuts every
// answer the file never finished. curl -C - and wget2 -c send no If-Range and resume it.
test('an ETag without its quotes is no entity-tag: a resume offers the Last-Modified, or resumes in the run without If-Range', async (t) => {
  const modified = new Date(Math.floor(Date.now() / 1000) * 1000 - 86_400_000).toUTCString()
  const variants = {
    'with a Last-Modified': [true, false, false],
    alone: [false, false, false],
    'a new one at every answer': [true, true, false],
    // A presigned URL, a new signature at each redirect (an S3-compatible store such as rustfs):
    // the same ETag shows the same file at another URL, quoted or not.
    'behind a redirect to a new signed URL each time': [true, false, true],
  }
  for (const [variant, [dated, rotating, signed]] of Object.entries(variants)) {
    await t.test(variant, async () => {
      const image = makeImage(`bare-etag-${dated}-${rotating}-${signed}`, 200_000)
      let signatures = 0
      const etags = ['d2a1cbe1405f80f445505287713280ab']
      const sent: { range?: string; ifRange?: string }[] = []
      // Go's ServeContent: If-Range is an entity-tag when it starts with a quote, else a date.
      const origin = await listenLocal(
        createHttpServer((req, res) => {
          if (signed && !req.url!.startsWith('/object'))
            return res.writeHead(302, { location: `/object?X-Amz-Signature=${++signatures}` }).end()
          const ifRange = req.headers['if-range'] as string | undefined
          sent.push({ range: req.headers.range, ifRange })
          // Backends that each name the file their own way (background_downloader#541).
          if (rotating) etags.push(`${etags[0]}-${sent.length}`)
          const etag = etags.at(-1)!
          const fresh =
            ifRange === undefined ||
            (/^(W\/)?"/.test(ifRange)
              ? ifRange === etag
              : dated && Date.parse(ifRange) === Date.parse(modified))
          const from = req.headers.range && fresh ? Number(/bytes=(\d+)-/.exec(req.headers.range)![1]) : 0
          res.writeHead(from > 0 ? 206 : 200, {
            'content-type': 'image/jpeg',
            etag,
            ...(dated ? { 'last-modified': modified } : {}),
            'content-length': image.length - from,
            ...(from > 0 ? { 'content-range': `bytes ${from}-${image.length - 1}/${image.length}` } : {}),
          })
          if (image.length - from <= 60_000) res.end(image.subarray(from))
          else res.write(image.subarray(from, from + 60_000), () => req.socket.resetAndDestroy())
        }),
      )
      try {
        const name = `bare-etag-${dated}-${rotating}-${signed}.jpg`
        const { out, one } = await get([origin.url(`/${name}`)], { retries: 6 })
        assert.equal(one.status, 'ok', one.message)
        // A second ETag, all else the same, proves nothing: one restart, then resumes.
        assert.ok(
          sent.slice(rotating ? 3 : 1).every((r) => r.range !== undefined),
          `never restarted: ${sent.map((r) => r.range).join(' | ')}`,
        )
        // Once a second ETag came, the date is taken as weak too: nothing is offered.
        assert.deepEqual(
          [...new Set(sent.slice(1).map((r) => r.ifRange))],
          rotating ? [modified, undefined] : [dated ? modified : undefined],
          'the date offered, or nothing',
        )
        await holds(out, name, image)
      } finally {
        await origin.close()
      }
    })
  }
})

/**
 * A server that states `lines` (validators) beside each answer's length and range: a 200 from byte
 * 0, a 206 from a Range's first byte, whatever its If-Range says; the first answer is cut after
 * 60,000 bytes, the rest go whole. `sent`: each request's Range start and If-Range.
 */
async function validatorServer(image: Buffer, lines: string[]) {
  const sent: { range?: string; ifRange?: string }[] = []
  const origin = await startRawServer((socket) => {
    socket.once('data', (data) => {
      const request = data.toString('latin1')
      const range = /\r\nrange: bytes=(\d+)-/i.exec(request)
      sent.push({ range: range?.[1], ifRange: /\r\nif-range: ([^\r]*)/i.exec(request)?.[1] })
      const from = range ? Number(range[1]) : 0
      const head = [
        from > 0 ? 'HTTP/1.1 206 Partial Content' : 'HTTP/1.1 200 OK',
        'Content-Type: image/jpeg',
        `Date: ${new Date().toUTCString()}`,
        ...lines,
        `Content-Length: ${image.length - from}`,
        ...(from > 0 ? [`Content-Range: bytes ${from}-${image.length - 1}/${image.length}`] : []),
      ]
      const answer = Buffer.concat([
        Buffer.from(`${head.join('\r\n')}\r\n\r\n`, 'latin1'),
        image.subarray(from),
      ])
      if (sent.length > 1) socket.end(answer)
      else socket.write(answer.subarray(0, 60_000), () => socket.resetAndDestroy())
    })
  })
  return { origin, sent }
}

// llhttp, lenient as curl is, passes control characters in an answer's header values; undici
// refuses to send one in a request (`invalid if-range header`). An ETag of raw bytes (an embedded
// server's hash) or a Last-Modified with a stray byte after it was offered back in the If-Range of
// every resume: each failed before it was sent, as a `network` error, every attempt and rerun,
// though the server gave the rest to any resume. RFC 9110 §8.8.3's entity-tag holds no control
// character: such a value is no validator a request can carry, as a bare ETag is none.
test('a validator with a control character in it is offered in no If-Range: the file resumes without it, or with the other validator', async (t) => {
  const modified = new Date(Math.floor(Date.now() / 1000) * 1000 - 86_400_000).toUTCString()
  const variants: Record<string, { lines: string[]; ifRange: string | undefined }> = {
    'an ETag with a control character': { lines: ['ETag: "5f\x01a9"'], ifRange: undefined },
    'an ETag with a NUL': { lines: ['ETag: "5f\x00a9"'], ifRange: undefined },
    'an ETag with a DEL, beside a Last-Modified': {
      lines: ['ETag: "5f\x7fa9"', `Last-Modified: ${modified}`],
      ifRange: modified,
    },
    'a Last-Modified with a control character after it': {
      lines: [`Last-Modified: ${modified}\x01`],
      ifRange: undefined,
    },
  }
  for (const [variant, { lines, ifRange }] of Object.entries(variants)) {
    await t.test(variant, async () => {
      const name = `ctl-${variant.replace(/\W+/g, '-')}.jpg`
      const image = makeImage(name, 200_000)
      const { origin, sent } = await validatorServer(image, lines)
      try {
        const { out, one } = await get([origin.url(`/${name}`)], { retries: 2 })
        assert.equal(one.status, 'ok', one.message)
        assert.equal(sent.length, 2, 'the first answer, then one resume')
        assert.ok(sent[1].range !== undefined, 'resumed')
        assert.equal(sent[1].ifRange, ifRange)
        await holds(out, name, image)
      } finally {
        await origin.close()
      }
    })
  }
})

// RFC 9112 §5: white space may follow a field value (OWS), and RFC 9110 §5.5 has a recipient leave
// it out, as curl and wget2 do; llhttp kept it on the value. `ETag: "5f1a" ` (a CGI script's
// header) was then no quoted entity-tag: never offered in If-Range, so a run after the one that
// was cut fetched the file again from byte 0 (its part thrown away), on every run.
test('white space after a validator is no part of it: a later run resumes the part with If-Range', async (t) => {
  const modified = new Date(Math.floor(Date.now() / 1000) * 1000 - 86_400_000).toUTCString()
  const variants: Record<string, { line: string; ifRange: string }> = {
    'an ETag and a space': { line: 'ETag: "5f1a" ', ifRange: '"5f1a"' },
    'an ETag and tabs and spaces': { line: 'ETag: "5f1a"\t \t', ifRange: '"5f1a"' },
    'a Last-Modified and a tab': { line: `Last-Modified: ${modified}\t`, ifRange: modified },
  }
  for (const [variant, { line, ifRange }] of Object.entries(variants)) {
    await t.test(variant, async () => {
      const name = `ows-${variant.replace(/\W+/g, '-')}.jpg`
      const image = makeImage(name, 200_000)
      const { origin, sent } = await validatorServer(image, [line])
      try {
        const out = join(dir, `run-${++n}`)
        const runs: Result[] = []
        for (let run = 0; run < 2; run++)
          for await (const r of pull([origin.url(`/${name}`)], { out, retries: 0 })) runs.push(r)
        assert.equal(runs[0].error, 'truncated')
        assert.equal(runs[1].status, 'ok', runs[1].message)
        assert.equal(sent.length, 2)
        assert.ok(sent[1].range !== undefined, 'the part resumed, not fetched again from byte 0')
        assert.equal(sent[1].ifRange, ifRange)
        assert.ok((await readFile(join(out, name))).equals(image))
      } finally {
        await origin.close()
      }
    })
  }
})

test('every validator is compared, whatever the server does with If-Range', async (t) => {
  const cases = {
    // A strong ETag that changed, on a server that serves the range anyway.
    'strong ETag changed': 'rotate=1&ifrange=ignore',
    // A weak ETag and a date: the date changed.
    'weak ETag, date changed': 'rotate=1&weaketag=1&ifrange=ignore',
    // The file did not change, but the 206 carries nothing that proves it: in the run that
    // fetched the part, the answer proves the join itself.
    'no validator in the 206': 'bare206=1',
    // Nor does a 206 of another version, served whatever If-Range says: its bytes differ.
    'no validator in the 206, another version': 'rotate=1&ifrange=ignore&bare206=1',
  }
  for (const [name, query] of Object.entries(cases)) {
    await t.test(name, async () => {
      const id = `v-${name.replace(/\W+/g, '-')}`
      const path = `/${id}?size=1500000&reset=800000&times=1&${query}`
      const { out, one } = await get([server.url(path)])
      assert.equal(one.status, 'ok', one.message)
      const sent = requests(path)
      if (query.includes('rotate'))
        assert.equal(sent.at(-1)?.headers.range, undefined, 'restarted from byte 0')
      else {
        assert.equal(sent.length, 2, 'the cut answer, then its resume')
        assert.match(String(sent.at(-1)?.headers.range), /^bytes=[1-9]\d*-$/, 'resumed')
      }
      const last = query.includes('rotate')
        ? makeImage(`${id}#${sent.length}`, 1_500_000)
        : server.bytes(path)
      await holds(out, `${id}.jpg`, last)
    })
  }
})

test('a 206 that leaves out the ETag its 200 carried is proven by its Last-Modified: a file cut at every answer finishes', async () => {
  // RFC 9110 §15.3.7 says a 206 must repeat it; without the fallback each resume restarted from
  // byte 0, and the file never finished.
  const path = '/no-etag-206?size=200000&every=30000&bare206=etag'
  const { out, one } = await get([server.url(path)], { retries: 2 })
  assert.equal(one.status, 'ok', one.message)
  const sent = requests(path)
  assert.equal(sent.at(-1)?.headers['if-range'], '"v1-200000"', 'resumed with the ETag in If-Range')
  assert.ok(
    sent.slice(1).every((r) => r.headers.range !== undefined),
    'never restarted',
  )
  await holds(out, 'no-etag-206.jpg', server.bytes(path))
})

test('a 206 that repeats no validator (RFC 9110 §15.3.7 leaves Last-Modified out under If-Range): a file cut at every answer finishes in the run; a later run starts it over', {
  concurrency: true,
}, async (t) => {
  // Each resume of a part known by its Last-Modified alone, answered as RFC 9110 §15.3.7 asks (no
  // Last-Modified in a 206 to If-Range), or of one known by its ETag alone whose range handler
  // sends it on 200s only, started over from byte 0: behind a link that cuts every answer the
  // file failed as truncated after every attempt. In the run that fetched the part, the 206
  // proves the join as one to a part without validators does: the very byte asked for, the same
  // total, the last RESUME_OVERLAP bytes on disk compared (at every resume), If-Range still sent.
  const cases = { 'Last-Modified only': 'lmonly=1', 'ETag only': 'nolm=1' }
  const runs: Promise<void>[] = []
  for (const [kind, query] of Object.entries(cases)) {
    for (const [name, options] of Object.entries(BODY_PATHS)) {
      const run = t.test(`${kind}, ${name}`, async () => {
        const path = `/quiet-206-${kind.replace(/\W+/g, '-')}?size=200000&every=30000&bare206=1&${query}${at(name)}`
        const { out, sent } = await resumedAtEveryCut(path, options)
        assert.ok(
          sent.slice(1).every((r) => r.headers['if-range'] !== undefined),
          'If-Range still sent',
        )
        if (!options.outputFormat) await holds(out, `${path.split('?')[0].slice(1)}.jpg`, server.bytes(path))
      })
      runs.push(run)
    }
  }
  const later = t.test('a later run', async () => {
    const path = '/quiet-206-later?size=200000&every=30000&bare206=1&lmonly=1'
    const out = join(dir, 'quiet-later')
    const first = await get([server.url(path)], { out, journal: true, retries: 0 })
    assert.equal(first.one.error, 'truncated', first.one.message)
    const at = requests(path).length
    const again = await get([server.url(path)], { out, journal: true, retries: 0 })
    assert.equal(again.one.error, 'truncated', again.one.message)
    assert.deepEqual(
      requests(path)
        .slice(at)
        .map((r) => r.headers.range),
      [resumeRange(30_000), undefined],
      'the part of an earlier run is not joined on the answer alone: the file starts over',
    )
  })
  await Promise.all([...runs, later])
})

test('a weak ETag alone proves nothing: a cut file is resumed in the run only as one without a validator is', async () => {
  const path = '/weak-only?size=1500000&reset=800000&times=1&weaketag=1&nolm=1'
  const { out, one } = await get([server.url(path)])
  assert.equal(one.status, 'ok', one.message)
  // No If-Range (a weak ETag may not go in one): the length, the start and the bytes compared prove it.
  const sent = requests(path)
  assert.equal(sent.length, 2)
  assert.equal(sent[0].headers.range, undefined)
  assert.match(sent[1].headers.range ?? '', /^bytes=[1-9]\d*-$/)
  assert.equal(sent[1].headers['if-range'], undefined)
  await holds(out, 'weak-only.jpg', server.bytes(path))
})

test('a request that dies on a reused keep-alive connection is sent again at once, not retried', async () => {
  const dropping = await startImageServer({ dropReused: true })
  try {
    const urls = Array.from({ length: 30 }, (_, i) => dropping.url(`/reused-${i}`))
    const { results } = await get(urls, { retries: 0, perHost: 4 })
    const failed = results.filter((r) => r.status !== 'ok')
    assert.deepEqual(
      failed.map((r) => r.message),
      [],
    )
    assert.ok(results.every((r) => r.attempts === 1))
    assert.ok(dropping.stats.requests > 30, 'some requests did meet a closed connection')
  } finally {
    await dropping.close()
  }
})
test('a 408 on a reused keep-alive connection sends the request again at once, as a close there does (okhttp#1693)', async () => {
  // Kestrel, RDFox and others answer a request on a connection past their idle timeout with
  // 408 and Connection: close, where others close it without a word. Each was a failed attempt
  // with backoff, and with --retries 0 a failed file.
  const timing = await startImageServer({ timeoutReused: true })
  try {
    const urls = Array.from({ length: 30 }, (_, i) => timing.url(`/reused-${i}`))
    const { results } = await get(urls, { retries: 0, perHost: 4 })
    assert.deepEqual(
      results.filter((r) => r.status !== 'ok').map((r) => r.message),
      [],
    )
    assert.ok(results.every((r) => r.attempts === 1))
    assert.ok(timing.stats.requests > 30, 'some requests did meet a 408 on a reused connection')
  } finally {
    await timing.close()
  }
})
// The 408's own body, thrown away, was waited for a second (the dump's bound) before the request
// went again, where every other body thrown away is waited for 100 ms at most (see `discard`): a
// 408 whose body never came (its head sent with a length, then silence) held the file, and cut
// its connection, before the replay went out.
test('a 408 on a reused connection whose body never comes is sent again without waiting for it (its connection drained apart)', async () => {
  const img = makeImage('replay-408', 4000)
  const served = new WeakMap<object, number>()
  let timedOut: { closed: boolean } | undefined
  const openAtReplay: boolean[] = []
  const origin = await listenLocal(
    createHttpServer((req, res) => {
      const n = (served.get(req.socket) ?? 0) + 1
      served.set(req.socket, n)
      if (n > 1) {
        const state = { closed: false }
        timedOut = state
        req.socket.once('close', () => {
          state.closed = true
        })
        res.writeHead(408, { 'content-type': 'text/html', 'content-length': 100 })
        return void res.flushHeaders()
      }
      if (req.url === '/b.jpg' && timedOut) openAtReplay.push(!timedOut.closed)
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': img.length }).end(img)
    }),
  )
  const base = origin.origin
  try {
    const { results } = await get([`${base}/a.jpg`, `${base}/b.jpg`], { retries: 0, concurrency: 1 })
    assert.deepEqual(
      results.map((r) => r.status),
      ['ok', 'ok'],
    )
    assert.deepEqual(openAtReplay, [true], 'sent again only once the 408 let its connection go')
  } finally {
    await origin.close()
  }
})
test('a connection is reused within a short Keep-Alive hint (timeout=1, timeout=2), as curl reuses it', async () => {
  // undici drops a connection when the server's hint less its margin (2 s by default) leaves
  // nothing: a server saying timeout=1 or 2 got a new connection, and a TLS handshake, per file.
  const body = makeImage('ka', 300, 'png')
  for (const hint of [1, 2]) {
    let connections = 0
    const server = createHttpServer((_, res) => {
      res.writeHead(200, {
        'Content-Type': 'image/png',
        'Content-Length': body.length,
        'Keep-Alive': `timeout=${hint}`,
      })
      res.end(body)
    })
    server.keepAliveTimeout = hint * 1000
    server.on('connection', () => connections++)
    const { origin, close } = await listenLocal(server)
    try {
      const urls = Array.from({ length: 12 }, (_, i) => `${origin}/ka-${hint}-${i}.png`)
      const { results } = await get(urls, { concurrency: 1, perHost: 1 })
      assert.ok(
        results.every((r) => r.status === 'ok'),
        results.map((r) => r.message).join('; '),
      )
      assert.ok(
        connections <= 2,
        `timeout=${hint}: ${connections} connections for 12 files one after another`,
      )
    } finally {
      await close()
    }
  }
})

test('a fresh connection reset before the answer is a failed attempt, retried with backoff, never replayed at once', async () => {
  // One connection per attempt, whether the reset comes before any byte of the answer or in its
  // status line: only a reused keep-alive connection may have been closed as we sent.
  for (const mode of ['reset', 'half']) {
    let connections = 0
    const tcp = await startRawServer((socket) => {
      connections++
      socket.on('error', () => {})
      socket.once('data', () => {
        if (mode === 'half') socket.write('HTTP/1.1 200 OK\r\nContent-Len')
        setTimeout(() => socket.resetAndDestroy(), 5)
      })
    })
    try {
      const url = tcp.url(`/${mode}.jpg`)
      const { one } = await get([url], { retries: 2 })
      assert.equal(one.status, 'failed')
      assert.equal(one.error, 'network', one.message)
      assert.equal(one.attempts, 3)
      assert.equal(connections, 3, `${mode}: one connection per attempt`)
    } finally {
      await tcp.close()
    }
  }
})

test('a body that ends early with no length is never kept: it is retried until whole', async (t) => {
  for (const framing of ['chunked', 'close']) {
    await t.test(framing, async () => {
      const path = `/early-${framing}?size=50000&end=27500&times=1${framing === 'close' ? '&close=1' : ''}`
      const { out, one } = await get([server.url(path)])
      assert.equal(one.status, 'ok', one.message)
      assert.equal(one.attempts, 2)
      await holds(out, `early-${framing}.jpg`, server.bytes(path))
      const cut = await get([server.url(`${path.replace('times=1', 'times=9')}&x=${framing}`)], {
        retries: 0,
      })
      assert.equal(cut.one.status, 'failed')
      assert.equal(cut.one.error, 'truncated')
      assert.deepEqual(await outputFiles(cut.out), [])
    })
  }
})

test('a server that holds a truncated file: the complete-length body still fails as truncated', async () => {
  const { out, one } = await get([server.url('/held-cut?size=50000&cut=27500')], { retries: 1 })
  assert.equal(one.status, 'failed')
  assert.equal(one.error, 'truncated')
  await nothing(out)
})

test('a server that holds a truncated file: once a retry brings the very same cut, marked whole again, no more retries are spent on it', async () => {
  // A failed upload on the origin (the image's first 27,500 bytes, served with their length): a
  // JPEG whose end never comes, PIL's 'image file is truncated' to a dataset's downloader
  // (PathologyDataScience/BCSS#5). Every retry got the same cut, the message already saying no
  // resume could continue it: 6 attempts a file, 8.5 s of backoff.
  const path = '/held-cut-again?size=50000&cut=27500'
  const { out, one } = await get([server.url(path)], { retries: 5 })
  assert.equal(one.status, 'failed')
  assert.equal(one.error, 'truncated')
  assert.equal(one.attempts, 2, one.message)
  assert.match(one.message!, /marked its answer whole at 27500 bytes .*: no resume could continue it/)
  await nothing(out)
})

test('a server that cuts every answer: each resume moves the file on, and such attempts do not use up the retries', async () => {
  const path = '/every-cut?size=200000&every=30000'
  // Three files, each cut at every answer (see `at`): fetched at once.
  const small = '/every-small?size=12000&every=3000'
  const [{ out, one }, cut, stuck] = await Promise.all([
    get([server.url(path)], { retries: 1 }),
    get([server.url(small)], { retries: 8 }),
    get([server.url('/every-stuck?size=200000&every=0')], { retries: 1 }),
  ])
  assert.equal(one.status, 'ok', one.message)
  // The first resume asks again for the last RESUME_OVERLAP bytes on disk, to compare them (once a
  // run); the next ones for the last LATER_OVERLAP only.
  const onDisk = [30_000, 30_000 - RESUME_OVERLAP + 30_000]
  while (onDisk.at(-1)! + 30_000 - LATER_OVERLAP < 200_000)
    onDisk.push(onDisk.at(-1)! + 30_000 - LATER_OVERLAP)
  assert.equal(one.attempts, onDisk.length + 1)
  assert.deepEqual(
    requests(path).map((r) => r.headers.range),
    [undefined, resumeRange(30_000), ...onDisk.slice(1).map((n) => `bytes=${n - LATER_OVERLAP}-`)],
  )
  // Cut every 3,000 bytes, under the overlap: the first resume compares all 3,000, the next go on
  // by 3,000 less LATER_OVERLAP.
  assert.equal(cut.one.status, 'ok', cut.one.message)
  const step = 3_000 - LATER_OVERLAP
  const later = Array.from({ length: Math.ceil((12_000 - 3_000) / step) }, (_, k) => 3_000 + k * step)
  assert.deepEqual(
    requests(small).map((r) => r.headers.range),
    [undefined, 'bytes=0-', ...later.map((n) => `bytes=${n - LATER_OVERLAP}-`)],
  )
  await holds(out, 'every-cut.jpg', server.bytes(path))
  // Cut before any byte: nothing moves, and the retries bound it as before.
  assert.equal(stuck.one.status, 'failed')
  assert.equal(stuck.one.attempts, 2)
})

test('a server that cuts every answer and names no validator: resumed in the run on the length and the bytes compared, as aria2c -c does', {
  concurrency: true,
}, async (t) => {
  // a proxy or link that drops long transfers, in front of a server with no ETag or
  // Last-Modified. Each attempt started over from byte 0 and the file failed as truncated.
  const runs: Promise<void>[] = []
  for (const [name, options] of Object.entries(BODY_PATHS)) {
    const path = `/every-bare?size=200000&every=30000&lmonly=1&nolm=1${at(name)}`
    const run = t.test(name, async () => {
      // Each resume asks again for the last RESUME_OVERLAP bytes, without If-Range (there is no
      // validator to put in it): the answer proves itself.
      const { out, sent } = await resumedAtEveryCut(path, options)
      assert.ok(sent.every((r) => r.headers['if-range'] === undefined))
      if (!options.outputFormat) await holds(out, 'every-bare.jpg', server.bytes(path))
    })
    runs.push(run)
  }
  await Promise.all(runs)
})

test('an ETag new at every answer, the bytes the same: after the second, resumed in the run as a file without a validator is (background_downloader#541)', {
  concurrency: true,
}, async (t) => {
  // Edges of a CDN, or backends behind a load balancer, that each name the file their own way:
  // If-Range never matched (a 200 of the whole file to each resume), or the 206 named another
  // ETag (a restart), and behind a link that cuts every answer the file never finished.
  const servers = { 'If-Range kept': '', 'If-Range ignored': '&ifrange=ignore' }
  const runs: Promise<void>[] = []
  for (const [name, query] of Object.entries(servers)) {
    for (const [where, options] of Object.entries(BODY_PATHS)) {
      const run = t.test(`${name}, ${where}`, async () => {
        // Once a second ETag came with the same length and date, no If-Range.
        const id = `etag-rotate-${query ? 'ignored' : 'kept'}`
        const path = `/${id}?size=200000&every=30000&etagrotate=1${query}${at(where)}`
        await provedItself(path, `${id}.jpg`, { retries: 3, ...options })
      })
      runs.push(run)
    }
  }
  // Another version at each request (new bytes, ETag and date): never joined.
  const newBytes = t.test('new bytes too', async () => {
    const path = '/etag-rotate-bytes?size=200000&every=30000&rotate=1'
    const { out, one } = await get([server.url(path)], { retries: 3 })
    assert.equal(one.status, 'failed')
    assert.equal(one.error, 'truncated', one.message)
    assert.ok(
      requests(path).every((r) => r.headers.range === undefined || r.headers['if-range'] !== undefined),
    )
    await nothing(out)
  })
  // The same length and date, new bytes: the bytes compared differ, and nothing is joined.
  const sameSize = t.test('new bytes under the same length and date', async () => {
    const path = '/etag-rotate-same-size?size=200000&every=30000&rotate=1&lmfresh=1'
    const { out, one } = await get([server.url(path)], { retries: 3 })
    assert.equal(one.status, 'failed')
    assert.equal(one.error, 'truncated', one.message)
    // Resumed without If-Range once the ETag had changed alone, and not joined: the whole file again.
    const sent = requests(path).map((r) => [r.headers.range, r.headers['if-range']])
    assert.deepEqual(sent.slice(0, 4), [
      [undefined, undefined],
      [resumeRange(30_000), '"1-200000"'],
      [resumeRange(30_000), undefined],
      [undefined, undefined],
    ])
    await nothing(out)
  })
  await Promise.all([...runs, newBytes, sameSize])
})

test('validators that go back and forth between two backends behind one URL, the bytes the same: resumed in the run as a file without a validator is', {
  concurrency: true,
}, async (t) => {
  // Two backends whose copies of one file differ in mtime (so in ETag and Last-Modified) take the
  // requests in turn, the second serving a Range whatever If-Range says (or both honouring it):
  // every resume met the other one's validators and started over, and behind a link that cuts
  // every answer the file failed after 11 requests.
  const servers = { 'one ignores If-Range': '1', 'both honour If-Range': 'honor' }
  const runs: Promise<void>[] = []
  for (const [name, flap] of Object.entries(servers)) {
    for (const [where, options] of Object.entries(BODY_PATHS)) {
      const run = t.test(`${name}, ${where}`, async () => {
        // Once the first validators came back, no If-Range.
        const id = `flap-${flap}`
        const path = `/${id}?size=200000&every=30000&flap=${flap}${at(where)}`
        await provedItself(path, `${id}.jpg`, { retries: 5, ...options })
      })
      runs.push(run)
    }
  }
  // A 206 named by an ETag of its own bytes, the 200 by the file's: the same back and forth.
  const rangeEtag = t.test('each 206 an ETag of its own range (sibidharan/zealphp#236)', async () => {
    await provedItself('/range-etag?size=200000&every=30000&rangeetag=1', 'range-etag.jpg', { retries: 5 })
  })
  // A rolling deploy half done: the second backend holds another version of the same size. The
  // bytes compared differ, and nothing is joined.
  const versions = t.test('the second backend holding another version', async () => {
    const path = '/flap-versions?size=200000&every=30000&flap=versions'
    const { out, one } = await get([server.url(path)], { retries: 5 })
    assert.equal(one.status, 'failed')
    assert.equal(one.error, 'truncated', one.message)
    assert.ok(requests(path).length <= 20, `${requests(path).length} requests`)
    await nothing(out)
  })
  await Promise.all([...runs, rangeEtag, versions])
})

test('a server that drops the Range for an If-Range naming its own ETag: the rest of the run resumes without If-Range, the 206 checked by its validators (aria2-next#43)', {
  concurrency: true,
}, async (t) => {
  // A CDN that honours If-Range with a date only: each resume offering the ETag got the whole
  // file again, and behind a link that cuts every answer the file failed after 6 requests.
  const runs: Promise<void>[] = []
  for (const [where, options] of Object.entries(BODY_PATHS)) {
    const run = t.test(where, async () => {
      const id = `if-range-date-${where.replace(/\W+/g, '-')}`
      const path = `/${id}?size=200000&every=30000&ifrange=date`
      await provedItself(path, `${id}.jpg`, { retries: 5, ...options })
      const sent = requests(path).map((r) => [r.headers.range, r.headers['if-range']])
      // The first resume offered the ETag and got the whole file; none after it offers one.
      assert.deepEqual(sent.slice(0, 3), [
        [undefined, undefined],
        [resumeRange(30_000), '"v1-200000"'],
        [resumeRange(30_000), undefined],
      ])
    })
    runs.push(run)
  }
  // Its answers sent in chunks, no length stated: each resume got the whole file again, as the
  // misread answer was not taken for one without a length, and the file failed after 4 requests.
  const chunked = t.test('its answers in chunks', async () => {
    const path = '/if-range-date-chunked?size=200000&every=30000&ifrange=date&nolength=1'
    await provedItself(path, 'if-range-date-chunked.jpg', { retries: 3 })
    assert.equal(requests(path).filter((r) => r.headers['if-range'] !== undefined).length, 1)
  })
  runs.push(chunked)
  // Another version after the server was found so: its 206 names another ETag, and is not joined.
  const rotate = t.test('another version then', () =>
    neverJoined('/if-range-date-rotate?size=200000&every=30000&ifrange=date&rotate=1', 3),
  )
  await Promise.all([...runs, rotate])
})

test('a server that answers an If-Range with 304 or 412 (read as If-None-Match or If-Match): the range asked again without it, and so for the rest of the run (lingochamp/FileDownloader#265)', {
  concurrency: true,
}, async (t) => {
  // RFC 9110 §13.1.5: If-Range never yields them (OnionShare answered a browser's conditional
  // resume 304, onionshare/onionshare#804). Each such resume asked for the whole file instead,
  // and behind a link that cuts every answer the file failed after its retries.
  const servers = {
    '304 to the ETag it names': 'ifrange=304',
    '412 to a date': 'ifrange=412&lmonly=1',
  }
  const runs: Promise<void>[] = []
  for (const [name, query] of Object.entries(servers)) {
    for (const [where, options] of Object.entries(BODY_PATHS)) {
      const run = t.test(`${name}, ${where}`, async () => {
        const id = `if-range-${query.slice(8, 11)}`
        const path = `/${id}?size=200000&every=30000&${query}${at(where)}`
        await provedItself(path, `${id}.jpg`, { retries: 2, ...options })
        const sent = requests(path).map((r) => [r.headers.range, r.headers['if-range'] === undefined])
        // The first resume offered If-Range and was refused; the same range at once without it.
        assert.deepEqual(sent.slice(0, 3), [
          [undefined, true],
          [resumeRange(30_000), false],
          [resumeRange(30_000), true],
        ])
        assert.ok(
          sent.slice(2).every(([, none]) => none),
          'no If-Range after the first',
        )
      })
      runs.push(run)
    }
  }
  // A 412 because the file changed (its ETag too): the 206 without If-Range names the new ETag, and
  // is not joined.
  const rotate = t.test('another version', () =>
    neverJoined('/if-range-412-rotate?size=200000&every=30000&ifrange=412&rotate=1', 2),
  )
  await Promise.all([...runs, rotate])
})

test('a part without a validator is joined only where the answer proves it: the same total, the same bytes', async (t) => {
  const cases = {
    // Another version at each request, of the same size: the bytes compared differ.
    'another version': 'rotate=1',
    // The 206 states another total than the first answer.
    'another total': 'lietotal=1',
  }
  for (const [name, query] of Object.entries(cases)) {
    await t.test(name, async () => {
      const id = `bare-${name.replace(/\W+/g, '-')}`
      const path = `/${id}?size=200000&every=30000&lmonly=1&nolm=1&${query}`
      const { out, one } = await get([server.url(path)], { retries: 1 })
      assert.equal(one.status, 'failed')
      assert.equal(one.error, 'truncated', one.message)
      // The resume's answer was not joined: the whole file asked for again, and cut again.
      assert.deepEqual(
        requests(path).map((r) => r.headers.range),
        [undefined, resumeRange(30_000), undefined],
      )
      await nothing(out)
    })
  }
  // No length: nothing to compare the total with, so each attempt starts over, and says why.
  const path = '/every-bare-nolength?size=200000&every=30000&lmonly=1&nolm=1&nolength=1'
  const { one } = await get([server.url(path)], { retries: 2 })
  assert.equal(one.status, 'failed')
  assert.deepEqual(
    requests(path).map((r) => r.headers.range),
    [undefined, undefined, undefined],
  )
  assert.match(
    one.message!,
    /: not resumed, the server sent neither a strong ETag or Last-Modified nor the file's size to prove a later answer is the same file, so each of the 3 attempts started over$/,
  )
})

test('a file whose every answer was cut before its first byte says so, and not why no resume continued it', async () => {
  // Nothing came to resume: 'not resumed, the server sent neither ... nor the file's size' blamed
  // validators, and the size its answers did state, for the retries of a body that never began.
  const raw = await startRawServer((socket) => {
    socket.once('data', () => {
      socket.end('HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: 5000\r\n\r\n')
    })
  })
  try {
    const { one } = await get([raw.url('/never-begun.jpg')], { retries: 2 })
    assert.equal(one.error, 'truncated', one.message)
    assert.equal(one.attempts, 3)
    assert.match(one.message!, /: connection closed after 0 of 5000 bytes$/)
  } finally {
    await raw.close()
  }
})

test('a file whose every resume was answered in a form not joined says why each attempt started over', {
  concurrency: true,
}, async (t) => {
  // Its failure read 'connection closed after 30000 of 200000 bytes' alone, as if the file had
  // never been resumed: a server that ignores Range, or answers it with another range or total.
  const cases = {
    norange: ['norange=1', 'the server answers a range with the whole file (a 200)'],
    shift: [
      'shift=100',
      'the answer to its resume could not be joined (asked for bytes from 25904, got 26004-199999)',
    ],
    lietotal: [
      'lietotal=1',
      "the answer to its resume could not be joined (the file's size 200000 became 200001)",
    ],
    // A 206 that names the range asked for over the file's first bytes (WPChill/download-monitor#816):
    // its bytes, not its head, refuse it, once the body was begun as the file's next bytes.
    rangebody: [
      'rangebody=0',
      'the answer to its resume could not be joined (the file changed under the same validators (the bytes before byte 30000 differ from those on disk))',
    ],
  }
  const runs: Promise<void>[] = []
  for (const [name, [query, why]] of Object.entries(cases)) {
    for (const [where, options] of Object.entries(BODY_PATHS)) {
      const run = t.test(`${name}, ${where}`, async () => {
        const path = `/started-over-${name}?size=200000&every=30000&${query}${at(where)}`
        const { one } = await get([server.url(path)], { retries: 2, ...options })
        assert.equal(one.status, 'failed')
        assert.equal(one.error, 'truncated', one.message)
        assert.ok(
          one.message!.endsWith(`: not resumed, ${why}, so each of the 3 attempts started over`),
          one.message,
        )
      })
      runs.push(run)
    }
  }
  await Promise.all(runs)
})

test('a part without a validator is not resumed by a later run: time has passed, the file may have changed', async () => {
  const path = '/bare-rerun?size=200000&reset=100000&times=1&lmonly=1&nolm=1'
  const out = join(dir, 'bare-rerun')
  const first = await get([server.url(path)], { out, journal: true, retries: 0 })
  assert.equal(first.one.status, 'failed')
  // Not kept: the next run could not resume it.
  assert.deepEqual(await readdir(join(out, '.imgpull', 'parts')), [])
  const again = await get([server.url(path)], { out, journal: true, retries: 0 })
  assert.equal(again.one.status, 'ok', again.one.message)
  assert.deepEqual(
    requests(path).map((r) => r.headers.range),
    [undefined, undefined],
  )
  await holds(out, 'bare-rerun.jpg', server.bytes(path))
})

test('a cut file whose job fails stays for the next run, which resumes from its last byte', async () => {
  const file = makeImage('kept-part', 100_000)
  let up = false
  let answers = 0
  const ranges: (string | undefined)[] = []
  const origin = await listenLocal(
    createHttpServer((req, res) => {
      ranges.push(req.headers.range)
      const etag = '"kept-v1"'
      const from = req.headers.range ? Number(/bytes=(\d+)-/.exec(req.headers.range)![1]) : 0
      // Until the link is up again, every later answer is cut before its first byte.
      if (answers++ > 0 && !up) {
        res.writeHead(from > 0 ? 206 : 200, {
          etag,
          'content-type': 'image/jpeg',
          'content-length': file.length - from,
          ...(from > 0 ? { 'content-range': `bytes ${from}-${file.length - 1}/${file.length}` } : {}),
        })
        res.flushHeaders()
        setTimeout(() => res.socket?.end(), 10)
        return
      }
      if (from > 0) {
        res.writeHead(206, {
          etag,
          'content-type': 'image/jpeg',
          'content-length': file.length - from,
          'content-range': `bytes ${from}-${file.length - 1}/${file.length}`,
        })
        res.end(file.subarray(from))
        return
      }
      res.writeHead(200, { etag, 'content-type': 'image/jpeg', 'content-length': file.length })
      // The first answer is cut after 40,000 bytes.
      res.write(file.subarray(0, 40_000), () => req.socket.resetAndDestroy())
    }),
  )
  try {
    const url = origin.url('/kept.jpg')
    const out = join(dir, 'kept-part')
    const first = await get([url], { out, journal: true, retries: 1 })
    assert.equal(first.one.error, 'truncated', first.one.message)
    assert.deepEqual(await readdir(join(out, '.imgpull', 'parts')), [`${hashKey(url, 32)}.part`])
    up = true
    ranges.length = 0
    const again = await get([url], { out, journal: true })
    assert.equal(again.one.status, 'ok', again.one.message)
    assert.deepEqual(ranges, [resumeRange(40_000)], 'the next run goes on from the bytes kept')
    assert.equal(again.one.httpStatus, 200, 'the whole file, as an uninterrupted run reports it')
    assert.ok((await readFile(join(out, 'kept.jpg'))).equals(file))
  } finally {
    await origin.close()
  }
})

test("a file joined from a damaged part is fetched whole before it is called corrupt or not the input's hash", async () => {
  // After a power cut a file system may show a part with a page of zeros inside it, past where a
  // resume compares it: the joined file fails its checks, while the server's file is good. Those
  // failures are not tried again by a rerun, so the whole file is asked for once more first.
  const files: Record<string, Buffer> = {
    '/damaged.png': makeImage('joined-png', 200_000, 'png'),
    '/hashed.jpg': makeImage('joined-jpg', 200_000),
  }
  const ranges: string[] = []
  const cut = new Set(Object.keys(files))
  const origin = await listenLocal(
    createHttpServer((req, res) => {
      const file = files[req.url!]
      ranges.push(`${req.url} ${req.headers.range ?? 'whole'}`)
      const from = req.headers.range ? Number(/bytes=(\d+)-/.exec(req.headers.range)![1]) : 0
      const body = file.subarray(from)
      res.writeHead(from > 0 ? 206 : 200, {
        etag: '"joined-v1"',
        'content-type': 'image/png',
        'content-length': body.length,
        ...(from > 0 ? { 'content-range': `bytes ${from}-${file.length - 1}/${file.length}` } : {}),
      })
      if (!cut.delete(req.url!)) return void res.end(body)
      res.write(body.subarray(0, 80_000), () => req.socket.resetAndDestroy())
    }),
  )
  try {
    const base = origin.origin
    const sha256 = createHash('sha256').update(files['/hashed.jpg']).digest('hex')
    const jobs = [
      { url: `${base}/damaged.png` },
      { url: `${base}/hashed.jpg`, expectedHash: { type: 'sha256' as const, value: sha256 } },
    ]
    const out = join(dir, 'joined-damaged')
    const first = await get(jobs as never, { out, journal: true, retries: 0 })
    assert.deepEqual(
      first.results.map((r) => r.error),
      ['truncated', 'truncated'],
    )
    // A page of zeros at byte 32,768 of each part: in the PNG's IDAT, in the JPEG's scan.
    const parts = join(out, '.imgpull', 'parts')
    for (const part of await readdir(parts)) {
      const bytes = await readFile(join(parts, part))
      bytes.fill(0, 32_768, 36_864)
      await writeFile(join(parts, part), bytes)
    }
    ranges.length = 0
    const again = await get(jobs as never, { out, journal: true, retries: 0 })
    for (const r of again.results) assert.equal(r.status, 'ok', r.message)
    assert.ok((await readFile(join(out, 'damaged.png'))).equals(files['/damaged.png']))
    assert.ok((await readFile(join(out, 'hashed.jpg'))).equals(files['/hashed.jpg']))
    assert.deepEqual(ranges.sort(), [
      `/damaged.png ${resumeRange(80_000)}`,
      '/damaged.png whole',
      `/hashed.jpg ${resumeRange(80_000)}`,
      '/hashed.jpg whole',
    ])
  } finally {
    await origin.close()
  }
})

test('a part kept from an earlier run is not joined to a file that changed under the same ETag and size', async () => {
  // A content-blind ETag (a record id, a deploy version, an mtime and size under reproducible
  // builds): the photo behind the URL is replaced by another of exactly the same size.
  const v1 = makeImage('changed-v1', 100_000)
  const v2 = makeImage('changed-v2', 100_000)
  assert.equal(v1.length, v2.length)
  let file = v1
  let cutFirst = true
  const ranges: (string | undefined)[] = []
  const origin = await listenLocal(
    createHttpServer((req, res) => {
      ranges.push(req.headers.range)
      const headers = { etag: '"same"', 'content-type': 'image/jpeg' }
      const from = req.headers.range ? Number(/bytes=(\d+)-/.exec(req.headers.range)![1]) : 0
      if (from > 0) {
        res.writeHead(206, {
          ...headers,
          'content-length': file.length - from,
          'content-range': `bytes ${from}-${file.length - 1}/${file.length}`,
        })
        res.end(file.subarray(from))
        return
      }
      res.writeHead(200, { ...headers, 'content-length': file.length })
      if (!cutFirst) return void res.end(file)
      cutFirst = false
      res.write(file.subarray(0, 40_000), () => req.socket.resetAndDestroy())
    }),
  )
  try {
    const url = origin.url('/changed.jpg')
    const out = join(dir, 'changed-part')
    const first = await get([url], { out, journal: true, retries: 0 })
    assert.equal(first.one.error, 'truncated', first.one.message)
    assert.equal((await readdir(join(out, '.imgpull', 'parts'))).length, 1, 'the cut part is kept')
    file = v2
    ranges.length = 0
    const again = await get([url], { out, journal: true, retries: 0 })
    assert.equal(again.one.status, 'ok', again.one.message)
    assert.ok(
      (await readFile(join(out, 'changed.jpg'))).equals(v2),
      'the new file whole, not v1 joined to v2',
    )
    assert.deepEqual(
      ranges,
      [resumeRange(40_000), undefined],
      'the resume, its overlap differing, then the whole file',
    )
    assert.equal(again.one.attempts, 1, 'starting over on a changed file is not a retry')

    // A part longer than the file (bytes past its end, from whatever wrote them): not a part of it.
    const longer = join(dir, 'longer-part')
    cutFirst = true
    assert.equal((await get([url], { out: longer, journal: true, retries: 0 })).one.error, 'truncated')
    const [part] = await readdir(join(longer, '.imgpull', 'parts'))
    await writeFile(join(longer, '.imgpull', 'parts', part), Buffer.concat([v2, Buffer.alloc(1000, 0xff)]))
    ranges.length = 0
    const fixed = await get([url], { out: longer, journal: true, retries: 0 })
    assert.equal(fixed.one.status, 'ok', fixed.one.message)
    assert.ok(
      (await readFile(join(longer, 'changed.jpg'))).equals(v2),
      'the file, without the bytes past its end',
    )
    assert.deepEqual(ranges, [undefined])
  } finally {
    await origin.close()
  }
})

test('two edges that serve two versions under one ETag and size: a later resume, or the next part of a capped 206, is not joined across them (NixOS/nixpkgs#25485)', async () => {
  // nginx's ETag is the mtime and size: every build served from the Nix store has the same. Two
  // backends behind one name, one deployed before the other, serve two photos of one size.
  const editions = [makeImage('edge-v1', 200_000), makeImage('edge-v2', 200_000)]
  assert.equal(editions[0].length, editions[1].length)
  // Request n goes to edge `order[n]` (the last one after the list); `cap`: every answer is a
  // 206 of at most that many bytes; else every answer is cut after `cut` bytes of its body.
  let order: number[] = []
  let cap = 0
  let cut = 0
  let n = 0
  const ranges: (string | undefined)[] = []
  const origin = await listenLocal(
    createHttpServer((req, res) => {
      const file = editions[order[Math.min(n++, order.length - 1)]]
      ranges.push(req.headers.range)
      const from = req.headers.range ? Number(/bytes=(\d+)-/.exec(req.headers.range)![1]) : 0
      const to = cap ? Math.min(file.length, from + cap) : file.length
      const partial = from > 0 || to < file.length
      res.writeHead(partial ? 206 : 200, {
        etag: '"1-30d40"',
        'last-modified': 'Thu, 01 Jan 1970 00:00:01 GMT',
        'content-type': 'image/jpeg',
        'content-length': to - from,
        ...(partial ? { 'content-range': `bytes ${from}-${to - 1}/${file.length}` } : {}),
      })
      const body = file.subarray(from, to)
      if (cap || body.length <= cut) return void res.end(body)
      res.write(body.subarray(0, cut), () => req.socket.end())
    }),
  )
  try {
    const url = origin.url('/edge.jpg')
    // Every answer cut after 60,000 bytes: the first resume, from the first edge, compares its
    // 4 KiB and goes on; the second goes to the other edge.
    order = [0, 0, 1]
    cut = 60_000
    const resumed = await get([url], { retries: 5 })
    assert.equal(resumed.one.status, 'ok', resumed.one.message)
    await holds(resumed.out, 'edge.jpg', editions[1])
    assert.deepEqual(ranges.slice(0, 4), [
      undefined,
      resumeRange(60_000),
      `bytes=${60_000 - RESUME_OVERLAP + 60_000 - LATER_OVERLAP}-`,
      undefined,
    ])
    // Every answer a 206 of 60,000 bytes: the next part, from the other edge, is not joined either.
    order = [0, 1]
    cap = 60_000
    n = 0
    ranges.length = 0
    const capped = await get([url])
    assert.equal(capped.one.status, 'ok', capped.one.message)
    await holds(capped.out, 'edge.jpg', editions[1])
    assert.deepEqual(ranges.slice(0, 3), [undefined, `bytes=${60_000 - LATER_OVERLAP}-`, undefined])
  } finally {
    await origin.close()
  }
})

/** A local HTTP server whose `handle` is told the path asked for and how many times it was (1: the first). */
function countingServer(
  handle: (path: string, n: number, req: IncomingMessage, res: ServerResponse) => void,
) {
  const answers = new Map<string, number>()
  return listenLocal(
    createHttpServer((req, res) => {
      const path = req.url ?? ''
      const n = (answers.get(path) ?? 0) + 1
      answers.set(path, n)
      handle(path, n, req, res)
    }),
  )
}

test('a checksum the server states is checked: a body changed on the way is digest-mismatch, never kept', async () => {
  const file = makeImage('stated', 100_000)
  // A byte changed inside the scan data (a different one each time: a flaky link), which the JPEG's
  // structure cannot show.
  let at = 50_000
  const changed = (n: number) => {
    const copy = Buffer.from(file)
    while (file[at] === 0xff || file[at - 1] === 0xff || file[at] === 0xfe || file[at + 1] === 0xff) at++
    copy[at + (n % 7)] ^= 0x01
    return copy
  }
  // What an image-optimising edge makes, the same for everyone, sent on with the origin's headers.
  const optimised = changed(3)
  // Changed before byte 40,000, where the first answer of a resumed file is cut.
  const early = Buffer.from(file)
  let e = 20_000
  while (file[e] === 0xff || file[e - 1] === 0xff || file[e] === 0xfe || file[e + 1] === 0xff) e++
  early[e] ^= 0x01
  const md5 = createHash('md5').update(file).digest('base64')
  const sha = createHash('sha256').update(file).digest('base64')
  const origin = await countingServer((path, n, req, res) => {
    const headers: Record<string, string | number> = { 'content-type': 'image/jpeg', etag: '"stated-v1"' }
    // Google Cloud Storage's header; the body changed on every answer, or on the first only.
    if (path.startsWith('/goog')) headers['x-goog-hash'] = `crc32c=AAAAAA==,md5=${md5}`
    if (path.startsWith('/repr')) headers['repr-digest'] = `sha-256=:${sha}:`
    if (path.includes('polished')) headers['cf-polished'] = `origSize=${file.length}`
    // GCS's hash of an object stored at another size than the body (transcoded on the way).
    if (path.includes('stored')) headers['x-goog-stored-content-length'] = String(file.length + 100)
    const from = req.headers.range ? Number(/bytes=(\d+)-/.exec(req.headers.range)![1]) : 0
    // Content-MD5 on the 200 only: a 206's would be of its part.
    if (path.startsWith('/cmd5') && from === 0) headers['content-md5'] = md5
    const body =
      path.includes('edge') || path.includes('polished')
        ? optimised
        : path.startsWith('/cmd5')
          ? n === 1
            ? early
            : file
          : path.endsWith('always') || n === 1
            ? changed(n)
            : file
    if (from > 0) {
      res.writeHead(206, {
        ...headers,
        'content-length': body.length - from,
        'content-range': `bytes ${from}-${body.length - 1}/${body.length}`,
      })
      res.end(body.subarray(from))
      return
    }
    res.writeHead(200, { ...headers, 'content-length': body.length })
    // The Repr-Digest files are cut once, then resumed: the digest covers the whole file.
    if (path.endsWith('-resumed')) res.write(body.subarray(0, 40_000), () => req.socket.resetAndDestroy())
    else res.end(body)
  })
  try {
    const base = origin.origin
    const always = await get([`${base}/goog-always`], { retries: 2 })
    assert.equal(always.one.error, 'digest-mismatch', always.one.message)
    assert.match(always.one.message!, /its md5 is [0-9a-f]{32}, not the [0-9a-f]{32} its x-goog-hash states/)
    assert.equal(always.one.attempts, 3, 'retried: the next answer may come whole')
    await nothing(always.out)
    // md5 is taken as the bytes come; after a resume, by reading the file back. Content-MD5 said by
    // the first answer holds for the file its resume completes (the 206 does not say it again).
    for (const path of ['/goog-once', '/repr-once', '/repr-resumed', '/goog-resumed', '/cmd5-resumed']) {
      // The changed cmd5 file: cut; resumed, the joined file refused by its Content-MD5 and asked
      // for whole in the same attempt (the bytes kept may be what is wrong), cut; resumed.
      const { out, one } = await get([`${base}${path}`], { retries: path === '/cmd5-resumed' ? 3 : 1 })
      assert.equal(one.status, 'ok', `${path}: ${one.message}`)
      if (path === '/cmd5-resumed') assert.equal(one.attempts, 3)
      await holds(out, `${path.slice(1)}.jpg`, file)
    }
    // The same bytes twice against the same digest: what the URL serves (an edge that optimises
    // images and passes the origin's digest on), not a flaky link.
    const edge = await get([`${base}/goog-edge`], { retries: 2 })
    assert.equal(edge.one.status, 'ok', edge.one.message)
    assert.equal(edge.one.attempts, 2)
    await holds(edge.out, 'goog-edge.jpg', optimised)
    // An edge that says it made the bytes anew: its digests are the origin's, not compared.
    const polished = await get([`${base}/repr-polished`], { retries: 0 })
    assert.equal(polished.one.status, 'ok', polished.one.message)
    // GCS's hash of an object stored at another size: of other bytes, not compared; the first
    // answer is kept (the very same bytes a second time would be too).
    const stored = await get([`${base}/goog-edge-stored`], { retries: 0 })
    assert.equal(stored.one.status, 'ok', stored.one.message)
    // With --hash none, sha-256 is computed for the check alone.
    const unhashed = await get([`${base}/repr-always`], { retries: 0, hash: 'none' })
    assert.equal(unhashed.one.error, 'digest-mismatch', unhashed.one.message)
  } finally {
    await origin.close()
  }
})

test('a checksum a chunked body states in its trailer section is checked as one in its head: a body changed on the way is digest-mismatch, never kept', async () => {
  // RFC 9530 §2-3 (Repr-Digest, Content-Digest) and RFC 2616 §14.15 (Content-MD5) name trailers as
  // a place for them: a server that streams a body knows its digest once it is sent. They were
  // never read: a body changed on the way was kept, its trailer naming other bytes.
  const file = makeImage('trailed', 30_000)
  let at = 15_000
  while (file[at] === 0xff || file[at - 1] === 0xff || file[at] === 0xfe || file[at + 1] === 0xff) at++
  const changed = (n: number) => {
    const copy = Buffer.from(file)
    copy[at + (n % 5)] ^= 0x01
    return copy
  }
  const [md5, sha] = ['md5', 'sha256'].map((algorithm) => createHash(algorithm).update(file).digest('base64'))
  const origin = await countingServer((path, n, _req, res) => {
    const trailer = path.startsWith('/md5') ? 'Content-MD5' : 'Repr-Digest'
    // Node's server sends it chunked, the trailer after the last chunk.
    res.writeHead(200, { 'content-type': 'image/jpeg', trailer })
    res.write(path.endsWith('always') || (path.endsWith('once') && n === 1) ? changed(n) : file)
    res.addTrailers(
      trailer === 'Content-MD5' ? { 'Content-MD5': md5 } : { 'Repr-Digest': `sha-256=:${sha}:` },
    )
    res.end()
  })
  try {
    const base = origin.origin
    for (const [path, named] of [
      ['/md5-always', /its md5 is [0-9a-f]{32}, not the [0-9a-f]{32} its Content-MD5 trailer states$/],
      ['/repr-always', /its sha256 is [0-9a-f]{64}, not the [0-9a-f]{64} its Repr-Digest trailer states$/],
    ] as const) {
      const always = await get([`${base}${path}`], { retries: 1 })
      assert.equal(always.one.error, 'digest-mismatch', `${path}: ${always.one.message}`)
      assert.match(always.one.message!, named, path)
      assert.equal(always.one.attempts, 2, `${path}: retried, the next answer may come whole`)
      await nothing(always.out)
    }
    for (const path of ['/md5-once', '/repr-once', '/md5-whole']) {
      const { out, one } = await get([`${base}${path}`], { retries: 1 })
      assert.equal(one.status, 'ok', `${path}: ${one.message}`)
      assert.equal(one.attempts, path.endsWith('once') ? 2 : 1, path)
      await holds(out, `${path.slice(1)}.jpg`, file)
    }
  } finally {
    await origin.close()
  }
})

test('a Content-MD5 of the whole file holds for the run that resumes it: a part a failed or killed run left is checked too', async () => {
  // Azure Blob Storage and GCS state the stored object's MD5 on a 200; a 206 that resumes it
  // states nothing of the whole. The resume's bytes change on the way (a bad link, a proxy): one
  // byte flipped past the overlap, where the JPEG's structure cannot show it.
  const file = makeImage('md5-across-runs', 200_000)
  const md5 = createHash('md5').update(file).digest('base64')
  let answers = 0
  const ranges: (string | undefined)[] = []
  const origin = await listenLocal(
    createHttpServer((req, res) => {
      ranges.push(req.headers.range)
      const from = req.headers.range ? Number(/bytes=(\d+)-/.exec(req.headers.range)![1]) : 0
      const body = Buffer.from(file.subarray(from))
      if (from > 0) {
        if (answers++ === 0) body[150_000 - from] ^= 0x10
        res.writeHead(206, {
          etag: '"md5-v1"',
          'content-type': 'image/jpeg',
          'content-length': body.length,
          'content-range': `bytes ${from}-${file.length - 1}/${file.length}`,
        })
        return void res.end(body)
      }
      res.writeHead(200, {
        etag: '"md5-v1"',
        'content-type': 'image/jpeg',
        'content-length': body.length,
        'content-md5': md5,
      })
      // The first answer is cut; the run gives up (--retries 0), leaving its part.
      if (ranges.length === 1)
        return void res.write(body.subarray(0, 80_000), () => req.socket.resetAndDestroy())
      res.end(body)
    }),
  )
  try {
    const url = origin.url('/md5.jpg')
    const out = join(dir, 'md5-across-runs')
    const first = await get([url], { out, journal: true, retries: 0 })
    assert.equal(first.one.error, 'truncated', first.one.message)
    // The resumed file is checked against the Content-MD5 the cut 200 stated: it differs, and
    // the whole file is asked for once more, in the same attempt (--retries 0).
    const resumed = await get([url], { out, journal: true, retries: 0 })
    assert.equal(resumed.one.status, 'ok', resumed.one.message)
    await holds(out, 'md5.jpg', file)
    assert.deepEqual(ranges, [undefined, resumeRange(80_000), undefined])
  } finally {
    await origin.close()
  }
})

test("a file joined from a part that is not the server's checksum is fetched whole, not refused: a part of another version under a content-blind ETag (conda/conda#13488)", async () => {
  // The part a failed run left is of the file before it was replaced by one of the same size under
  // the same ETag (a deploy version, an mtime and size under reproducible builds), differing past
  // the bytes a resume compares. The 206 states the whole file's digest (RFC 9530's Repr-Digest,
  // GCS's x-goog-hash md5): the joined file fails it, but the bytes kept are what is wrong, not
  // the server's file; it was refused as digest-mismatch at the last retry, or spent a retry.
  const before = makeImage('digest-joined', 100_000)
  const now = Buffer.from(before)
  now[20_000] ^= 0x10
  for (const [field, value] of [
    ['repr-digest', `sha-256=:${createHash('sha256').update(now).digest('base64')}:`],
    ['x-goog-hash', `md5=${createHash('md5').update(now).digest('base64')}`],
  ]) {
    let file = before
    const ranges: (string | undefined)[] = []
    const origin = await listenLocal(
      createHttpServer((req, res) => {
        ranges.push(req.headers.range)
        const from = req.headers.range ? Number(/bytes=(\d+)-/.exec(req.headers.range)![1]) : 0
        const body = file.subarray(from)
        const headers = { etag: '"deploy-7"', 'content-type': 'image/jpeg', 'content-length': body.length }
        if (from > 0) {
          res.writeHead(206, {
            ...headers,
            [field]: value,
            'content-range': `bytes ${from}-${file.length - 1}/${file.length}`,
          })
          return void res.end(body)
        }
        res.writeHead(200, file === now ? { ...headers, [field]: value } : headers)
        if (file === now) return void res.end(body)
        res.write(body.subarray(0, 80_000), () => req.socket.resetAndDestroy())
      }),
    )
    try {
      const url = origin.url('/deployed.jpg')
      const out = join(dir, `digest-joined-${field}`)
      assert.equal((await get([url], { out, journal: true, retries: 0 })).one.error, 'truncated')
      file = now
      const again = await get([url], { out, journal: true, retries: 0 })
      assert.equal(again.one.status, 'ok', `${field}: ${again.one.message}`)
      await holds(out, 'deployed.jpg', now)
      assert.deepEqual(ranges, [undefined, resumeRange(80_000), undefined], 'the resume, then the whole file')
    } finally {
      await origin.close()
    }
  }
})

test('an endless answer that no image begins with is refused at its first bytes, not at the total timeout', async () => {
  const frame = makeImage('frame', 20_000)
  const timers = new Set<NodeJS.Timeout>()
  const origin = await listenLocal(
    createHttpServer((req, res) => {
      // An MJPEG camera: one JPEG after another in a multipart body, for as long as anyone reads.
      res.writeHead(200, { 'content-type': 'multipart/x-mixed-replace; boundary=frame' })
      const send = () =>
        res.write(Buffer.concat([Buffer.from('--frame\r\nContent-Type: image/jpeg\r\n\r\n'), frame]))
      send()
      const timer = setInterval(send, 100)
      timers.add(timer)
      req.socket.on('close', () => clearInterval(timer))
    }),
  )
  try {
    const url = origin.url('/camera.jpg')
    const { one } = await get([url], { totalTimeout: 20_000 })
    assert.equal(one.error, 'not-an-image', one.message)
    // Told from its first bytes, not after the 64 KB head every other answer may need.
    const bytes = Number(/boundary=frame, (\d+) bytes/.exec(one.message!)?.[1])
    assert.ok(bytes < 65_536, one.message)
  } finally {
    for (const timer of timers) clearInterval(timer)
    await origin.close()
  }
})

// a server that answers a range with multipart/byteranges, even for the one range asked
// (RFC 9110 §14.6 says it must not; its range is inside the body), here in two parts (one part
// that is the range asked for is taken apart: see below). Such an answer is never kept: the whole
// file is asked for again. But where every plain answer was cut too, the file failed as the last
// cut alone, nothing said of why no resume moved it on.
test('a resume answered with multipart/byteranges: the whole file asked for again, never a wrapped or spliced file; a failure says why', async (t) => {
  const file = makeImage('multipart', 200_000)
  const sent: { path: string; range?: string }[] = []
  const head = { etag: '"mp-1"', 'last-modified': 'Mon, 01 Jan 2024 00:00:00 GMT' }
  const origin = await listenLocal(
    createHttpServer((req, res) => {
      const path = req.url ?? ''
      sent.push({ path, range: req.headers.range })
      const from = Number(/bytes=(\d+)-/.exec(req.headers.range ?? '')?.[1] ?? -1)
      if (from >= 0 || path.startsWith('/always')) {
        const start = Math.max(0, from)
        const middle = start + 1000
        const part = (a: number, b: number) =>
          Buffer.concat([
            Buffer.from(
              `\r\n--XB\r\nContent-Type: image/jpeg\r\nContent-Range: bytes ${a}-${b - 1}/${file.length}\r\n\r\n`,
            ),
            file.subarray(a, b),
          ])
        const body = Buffer.concat([
          part(start, middle),
          part(middle, file.length),
          Buffer.from('\r\n--XB--\r\n'),
        ])
        res.writeHead(206, {
          ...head,
          'content-type': 'multipart/byteranges; boundary=XB',
          'content-length': body.length,
        })
        return void res.end(body)
      }
      res.writeHead(200, { ...head, 'content-type': 'image/jpeg', 'content-length': file.length })
      // The first plain answer cut (or every one: a link that drops long transfers).
      const first = sent.filter((s) => s.path === path).length === 1
      if (path.startsWith('/every') || first) res.write(file.subarray(0, 60_000), () => res.destroy())
      else res.end(file)
    }),
  )
  const base = origin.origin
  const ranges = (path: string) => sent.filter((s) => s.path === path).map((s) => s.range)
  try {
    await t.test(
      'cut once: the resume meets multipart, the file comes whole from a plain request',
      async () => {
        const { out, one } = await get([`${base}/once.jpg`], { retries: 1 })
        assert.equal(one.status, 'ok', one.message)
        await holds(out, 'once.jpg', file)
        assert.deepEqual(ranges('/once.jpg'), [undefined, resumeRange(60_000), undefined])
      },
    )
    for (const [name, options] of Object.entries<Options>({
      'main thread': {},
      'transfer threads': { threads: 2 },
    }))
      await t.test(`every plain answer cut (${name}): failed, saying the resumes met multipart`, async () => {
        const path = `/every-${name.replace(/\W+/g, '-')}.jpg`
        const { out, one } = await get([base + path], { retries: 1, ...options })
        assert.equal(one.error, 'truncated', one.message)
        assert.match(
          one.message!,
          /: not resumed, the server answers a range with multipart\/byteranges \(the range inside the body\) in a form imgpull does not take apart \(one part, exactly the range asked for, under If-Range\), so each of the 2 attempts started over$/,
        )
        assert.deepEqual(await outputFiles(out), [])
      })
    // Each later attempt spent a ranged request that met multipart again before the plain one.
    for (const [name, options] of Object.entries<Options>({
      'main thread': {},
      'transfer threads': { threads: 2 },
    }))
      await t.test(
        `met once, a later attempt of the file asks no range (${name}); the failure says why`,
        async () => {
          const path = `/every-later-${name.replace(/\W+/g, '-')}.jpg`
          const { one } = await get([base + path], { retries: 2, ...options })
          assert.equal(one.error, 'truncated', one.message)
          assert.match(one.message!, /multipart\/byteranges .*, so each of the 3 attempts started over$/)
          assert.deepEqual(ranges(path), [undefined, resumeRange(60_000), undefined, undefined])
        },
      )
    await t.test(
      "met once, the host's other files ask no range either (a rerun, parts on disk)",
      async () => {
        const out = join(dir, 'wrapped-host')
        const urls = [`${base}/host-a.jpg`, `${base}/host-b.jpg`]
        const first = await get(urls, { out, journal: true, retries: 0 })
        assert.ok(first.results.every((r) => r.error === 'truncated'))
        const again = await get(urls, { out, journal: true, retries: 0, concurrency: 1 })
        assert.ok(
          again.results.every((r) => r.status === 'ok'),
          JSON.stringify(again.results.map((r) => r.message)),
        )
        const asked = [...ranges('/host-a.jpg'), ...ranges('/host-b.jpg')]
        assert.equal(asked.filter((r) => r !== undefined).length, 1, JSON.stringify(asked))
      },
    )
    await t.test('a 206 multipart to a plain request: refused by name, never kept', async () => {
      const { out, one } = await get([`${base}/always.jpg`], { retries: 0 })
      assert.equal(one.error, 'bad-range', one.message)
      assert.match(
        one.message!,
        /: unusable partial answer: a 206 in multipart\/byteranges \(the range inside the body\) to a request for one range or none$/,
      )
      assert.deepEqual(await outputFiles(out), [])
    })
  } finally {
    await origin.close()
  }
})

// A server or CDN that wraps the one range a resume asks for in multipart/byteranges: its one part
// was refused, and the file, then its host, asked for whole from then on. Now a part that is
// exactly the range asked for, of the file known, under If-Range with a strong validator, is taken
// apart and spliced; anything else is refused as before.
test('a resume answered with one part in multipart/byteranges: the part is spliced, on every body path', async (t) => {
  for (const [name, options] of Object.entries(BODY_PATHS)) {
    await t.test(name, async () => {
      // Each path's own file: the first answer to each is cut.
      const path = `/wrapped-once.jpg?size=200000&short=60000&times=1&multipart=1&for=${name.length}`
      const at = requests(path).length
      const { out, one } = await get([server.url(path)], { retries: 1, ...options })
      assert.equal(one.status, 'ok', one.message)
      assert.equal(one.sha256, createHash('sha256').update(server.bytes(path)).digest('hex'))
      const sent = requests(path).slice(at)
      assert.deepEqual(
        sent.map((r) => r.headers.range),
        [undefined, resumeRange(60_000)],
      )
      assert.ok(sent[1]!.headers['if-range'])
      if (!options.outputFormat) await holds(out, 'wrapped-once.jpg', server.bytes(path))
    })
  }
  await t.test('every answer cut inside its part: each resume moves the file on', async () => {
    const path = '/wrapped-every.jpg?size=200000&every=40000&multipart=1'
    const { out, one } = await get([server.url(path)], { retries: 8 })
    assert.equal(one.status, 'ok', one.message)
    await holds(out, 'wrapped-every.jpg', server.bytes(path))
    assert.ok(
      requests(path)
        .slice(1)
        .every((r) => r.headers.range !== undefined),
    )
  })
})

test('a multipart/byteranges resume not exactly one part of the range asked for is never spliced: the whole file again', async (t) => {
  for (const [name, query] of Object.entries({
    'two parts': 'multipart=two',
    'its part naming another range': 'multipart=off',
    'its part shorter than the range it names': 'multipart=short',
    'no boundary named': 'multipart=noboundary',
    'no If-Range (no strong validator)': 'multipart=1&weaketag=1&nolm=1',
  })) {
    await t.test(name, async () => {
      const path = `/wrapped-${query.replace(/\W+/g, '-')}.jpg?size=200000&short=60000&times=1&${query}`
      const { out, one } = await get([server.url(path)], { retries: 1 })
      assert.equal(one.status, 'ok', one.message)
      await holds(out, `wrapped-${query.replace(/\W+/g, '-')}.jpg`, server.bytes(path))
      assert.deepEqual(
        requests(path).map((r) => r.headers.range),
        [undefined, resumeRange(60_000), undefined],
      )
    })
  }
})

// A Content-Range without its unit (`55904-199999/200000`: old Netscape proxies) or written
// `bytes: ...` (Sun's JavaWebServer), which curl and wget read, was no usable range: a resume
// answered so restarted from byte 0, and the file was fetched whole again.
test('a Content-Range without its unit, or as bytes:, or whose last byte is the size (pydio-core#400), is read as curl and wget read it', async (t) => {
  // One whose last byte is the size, its Content-Length the range's to the size's last byte,
  // started over at every resume ('a 206 without a usable Content-Range (bytes 55904-200000/200000)').
  for (const unit of ['none', 'colon', 'over']) {
    await t.test(unit, async () => {
      const path = `/cr-unit-${unit}.jpg?size=200000&short=60000&times=1&${unit === 'over' ? 'crend' : 'crunit'}=${unit}`
      const { out, one } = await get([server.url(path)], { retries: 1 })
      assert.equal(one.status, 'ok', one.message)
      await holds(out, `cr-unit-${unit}.jpg`, server.bytes(path))
      assert.deepEqual(
        requests(path).map((r) => r.headers.range),
        [undefined, resumeRange(60_000)],
      )
    })
  }
})

import assert from 'node:assert/strict'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { retriedOnRerun } from '../src/fetch/retry-policy.js'
import { robotsAgents, robotsRefusal } from '../src/fetch/robots-tag.js'
import { pull } from '../src/index.js'
import type { Result } from '../src/types.js'
import { cleanup, tempDir } from './support/cli.js'
import { makeImage } from './support/images.js'
import { image, type RouteServer, startRouteServer } from './support/route-server.js'

test('robotsRefusal: which X-Robots-Tag headers refuse the image', () => {
  const cases: [string | string[] | undefined, string | undefined, string?][] = [
    [undefined, undefined],
    ['noai', 'noai'],
    ['noai, noimageai', 'noai'],
    ['noimageai', 'noimageai'],
    ['  NoAI  ', 'noai'],
    ['noindex,NOIMAGEAI', 'noimageai'],
    // Search directives are not about AI use.
    ['noindex', undefined],
    ['none', undefined],
    ['noimageindex, nofollow', undefined],
    // Scoped to us, to everyone, or to someone else.
    ['imgpull: noai', 'noai'],
    ['IMGPULL : noimageai', 'noimageai'],
    ['*: noai', 'noai'],
    ['googlebot: noai', undefined],
    ['googlebot: noindex, noai', undefined],
    // A scope lasts to the next one, within one header value.
    ['googlebot: noindex, imgpull: noai', 'noai'],
    ['imgpull: noindex, googlebot: noai', undefined],
    // Several headers add up; each starts unscoped.
    [['googlebot: noai', 'noindex'], undefined],
    [['googlebot: noai', 'noimageai'], 'noimageai'],
    [['otherbot: noindex, nofollow', 'imgpull: noai'], 'noai'],
    // Directives with a value are not scopes.
    ['max-image-preview: large, noai', 'noai'],
    ['unavailable_after: 25 Jun 2010 15:00:00 PST', undefined],
    // Not the directive, only something like it.
    ['noai-please, xnoai', undefined],
    ['', undefined],
  ]
  for (const [header, expected] of cases) {
    assert.equal(robotsRefusal(header), expected, JSON.stringify(header))
  }
  // A custom User-Agent's product token counts as ours too.
  assert.equal(robotsRefusal('mybot: noai', robotsAgents('MyBot/2.0 (+https://example.org)')), 'noai')
  assert.equal(robotsRefusal('mybot: noai', robotsAgents('imgpull/1.0')), undefined)
  assert.deepEqual(robotsAgents('imgpull/0.1.0 (+https://github.com/imgpull/imgpull)'), ['imgpull'])
})

test('a robots-tag refusal is permanent: a plain rerun does not try it again', () => {
  assert.equal(retriedOnRerun('robots-tag'), false)
})

let dir: string
let server: RouteServer
const big = makeImage('big-refused', 4_000_000)
const small = makeImage('fine', 30_000)
let bodyBytesSent = 0

before(async () => {
  dir = await tempDir()
  server = await startRouteServer({
    '/noai.jpg': image(small, { 'x-robots-tag': 'noai, noimageai' }),
    '/scoped.jpg': image(small, { 'x-robots-tag': 'imgpull: noimageai' }),
    '/other.jpg': image(small, { 'x-robots-tag': ['googlebot: noai', 'noindex'] }),
    '/fine.jpg': image(small),
    '/big.jpg': async (_req, res) => {
      res.writeHead(200, {
        'content-type': 'image/jpeg',
        'content-length': big.length,
        'x-robots-tag': 'noai',
      })
      // Trickle the body, so a client that reads it would get far more than the head.
      for (let at = 0; at < big.length && !res.destroyed; at += 64 * 1024) {
        const ok = res.write(big.subarray(at, at + 64 * 1024))
        bodyBytesSent = at
        if (!ok) await new Promise((r) => res.once('drain', r))
        await new Promise((r) => setTimeout(r, 5))
      }
      res.end()
    },
  })
})

after(async () => {
  await server.close()
  await cleanup(dir)
})

async function collect(urls: string[], options: Parameters<typeof pull>[1]): Promise<Map<string, Result>> {
  const results = new Map<string, Result>()
  for await (const r of pull(urls, options)) results.set(new URL(r.job.url).pathname, r)
  return results
}

test('an image whose X-Robots-Tag says noai is refused before its body; --ignore-robots-tag takes it', async () => {
  const out = join(dir, 'robots')
  const urls = ['/noai.jpg', '/scoped.jpg', '/other.jpg', '/fine.jpg', '/big.jpg'].map((p) => server.url(p))
  const results = await collect(urls, { out, journal: false })
  for (const path of ['/noai.jpg', '/scoped.jpg', '/big.jpg']) {
    const r = results.get(path)!
    assert.equal(r.status, 'failed', path)
    assert.equal(r.error, 'robots-tag', path)
    assert.equal(r.attempts, 1, `${path}: not retried`)
    assert.match(r.message!, /X-Robots-Tag says no(image)?ai.*--ignore-robots-tag/)
  }
  assert.equal(results.get('/other.jpg')!.status, 'ok', 'scoped to another crawler, and noindex: taken')
  assert.equal(results.get('/fine.jpg')!.status, 'ok')
  assert.ok(
    bodyBytesSent < big.length / 2,
    `the body was not read: the server got ${bodyBytesSent} bytes out`,
  )
  assert.deepEqual((await readdir(out)).sort(), [
    '.imgpull',
    'fine.jpg',
    'manifest.jsonl',
    'other.jpg',
    'report.html',
  ])

  const taken = await collect([server.url('/noai.jpg')], {
    out: join(dir, 'ignored'),
    journal: false,
    ignoreRobotsTag: true,
  })
  assert.equal(taken.get('/noai.jpg')!.status, 'ok')

  // A rerun into a folder that refused it: skipped as before, taken with --ignore-robots-tag
  // (before, it stayed "permanently failed before" until --retry-failed).
  const journaled = join(dir, 'robots-rerun')
  const noai = [server.url('/noai.jpg')]
  assert.equal((await collect(noai, { out: journaled })).get('/noai.jpg')!.error, 'robots-tag')
  const again = (await collect(noai, { out: journaled })).get('/noai.jpg')!
  assert.deepEqual([again.status, again.earlier], ['failed', true])
  const ignored = (await collect(noai, { out: journaled, ignoreRobotsTag: true })).get('/noai.jpg')!
  assert.equal(ignored.status, 'ok')
})

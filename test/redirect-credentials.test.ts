import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { pull, type Result } from '../src/index.js'
import { cleanup, tempDir } from './support/cli.js'
import { makeImage } from './support/images.js'
import { image, type Route, startRouteServer } from './support/route-server.js'

const dir = await tempDir('redirect-credentials-')
after(() => cleanup(dir))
let n = 0

async function get(url: string): Promise<Result> {
  const results: Result[] = []
  for await (const r of pull([url], { out: `${dir}/run-${++n}`, journal: false, retries: 0 })) results.push(r)
  return results[0]!
}

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
const body = makeImage('locked', 32)
/** An image behind Basic `user:pw`; a 401 to anything else. */
const locked: Route = (req, res, url) => {
  if (req.headers.authorization === basic('user', 'pw')) image(body)(req, res, url)
  else res.writeHead(401, { 'www-authenticate': 'Basic realm="x"', 'content-length': '0' }).end()
}

test('the user and password of a redirect Location are sent to its target, as curl and aria2c send them, and no further', async () => {
  // A server that hands out a link with its own credentials in it (`http://user:pw@host/file`):
  // dropped, the target's 401 failed the file that curl -L and aria2c get.
  const third = await startRouteServer({ '/free.jpg': image(body) })
  const server = await startRouteServer({
    '/locked.jpg': locked,
    '/renamed.jpg': (_req, res) => {
      res
        .writeHead(302, {
          location: server.url('/locked.jpg').replace('//', '//user:pw@'),
          'content-length': '0',
        })
        .end()
    },
    '/onward.jpg': (req, res) => {
      if (req.headers.authorization !== basic('user', 'pw')) return void res.writeHead(401).end()
      res.writeHead(302, { location: third.url('/free.jpg'), 'content-length': '0' }).end()
    },
  })
  /** A 302 to `to` with `user:pw@` put in its Location. */
  const withCredentials =
    (to: string): Route =>
    (_req, res) => {
      res.writeHead(302, { location: to.replace('//', '//user:pw@'), 'content-length': '0' }).end()
    }
  const start = await startRouteServer({
    '/same.jpg': withCredentials(server.url('/locked.jpg')),
    '/chain.jpg': withCredentials(server.url('/onward.jpg')),
  })
  try {
    const one = await get(start.url('/same.jpg'))
    assert.equal(one.status, 'ok', one.message)
    assert.equal(server.log.find((l) => l.url === '/locked.jpg')?.headers.authorization, basic('user', 'pw'))
    assert.ok(!JSON.stringify(one).includes('pw@'), 'no credentials in the result')
    // On to a third origin: the Location's credentials stay with the origin they were named for.
    const two = await get(start.url('/chain.jpg'))
    assert.equal(two.status, 'ok', two.message)
    assert.equal(third.log.find((l) => l.url === '/free.jpg')?.headers.authorization, undefined)
    // The listed URL's own user and password, wrong, give way to those the Location names for
    // the same origin, as Chromium does (curl/curl#11410).
    const three = await get(server.url('/renamed.jpg').replace('//', '//unknown:invalid@'))
    assert.equal(three.status, 'ok', three.message)
    // The first origin never had them.
    for (const l of start.log) assert.equal(l.headers.authorization, undefined)
  } finally {
    await Promise.all([start.close(), server.close(), third.close()])
  }
})

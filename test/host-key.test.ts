import assert from 'node:assert/strict'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { renderName, withExt } from '../src/plan/naming.js'
import { hostKey, hostName } from '../src/utils/url.js'
import { cleanup, tempDir } from './support/cli.js'
import { makeImage } from './support/images.js'
import { runSorted, withEnv } from './support/proxied.js'
import { type RouteServer, startRouteServer } from './support/route-server.js'

// One host however a list writes it: upper case, a default port, the trailing dot of a fully
// qualified name. Its names and its limit are the same.

test('hostKey and hostName: case, default port and a trailing dot name one host; IDN hosts stay Punycode', () => {
  const cases: [string, string, string][] = [
    ['http://EXAMPLE.com/a.jpg', 'http://example.com', 'example.com'],
    ['http://example.com:80/a.jpg', 'http://example.com', 'example.com'],
    ['http://example.com./a.jpg', 'http://example.com', 'example.com'],
    ['https://Example.COM.:443/a.jpg', 'https://example.com', 'example.com'],
    ['https://example.com.:8443/a.jpg', 'https://example.com:8443', 'example.com'],
    ['http://127.0.0.1:8080/a.jpg', 'http://127.0.0.1:8080', '127.0.0.1'],
    ['http://[::1]:8080/a.jpg', 'http://[::1]:8080', '[::1]'],
    // Unicode in a host is its ASCII form, as the URL parser gives it (see the README's names).
    ['http://bücher.example./a.jpg', 'http://xn--bcher-kva.example', 'xn--bcher-kva.example'],
  ]
  for (const [url, key, name] of cases) {
    assert.equal(hostKey(new URL(url)), key, url)
    assert.equal(hostName(new URL(url)), name, url)
  }
  // In names: `{host}`, and `{name}` of a URL with no path.
  const named = (template: string, url: string) =>
    withExt(renderName(template, { url: new URL(url), index: 1, key: url }), 'jpg')
  assert.equal(named('{host}/{name}{ext}', 'http://EXAMPLE.com./a.jpg'), 'example.com/a.jpg')
  assert.equal(named('{host}/{name}{ext}', 'http://example.com/a.jpg'), 'example.com/a.jpg')
  assert.equal(named('{name}{ext}', 'http://example.com./'), 'example.com.jpg')
})

let dir: string
let server: RouteServer
let inFlight = 0
let most = 0
before(async () => {
  dir = await tempDir()
  const body = makeImage('host-key', 4_000)
  // Each answer waits a little, so that requests the limit would have let overlap do.
  const slow = (_req: IncomingMessage, res: ServerResponse) => {
    most = Math.max(most, ++inFlight)
    setTimeout(() => {
      inFlight--
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': body.length }).end(body)
    }, 40)
  }
  server = await startRouteServer(
    Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`/${i}.jpg`, slow])),
  )
})
after(async () => {
  await server.close()
  await cleanup(dir)
})

// `localhost.` and `localhost` were two hosts, each with its own limit: a list naming the one
// server both ways sent it twice the requests at once that --per-host allowed.
test('a host written with and without its trailing dot, in any case, shares one --per-host limit', async () => {
  const port = new URL(server.origin).port
  const hosts = [`localhost:${port}`, `localhost.:${port}`, `LOCALHOST.:${port}`]
  const urls = Array.from({ length: 9 }, (_, i) => `http://${hosts[i % 3]}/${i}.jpg`)
  most = 0
  const results = await withEnv({}, () => runSorted(urls, { out: join(dir, 'one-limit'), perHost: 1 }))
  assert.ok(
    results.every((r) => r.status === 'ok'),
    JSON.stringify(results.map((r) => r.message)),
  )
  assert.equal(most, 1, `requests at once on a host held to 1: ${most}`)
})

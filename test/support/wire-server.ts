import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { makeImage } from './images.js'

/** A local server that records each request-target as it came on the wire. */
export interface WireServer {
  /** `http://127.0.0.1:PORT`. */
  origin: string
  /** Each request's target (`req.url`, never re-parsed), in the order they came. */
  seen: string[]
  close(): Promise<void>
}

/**
 * A server for URLs as people paste or copy them: it records each request-target as it came on the
 * wire and answers every `.png` path (a query after it too) with an image of its own, anything
 * else with a 404.
 */
export async function wireServer(): Promise<WireServer> {
  const seen: string[] = []
  const server = createServer((req, res) => {
    seen.push(req.url ?? '')
    if (!/\.png(?:\?|$)/.test(req.url ?? '')) return void res.writeHead(404).end()
    const body = makeImage(`${req.url}.png`, 600, 'png')
    res.writeHead(200, { 'content-type': 'image/png', 'content-length': body.length }).end(body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { pull } from '../src/index.js'
import type { Result } from '../src/types.js'
import { makeCerts, type TestCerts, tlsPair } from './support/certs.js'
import { cleanup, tempDir } from './support/cli.js'
import { makeImage } from './support/images.js'
import { ALERT, startAlertingServer } from './support/tls-alert.js'

let dir: string
let certs: TestCerts
const image = makeImage('tls-ends.jpg', 30_000)
const head = `HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: ${image.length}\r\n\r\n`
const answer = Buffer.concat([Buffer.from(head), image.subarray(0, 12_000)])

before(async () => {
  dir = await tempDir()
  certs = makeCerts(dir)
})
after(() => cleanup(dir))

async function pullOne(url: string, out: string): Promise<Result> {
  const results: Result[] = []
  for await (const r of pull([url], { out: join(dir, out), journal: false, caCert: certs.ca, retries: 1 }))
    results.push(r)
  return results[0]!
}

// A fatal alert once the handshake is done leaves the connection dead (RFC 8446 §6.2), but Node
// only emits the error and keeps the socket open, and undici fails a request only when its socket
// closes: a server that sent its alert and kept the TCP connection open left the body waiting for
// the idle timeout, 15 s an attempt (`timeout: the body stopped after 12000 of 30000 bytes`), and
// a request unanswered for the headers timeout, where curl fails at once with the alert (exit 56).
// An internal_error alert in place of the answer failed `tls` at once, not retried, as a
// handshake's failure (`the TLS handshake failed on the server side`): 3 such gave up the host.
test('a fatal alert after the handshake, from a server that keeps the connection open: retried at once, mid-body or in place of the answer, naming the alert', async () => {
  const pair = tlsPair(certs.good)
  for (const [alert, name] of [
    [ALERT.internalError, 'tlsv1 alert internal error'],
    [ALERT.badRecordMac, 'sslv3 alert bad record mac'],
  ] as const) {
    const body = await startAlertingServer(pair, (s) => s.write(answer), alert, 'head')
    const unanswered = await startAlertingServer(pair, (s) => s.write(answer), alert, 'request')
    try {
      const cut = body.relay.url(`/${alert}-body.jpg`)
      const r = await pullOne(cut, `body-${alert}`)
      assert.equal(r.error, 'truncated', `${cut}: ${r.message}`)
      assert.equal(r.attempts, 2, `${cut}: ${r.message}`)
      assert.match(r.message ?? '', /connection closed after 12000 of 30000 bytes/)
      const url = unanswered.relay.url(`/${alert}-head.jpg`)
      const none = await pullOne(url, `head-${alert}`)
      assert.equal(none.error, 'network', `${url}: ${none.message}`)
      assert.equal(none.attempts, 2, `${url}: ${none.message}`)
      const code = `ERR_SSL_${name.toUpperCase().replaceAll(' ', '_')}`
      const words = name.replace(/^\w+ alert /, '')
      assert.equal(
        none.message,
        `network error on ${url}: the server ended the TLS connection after its handshake with a fatal alert (${words}) (${code})`,
      )
    } finally {
      await Promise.all([body.close(), unanswered.close()])
    }
  }
})

import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { createServer as createTlsServer, type TLSSocket } from 'node:tls'
import { makeCerts, type TestCerts, tlsPair } from './support/certs.js'
import { cleanup, runCli, tempDir } from './support/cli.js'
import { makeImage } from './support/images.js'
import { runSorted, withEnv } from './support/proxied.js'
import { eachRequest, listenLocal, writeImage } from './support/raw-server.js'

let dir: string
let certs: TestCerts
const body = makeImage('through-tls-proxy', 20_000)

before(async () => {
  dir = await tempDir()
  certs = makeCerts(dir)
})

after(() => cleanup(dir))

/**
 * An https:// proxy (a certificate for localhost and 127.0.0.1) answering each absolute-form
 * request itself with the image, kept alive, whatever host it names: the hosts need no address
 * here. It notes the server name (SNI) each TLS connection to it asked for ('' none).
 */
async function tlsProxy() {
  const names: string[] = []
  const targets: string[] = []
  const server = createTlsServer(tlsPair(certs.good), (socket: TLSSocket) => {
    names.push(socket.servername || '')
    eachRequest(socket, (request) => {
      targets.push(request.split(' ')[1] ?? '')
      writeImage(socket, body)
    })
  })
  server.on('tlsClientError', () => {})
  return { ...(await listenLocal(server, 'https')), names, targets }
}

// nodejs/undici#5116 (http:// URLs through an https:// proxy): undici's plain-request wrapper
// names the image host in `Host`, and its client took that for the TLS server name of the
// connection to the proxy. The proxy's certificate was checked against the image host
// (`its certificate is for localhost, 127.0.0.1, not img-a.proxied.test`), and every http:// file failed.
test('an https:// proxy is verified under its own name for http:// URLs of any host', async () => {
  const proxy = await tlsProxy()
  try {
    for (const [given, sni] of [
      [`https://localhost:${proxy.port}`, 'localhost'],
      // By address: no server name at all (RFC 6066 §3), the certificate checked for the address.
      [`https://127.0.0.1:${proxy.port}`, ''],
    ] as const) {
      proxy.names.length = 0
      const urls = [
        'http://img-a.proxied.test/a.jpg',
        'http://img-b.proxied.test/b.jpg',
        'http://img-a.proxied.test/c.jpg',
      ]
      const results = await withEnv({}, () =>
        runSorted(urls, {
          out: join(dir, `names-${sni || 'ip'}`),
          proxy: given,
          caCert: certs.ca,
          concurrency: 1,
        }),
      )
      assert.deepEqual(
        results.map((r) => r.status),
        ['ok', 'ok', 'ok'],
        JSON.stringify(results.map((r) => r.message)),
      )
      // Each connection to it named it (undici opens one per image host).
      assert.ok(proxy.names.length > 0, given)
      assert.deepEqual(
        proxy.names.filter((n) => n !== sni),
        [],
        given,
      )
    }
    // On transfer threads too, from the command line, the proxy given as users give it (HTTP_PROXY).
    proxy.names.length = 0
    const urls = ['http://img-c.proxied.test/d.jpg', 'http://img-d.proxied.test/e.jpg']
    const cli = await runCli(
      [...urls, '-o', join(dir, 'names-cli'), '--ca-cert', certs.ca, '--threads', '2'],
      {
        env: {
          HTTP_PROXY: `https://localhost:${proxy.port}`,
          http_proxy: '',
          HTTPS_PROXY: '',
          https_proxy: '',
        },
      },
    )
    assert.equal(cli.code, 0, cli.stderr)
    assert.deepEqual(
      proxy.names.filter((n) => n !== 'localhost'),
      [],
    )
    assert.deepEqual(proxy.targets.slice(0, 3), [
      'http://img-a.proxied.test/a.jpg',
      'http://img-b.proxied.test/b.jpg',
      'http://img-a.proxied.test/c.jpg',
    ])
  } finally {
    await proxy.close()
  }
})

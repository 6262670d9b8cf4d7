import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { startUnansweredPort } from './support/black-hole.js'
import { cleanup, inPool, outputFiles, runCli, tempDir } from './support/cli.js'
import { makeImage } from './support/images.js'
import { startRawServer } from './support/raw-server.js'

// Servers that go slow or silent, as bench/misbehave-stalls.ts serves them side by side with curl,
// wget2 and aria2c, each modelled on a public report (named with its test). Run through the CLI
// with timeouts of a few hundred ms.

let dir: string
before(async () => {
  dir = await tempDir()
})
after(async () => {
  await cleanup(dir)
})

let n = 0
async function pull(urls: string[], args: string[]) {
  const out = join(dir, `run-${++n}`)
  const list = join(dir, `list-${n}.txt`)
  const { writeFile } = await import('node:fs/promises')
  await writeFile(list, `${urls.join('\n')}\n`)
  const result = await runCli([list, '-o', out, '--no-report', ...args])
  const manifest = (await readFile(join(out, 'manifest.jsonl'), 'utf8').catch(() => ''))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { url: string; status: string; error?: string; message?: string })
  return { ...result, out, manifest, files: await outputFiles(out) }
}

const image = (name: string) => makeImage(name, 3000)
const answer = (body: Buffer) =>
  Buffer.concat([
    Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: ${body.length}\r\n\r\n`),
    body,
  ])

/**
 * A host that serves its first `served` requests, then goes silent to every other the same way
 * (`stall`: the head then nothing, or nothing at all), counting the requests it got after.
 */
async function goesSilent(served: number, stall: 'silent' | 'head') {
  let requests = 0
  let after = 0
  const server = await startRawServer((socket) => {
    let held = ''
    socket.on('data', (d) => {
      held += d.toString('latin1')
      for (let end = held.indexOf('\r\n\r\n'); end >= 0; end = held.indexOf('\r\n\r\n')) {
        const path = held.slice(0, end).split(' ')[1] ?? '/'
        held = held.slice(end + 4)
        if (++requests <= served) socket.write(answer(image(path)))
        else {
          after++
          if (stall === 'head')
            socket.write('HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: 3000\r\n\r\n')
        }
      }
    })
  })
  return { server, after: () => after }
}

// rom1504/img2dataset#289 and #164: a run that stops making progress near its end and never
// exits. A host that served its first files and then went silent (a server hung behind a balancer
// that still accepts, a firewall ban that drops the packets) was never given up, having answered
// once: each of its other files cost its attempts times the timeout, one at a time (36 files, 6
// attempts, at the default 30 s: 1.8 hours of the run's end). It is given up as a host that never
// answered is, once 16 requests in a row sent after its last answer were cut with none answered.
for (const stall of ['silent', 'head'] as const) {
  test(`a host that served files and then ${stall === 'silent' ? 'answers nothing' : 'stops every body'} is given up: its other files fail without a request, not one timeout after another`, async () => {
    const { server, after: requestsAfter } = await goesSilent(4, stall)
    try {
      const urls = Array.from({ length: 40 }, (_, i) => server.url(`/f${i}.jpg`))
      // Timeouts of 1.5 s, not 0.3 s: the files served come at once, but a loaded machine's CLI
      // (its start, 16 connections opened at once) read their answers later than 0.3 s after
      // asking, cut them, and kept none of the 4. Without giving up it is still 108 requests.
      const timeouts =
        stall === 'silent'
          ? ['--headers-timeout', '1.5']
          : ['--idle-timeout', '1.5', '--headers-timeout', '10']
      const { manifest, files } = await pull(urls, [...timeouts, '--retries', '2'])
      assert.equal(files.length, 4, 'the files served before the silence are kept')
      const failed = manifest.filter((r) => r.status !== 'ok')
      assert.equal(failed.length, 36)
      for (const r of failed) assert.equal(r.error, 'timeout', r.message)
      const words =
        stall === 'silent'
          ? /answered none of the \d+ requests this run sent it since its last answer/
          : /served no file since its last file: the bodies of \d+ requests in a row stopped/
      const notTried = failed.filter((r) => r.message?.startsWith('not tried: ') && words.test(r.message))
      assert.ok(
        notTried.length >= 1,
        `${notTried.length} files failed without a request: ${failed[0]?.message}`,
      )
      // Without giving up: 36 files of 3 attempts each, 108 requests, one at a time at the end.
      assert.ok(
        requestsAfter() <= 60,
        `${requestsAfter()} requests after the host went silent, ${notTried.length} files not tried`,
      )
    } finally {
      await server.close()
    }
  })
}

// ratpack/ratpack#852: a server answers `100 Continue` and then never the final answer. The
// message said `headers timeout` alone, as of a server that sent nothing; it names the interim
// answer that came, as it names a head begun (a 102 Processing, a 103 Early Hints the same).
test('a timeout after an interim answer with no final one says the interim answer came', async () => {
  for (const interim of [
    '100 Continue',
    '102 Processing',
    '103 Early Hints\r\nLink: </a.css>; rel=preload',
  ]) {
    const server = await startRawServer((socket) => {
      socket.once('data', () => socket.write(`HTTP/1.1 ${interim}\r\n\r\n`))
    })
    try {
      const { manifest } = await pull([server.url('/a.jpg')], ['--headers-timeout', '0.3', '--retries', '0'])
      const code = interim.slice(0, 3)
      assert.equal(manifest[0]?.error, 'timeout')
      assert.match(
        manifest[0]?.message ?? '',
        new RegExp(
          `^headers timeout after 300 ms on \\S+: an interim ${code} answer came, then no final one`,
        ),
      )
    } finally {
      await server.close()
    }
  }
})

// smith-chem-wisc/mzLib#1199 and KSAModding/Borea#105: a body that stops mid-transfer, or never
// begins after the head. Cut by --total-timeout before --idle-timeout (an idle timeout set longer),
// the message said its body "was under way ... (a body that trickles in is cut by this)" of a body
// that had stopped, and the half that came in a burst was taken for a steady pace and given the
// time once more. A body silent at the deadline is cut there, said to have stopped.
test('a body silent at the total timeout is said to have stopped, and is not given the time once more', async () => {
  const body = image('stopped.jpg')
  const rows: [string, Buffer, RegExp][] = [
    [
      'half the body, then silence',
      answer(body).subarray(0, answer(body).length - body.length / 2),
      /^total timeout after 600 ms on \S+: its body had stopped after 1500 of 3000 bytes, nothing coming for its last [\d.]+ s/,
    ],
    [
      'the head, then silence',
      answer(body).subarray(0, answer(body).length - body.length),
      /^total timeout after 600 ms on \S+: its head came and no byte of its body after it/,
    ],
  ]
  for (const [what, bytes, words] of rows) {
    const server = await startRawServer((socket) => {
      socket.once('data', () => socket.write(bytes))
    })
    try {
      const { manifest, files } = await pull(
        [server.url('/a.jpg')],
        ['--total-timeout', '0.6', '--idle-timeout', '30', '--retries', '0'],
      )
      assert.deepEqual(files, [], what)
      assert.equal(manifest[0]?.error, 'timeout', what)
      assert.match(manifest[0]?.message ?? '', words, what)
    } finally {
      await server.close()
    }
  }
})

/**
 * `url` pulled with a 2 s --total-timeout on `threads` transfer threads (`extra` before), no retry:
 * it fails `timeout` with no file kept; its message. The connect timeout is long past the total one:
 * a run, on a transfer thread too, ends with its last file, not once its connection still opening
 * gives up (see test/threads.test.ts).
 */
async function cutByTotal(
  url: string,
  threads: string,
  label: string,
  extra: string[] = [],
): Promise<string> {
  const { manifest, files } = await pull(
    [url],
    [
      ...extra,
      '--total-timeout',
      '2',
      '--connect-timeout',
      '120',
      '--headers-timeout',
      '30',
      '--retries',
      '0',
      '--threads',
      threads,
    ],
  )
  assert.deepEqual(files, [], label)
  assert.equal(manifest[0]?.error, 'timeout', label)
  return manifest[0]?.message ?? ''
}

// A request cut by --total-timeout before its head came (the connect and headers timeouts set
// longer) said only `total timeout after N s on URL`, where those timeouts name the stage: a user
// could not tell a firewall dropping the SYN from a TLS front that never answers the ClientHello
// (curl: "SSL connection timeout"), a server that took the request and said nothing, or one that
// sent `100 Continue` and never the final answer (ratpack/ratpack#852). It now names it in the same
// words (connect-stage.ts), on transfer threads too.
test('a total timeout that cuts a request before its head names the stage it cut in, as the other timeouts do', async () => {
  // A listener that never accepts: once its queue is full, new TCP handshakes get no answer.
  const unanswered = await startUnansweredPort()
  const { port } = unanswered
  // Reads the ClientHello, or the request, and says nothing.
  const mute = await startRawServer((socket) => socket.on('data', () => {}))
  // `100 Continue`, then nothing.
  const interim = await startRawServer((socket) => {
    socket.once('data', () => socket.write('HTTP/1.1 100 Continue\r\n\r\n'))
  })
  const rows: [string, string, RegExp][] = [
    [
      'a TCP handshake never answered',
      `http://127.0.0.1:${port}/a.jpg`,
      /^total timeout after 2 s on \S+: 127\.0\.0\.1:\d+ did not answer the TCP handshake \(nothing accepts the connection/,
    ],
    [
      'a TLS handshake never answered',
      `https://127.0.0.1:${mute.port}/a.jpg`,
      /^total timeout after 2 s on \S+: the TLS handshake got no answer \(the TCP connection was accepted\)$/,
    ],
    [
      'a request sent and never answered',
      mute.url('/a.jpg'),
      /^total timeout after 2 s on \S+: the request was sent and no answer came \(not a byte of its head\)$/,
    ],
    [
      'an interim answer and no final one',
      interim.url('/a.jpg'),
      // Not --headers-timeout's words of what it bounds: that one had not run out.
      /^total timeout after 2 s on \S+: an interim 100 answer came, then no final one$/,
    ],
  ]
  try {
    for (const threads of ['0', '1'])
      for (const [what, url, words] of rows) {
        const label = `${what} (--threads ${threads})`
        const message = await cutByTotal(url, threads, label)
        assert.match(message, words, `${label}: ${message}`)
      }
  } finally {
    unanswered.close()
    await mute.close()
    await interim.close()
  }
})

// The same words through a proxy (--proxy), on the main thread and on a transfer thread: where the
// total timeout cut the request, the proxy's own handshake told apart from the host's behind it
// (curl: "Failed to connect to proxy", "CONNECT tunnel failed"; undici's ProxyAgent says neither).
test('a total timeout that cuts a request before its head through a proxy names the stage, the proxy or the host behind it, on the main thread and on a transfer thread', async () => {
  const { startForwardProxy } = await import('./support/forward-proxy.js')
  const { startSocks5Proxy } = await import('./support/socks5-proxy.js')
  const unanswered = await startUnansweredPort()
  const { port } = unanswered
  // Reads what comes (a request, a ClientHello, a CONNECT, a SOCKS5 greeting) and says nothing.
  const mute = await startRawServer((socket) => socket.on('data', () => {}))
  const proxy = await startForwardProxy()
  const socks = await startSocks5Proxy()
  const rows: [string, string, string, RegExp][] = [
    [
      'a proxy that does not answer the TCP handshake',
      `http://127.0.0.1:${port}`,
      mute.url('/a.jpg'),
      /^total timeout after 2 s on \S+: the proxy 127\.0\.0\.1:\d+ did not answer the TCP handshake/,
    ],
    [
      'a proxy that does not answer the TCP handshake, for an https:// URL',
      `http://127.0.0.1:${port}`,
      `https://127.0.0.1:${mute.port}/a.jpg`,
      /^total timeout after 2 s on \S+: the proxy 127\.0\.0\.1:\d+ did not answer the TCP handshake/,
    ],
    [
      'a proxy that takes the CONNECT and does not answer it',
      mute.origin,
      `https://127.0.0.1:${mute.port}/a.jpg`,
      /^total timeout after 2 s on \S+: its connection through the proxy was still opening \(the connection to the proxy, its answer to the CONNECT to 127\.0\.0\.1:\d+, or the TLS handshake inside the tunnel\)$/,
    ],
    [
      'a proxy that takes the request and does not answer it',
      mute.origin,
      mute.url('/a.jpg'),
      /^total timeout after 2 s on \S+: the request was sent and no answer came \(not a byte of its head\)$/,
    ],
    [
      'a host behind the proxy that does not answer the TLS handshake',
      proxy.url,
      `https://127.0.0.1:${mute.port}/a.jpg`,
      /^total timeout after 2 s on \S+: its connection through the proxy was still opening \(the connection to the proxy, its answer to the CONNECT to 127\.0\.0\.1:\d+, or the TLS handshake inside the tunnel\)$/,
    ],
    [
      'a host behind the proxy that does not answer the request',
      proxy.url,
      mute.url('/a.jpg'),
      /^total timeout after 2 s on \S+: the request was sent and no answer came \(not a byte of its head\)$/,
    ],
    [
      'a host the proxy cannot reach (its SYN unanswered)',
      proxy.url,
      `https://127.0.0.1:${port}/a.jpg`,
      /^total timeout after 2 s on \S+: its connection through the proxy was still opening \(the connection to the proxy, its answer to the CONNECT to 127\.0\.0\.1:\d+, or the TLS handshake inside the tunnel\)$/,
    ],
    [
      'a SOCKS5 proxy that does not answer its handshake',
      `socks5://127.0.0.1:${mute.port}`,
      mute.url('/a.jpg'),
      /^total timeout after 2 s on \S+: its connection through the proxy was still opening \(the connection to the proxy, its SOCKS5 handshake or its answer to the CONNECT to 127\.0\.0\.1:\d+\)$/,
    ],
    [
      'a host behind a SOCKS5 proxy that does not answer the request',
      socks.url,
      mute.url('/a.jpg'),
      /^total timeout after 2 s on \S+: the request was sent and no answer came \(not a byte of its head\)$/,
    ],
  ]
  const wrong: string[] = []
  try {
    // Each run a list and folder of its own, the servers taking any number of connections: four
    // at a time (18 runs one after another were 21 s).
    const runs = ['0', '1'].flatMap((threads) => rows.map((row) => [threads, ...row] as const))
    await inPool(runs, 4, async ([threads, what, via, url, words]) => {
      const label = `${what} (--threads ${threads})`
      const message = await cutByTotal(url, threads, label, ['--proxy', via])
      if (!words.test(message)) wrong.push(`${label}: ${message}`)
    })
    assert.deepEqual(wrong, [])
  } finally {
    unanswered.close()
    await Promise.all([mute.close(), proxy.close(), socks.close()])
  }
})

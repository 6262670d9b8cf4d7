/**
 * Side by side on misbehaving TLS servers: each case is one way a real HTTPS server was reported to
 * end, cut or refuse a connection (the bug report is named with it), served from 127.0.0.1 by a
 * Node TLS server behind a TCP relay that can drop the server's `close_notify`, cut a record or put
 * an alert in its place, fetched by imgpull and its peers one URL at a time, each trusting the
 * test CA. Prints, per case and tool, the verdict on the file kept (as bench/misbehave.ts does),
 * the seconds it took, and each tool's message.
 *
 *   npm run build && node --import tsx bench/misbehave-tls.ts [--only ID,ID] [--tools imgpull,curl]
 */
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createConnection, createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  createSecureContext,
  createServer as createTlsServer,
  type TLSSocket,
  type TlsOptions,
} from 'node:tls'
import { makeCerts } from '../test/support/certs.js'
import { eachRequest } from '../test/support/raw-server.js'
import { ALERT, startAlertingServer } from '../test/support/tls-alert.js'
import { benchArgs, noise, printTable, runTool, TOOLS } from './misbehave.js'

/** What the relay does with the server's last burst of records when the server closes. */
type Ending = 'pass' | 'no-close-notify' | 'cut-record'

interface Served {
  /** 1 for a tool's first connection to the case, 2 for its second... */
  connection: number
  /** Requests so far for this path on this tool's relay. */
  attempt: number
  /** Writes bytes to the server as if the client sent them. */
  inject: (bytes: Buffer) => void
}

interface Case {
  id: string
  report: string
  file: string
  /** Host the URL names (`localhost` unless the case is about a name). */
  host?: string
  /** The TLS server's options besides its certificate (default: the CA's good one for localhost). */
  tls?: TlsOptions
  ending?: Ending
  /** Served instead by `startAlertingServer`: its answer cut by this sealed alert after its head, or in its place. */
  alerting?: { alert: number; after: 'head' | 'request' }
  /** Run on each new TLS connection before any request (`false`: the connection is dropped). */
  onSecure?: (socket: TLSSocket, connection: number, client: Socket) => boolean
  /** Answers one request; the socket is the test's to end. */
  respond: (socket: TLSSocket, served: Served) => void
  expect: Buffer | undefined
}

const http10 = (body: Buffer, type = 'image/jpeg') =>
  Buffer.concat([Buffer.from(`HTTP/1.0 200 OK\r\nContent-Type: ${type}\r\n\r\n`), body])
const withLength = (body: Buffer, extra = '') =>
  Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: ${body.length}\r\n${extra}\r\n`)

/** `openssl` with `args` in `dir`. */
const openssl = (dir: string, args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' })

/** A chain of `n` CAs under the test CA and a leaf for localhost under the last: the leaf then the CAs, as a server sends them. */
async function longChain(dir: string, n: number): Promise<{ cert: string; key: string }> {
  const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  let issuer = 'ca'
  const pems: string[] = []
  for (let i = 0; i <= n; i++) {
    const name = i === n ? 'long-leaf' : `long-${i}`
    const ext =
      i === n
        ? 'subjectAltName=DNS:localhost,IP:127.0.0.1'
        : 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign'
    openssl(dir, [
      'req',
      '-new',
      ...EC,
      '-subj',
      `/CN=${name}`,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
    ])
    await writeFile(join(dir, `${name}.ext`), `${ext}\n`)
    openssl(dir, [
      'x509',
      '-req',
      '-CAcreateserial',
      '-days',
      '2',
      '-sha256',
      '-CA',
      `${issuer}.pem`,
      '-CAkey',
      `${issuer}.key`,
      '-in',
      `${name}.csr`,
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.pem`,
    ])
    pems.unshift(await readFile(join(dir, `${name}.pem`), 'utf8'))
    issuer = name
  }
  // Leaf first, then each CA from the one that signed it up.
  const leaf = pems.shift()!
  await writeFile(join(dir, 'long-chain.pem'), leaf + pems.join(''))
  return { cert: join(dir, 'long-chain.pem'), key: join(dir, 'long-leaf.key') }
}

/** A DER OCSP response from the test CA saying `cert` is good (what a server staples). */
async function ocspResponse(dir: string, cert: string): Promise<Buffer> {
  const serial = openssl(dir, ['x509', '-in', cert, '-noout', '-serial']).toString().trim().split('=')[1]!
  const subject = openssl(dir, ['x509', '-in', cert, '-noout', '-subject', '-nameopt', 'compat'])
    .toString()
    .trim()
    .replace(/^subject=\s*/, '')
  await writeFile(join(dir, 'ocsp-index.txt'), `V\t991231235959Z\t\t${serial}\tunknown\t${subject}\n`)
  openssl(dir, ['ocsp', '-issuer', 'ca.pem', '-cert', cert, '-no_nonce', '-reqout', 'ocsp-req.der'])
  openssl(dir, [
    'ocsp',
    '-index',
    'ocsp-index.txt',
    '-rsigner',
    'ca.pem',
    '-rkey',
    'ca.key',
    '-CA',
    'ca.pem',
    '-reqin',
    'ocsp-req.der',
    '-respout',
    'ocsp-resp.der',
    '-ndays',
    '1',
  ])
  return readFile(join(dir, 'ocsp-resp.der'))
}

async function cases(dir: string) {
  const certs = makeCerts(dir)
  const pair = async (p: { cert: string; key: string }) => ({
    cert: await readFile(p.cert),
    key: await readFile(p.key),
  })
  const good = await pair(certs.good)
  const jpg = await noise(240, 180).jpeg({ quality: 85 }).toBuffer()
  const cut = jpg.subarray(0, Math.floor(jpg.length * 0.6))
  const long = await pair(await longChain(dir, 30))
  const staple = await ocspResponse(dir, certs.good.cert)
  const once = (bytes: Buffer) => (socket: TLSSocket) => socket.end(bytes)
  /** The image whole, its length stated. */
  const whole = (socket: TLSSocket) => socket.end(Buffer.concat([withLength(jpg), jpg]))
  const certCases: Case[] = []
  for (const [id, p, report] of [
    ['cert-other-name', certs.otherHost, 'nodejs/undici#5355: a certificate for another name'],
    [
      'cert-expired',
      certs.expired,
      'aria2/aria2#1494 (a handshake refused, in its words): a certificate that expired in 2020',
    ],
    [
      'cert-not-yet',
      certs.notYetValid,
      'curl/curl#12516, twpayne/chezmoi#3453 (a clock behind): a certificate valid only from 2099',
    ],
    [
      'cert-self-signed',
      certs.selfSigned,
      'nodejs/node#16336, request/request#3106 (a certificate no CA here issued): a self-signed certificate',
    ],
  ] as const)
    certCases.push({ id, report, file: `${id}.jpg`, tls: await pair(p), respond: whole, expect: undefined })
  const list: Case[] = [
    {
      id: 'close-whole-no-notify',
      report:
        'curl/curl#13389, curl/curl#17471: an HTTP/1.0 answer without a length, closed by a FIN with no close_notify (OpenSSL 3.2+: "unexpected eof"); the image whole',
      file: 'whole.jpg',
      ending: 'no-close-notify',
      respond: once(http10(jpg)),
      expect: jpg,
    },
    {
      id: 'close-cut-no-notify',
      report:
        'rustls/rustls#1406, pyca/pyopenssl#229 (the truncation attack): the same, the image cut at 60 %',
      file: 'cut.jpg',
      ending: 'no-close-notify',
      respond: once(http10(cut)),
      expect: undefined,
    },
    {
      id: 'close-cut-notify',
      report:
        'LadybirdBrowser/ladybird#11319 (taking a close as the end): close_notify sent early, then the FIN, the image cut at 60 %',
      file: 'early.jpg',
      respond: once(http10(cut)),
      expect: undefined,
    },
    {
      id: 'record-cut',
      report:
        'curl/curl#2899 (a TLS connection cut mid-transfer, error 56): a TLS record cut in its middle, then the FIN; length stated',
      file: 'record.jpg',
      ending: 'cut-record',
      respond: whole,
      expect: undefined,
    },
    {
      id: 'alert-after-head',
      report:
        'nodejs/node#34719, NLnetLabs/routinator#663: a fatal alert from the server after the head and part of the body (bad_record_mac: a record it could not decrypt, as a middlebox that corrupts one makes it)',
      file: 'alert.jpg',
      respond: (s, { inject }) =>
        s.write(Buffer.concat([withLength(jpg), cut]), () =>
          setTimeout(() => inject(Buffer.concat([Buffer.from([0x17, 3, 3, 0, 32]), randomBytes(32)])), 200),
        ),
      expect: undefined,
    },
    // The alert after the head and part of the body, or in place of the answer (a front whose
    // upstream failed); the TCP connection kept open after it either way.
    ...(['head', 'request'] as const).map(
      (after): Case => ({
        id: after === 'head' ? 'internal-error-mid-body' : 'internal-error-for-answer',
        report:
          'nodejs/node#34719, NLnetLabs/routinator#663 (`tlsv1 alert internal error`): a fatal internal_error alert from the server, the TCP connection kept open',
        file: `internal-${after}.jpg`,
        alerting: { alert: ALERT.internalError, after },
        respond: (s) => s.write(Buffer.concat([withLength(jpg), cut])),
        expect: undefined,
      }),
    ),
    {
      id: 'sni-default-cert',
      report:
        'curl/curl#14154 (a host whose answer depends on the hello): a server that serves a default certificate for another name when the hello names none; the URL by IP',
      file: 'sni.jpg',
      host: '127.0.0.1',
      tls: {
        ...(await pair(certs.otherHost)),
        SNICallback: (name, cb) => cb(null, name ? createSecureContext(good) : undefined),
      },
      respond: whole,
      expect: jpg,
    },
    ...certCases,
    {
      id: 'tls10-only',
      report: 'aria2/aria2#1653: a server offering TLS 1.0 and 1.1 only',
      file: 'old.jpg',
      tls: { ...good, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' },
      respond: whole,
      expect: jpg,
    },
    {
      id: 'alpn-not-offered',
      report:
        'postmanlabs/httpbin#497, eclipse-vertx/vert.x#5008: ALPN answered with a protocol the client did not offer (spdy/3.1 for http/1.1)',
      file: 'alpn.jpg',
      tls: { ...good, maxVersion: 'TLSv1.2', ALPNProtocols: ['http/1.1'] },
      respond: whole,
      expect: jpg,
    },
    {
      id: 'renegotiate-mid-body',
      report:
        'curl/curl#1475, bcgit/bc-java#593: a TLS 1.2 server (IIS) that asks to renegotiate after the request, mid-body',
      file: 'reneg.jpg',
      tls: { ...good, maxVersion: 'TLSv1.2' },
      respond: (s) => {
        const half = Math.floor(jpg.length / 2)
        s.write(Buffer.concat([withLength(jpg), jpg.subarray(0, half)]))
        s.renegotiate({ rejectUnauthorized: false }, () => s.end(jpg.subarray(half)))
      },
      expect: jpg,
    },
    {
      id: 'ocsp-stapled',
      report: 'openssl/openssl#7389, testssl/testssl.sh#467: an OCSP response stapled to the handshake',
      file: 'ocsp.jpg',
      tls: { ...good },
      respond: whole,
      expect: jpg,
    },
    {
      id: 'chain-30',
      report:
        'chromium/badssl.com#76, elixir-tesla/tesla#701: a chain of 30 intermediates sent with the leaf',
      file: 'long.jpg',
      tls: { ...long },
      respond: whole,
      expect: jpg,
    },
    {
      id: 'ticket-rejected',
      report:
        'eclipse-threadx/netxduo#403, openssl/openssl#6654: a 503 on the first connection, then the session ticket it gave refused (keys rotated) on the retry',
      file: 'ticket.jpg',
      respond: (s, { attempt }) =>
        s.end(
          attempt === 1
            ? Buffer.from(
                'HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n',
              )
            : Buffer.concat([withLength(jpg, 'Connection: close\r\n'), jpg]),
        ),
      expect: jpg,
    },
    {
      id: 'reset-first',
      report:
        'mozilla/crlite#262 (hosts that reset the first TLS connection), lycheeverse/lychee#2297: a reset right after the handshake, on the first connection only',
      file: 'reset.jpg',
      onSecure: (socket, connection, client) => {
        if (connection > 1) return true
        client.resetAndDestroy()
        socket.destroy()
        return false
      },
      respond: whole,
      expect: jpg,
    },
  ]
  for (const c of list) c.tls ??= { ...good }
  return { list, ca: certs.ca, staple }
}

/** A relay connection's own state, found by the port of its socket to the TLS server. */
interface Link {
  connection: number
  client: Socket
  upstream: Socket
  attempts: Map<string, number>
}

/**
 * A TCP relay to `tlsPort` for one tool: the server's bytes pass as they come, or (an `ending`
 * other than `pass`) in bursts of whole TLS records held 100 ms, so the last burst before the
 * server's close can be sent without its last record (the close_notify) or cut in the middle of
 * its data record.
 */
function relay(tlsPort: number, c: Case, links: Map<number, Link>): Promise<Server> {
  let connections = 0
  const attempts = new Map<string, number>()
  const server = createServer((client) => {
    client.on('error', () => {})
    const upstream = createConnection({ port: tlsPort, host: '127.0.0.1' })
    upstream.on('error', () => client.destroy())
    const connection = ++connections
    upstream.on('connect', () => links.set(upstream.localPort!, { connection, client, upstream, attempts }))
    client.pipe(upstream)
    client.on('close', () => upstream.destroy())
    const ending = c.ending ?? 'pass'
    let seen = 0
    if (ending === 'pass') {
      upstream.on('data', (d: Buffer) => {
        // A ServerHello's ALPN answer changed to one no client offers (TLS 1.2: the hello is plaintext).
        if (c.id === 'alpn-not-offered' && seen < 4096) {
          const at = d.indexOf('http/1.1')
          if (at >= 0) d.write('spdy/3.1', at)
        }
        seen += d.length
        client.write(d)
      })
      upstream.on('end', () => client.end())
      return
    }
    let pending = Buffer.alloc(0)
    let held: Buffer[] = []
    let timer: NodeJS.Timeout | undefined
    const flush = () => {
      for (const r of held) client.write(r)
      held = []
    }
    upstream.on('data', (d: Buffer) => {
      pending = Buffer.concat([pending, d])
      while (pending.length >= 5 && pending.length >= 5 + pending.readUInt16BE(3)) {
        const size = 5 + pending.readUInt16BE(3)
        held.push(pending.subarray(0, size))
        pending = pending.subarray(size)
      }
      clearTimeout(timer)
      timer = setTimeout(flush, 100)
    })
    upstream.on('end', () => {
      clearTimeout(timer)
      held.pop()
      if (ending === 'cut-record') {
        const data = held.pop()
        flush()
        if (data) client.write(data.subarray(0, Math.floor(data.length / 2)))
      } else flush()
      client.end()
    })
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)))
}

async function main() {
  const { only, toolIds } = benchArgs()
  const dir = await mkdtemp(join(tmpdir(), 'misbehave-tls-'))
  const { list, ca, staple } = await cases(dir)
  const chosen = only ? list.filter((c) => only.includes(c.id)) : list
  const tools = toolIds ? TOOLS.filter((t) => toolIds.includes(t.id)) : TOOLS
  // Each tool trusts the test CA, as a private CA is given to it.
  const trust: Record<string, string[]> = {
    imgpull: ['--ca-cert', ca],
    curl: ['--cacert', ca],
    wget2: [`--ca-certificate=${ca}`],
    aria2c: [`--ca-certificate=${ca}`],
  }
  const rows = [
    `| case | ${tools.map((t) => t.id).join(' | ')} |`,
    `|---|${tools.map(() => '---').join('|')}|`,
  ]
  const report = (c: Case, results: Awaited<ReturnType<typeof runTool>>[]) => {
    rows.push(`| ${c.id} | ${results.map((r) => `${r.verdict} ${r.seconds.toFixed(1)}s`).join(' | ')} |`)
    console.error(
      `${c.id}: ${results.map((r, i) => `${tools[i]!.id}=${r.verdict}(${r.code}) ${r.message}`).join('\n   ')}`,
    )
  }
  for (const c of chosen) {
    if (c.alerting) {
      const { alert, after } = c.alerting
      const respond = (s: TLSSocket) => c.respond(s, { connection: 1, attempt: 1, inject: () => {} })
      const served = await Promise.all(
        tools.map(() => startAlertingServer(c.tls as never, respond, alert, after)),
      )
      const results = await Promise.all(
        tools.map((t, i) => {
          const url = `https://localhost:${served[i]!.relay.port}/${t.id}/${c.file}`
          return runTool(t, url, c.file, c.expect, undefined, trust[t.id])
        }),
      )
      await Promise.all(served.map((s) => s.close()))
      report(c, results)
      continue
    }
    const links = new Map<number, Link>()
    const tls = createTlsServer(c.tls!, (socket) => {
      socket.on('error', () => {})
      const link = links.get(socket.remotePort!)
      if (!link) return socket.destroy()
      if (c.onSecure && !c.onSecure(socket, link.connection, link.client)) return
      eachRequest(socket, (request) => {
        const path = request.split(' ')[1] ?? '/'
        const attempt = (link.attempts.get(path) ?? 0) + 1
        link.attempts.set(path, attempt)
        c.respond(socket, { connection: link.connection, attempt, inject: (b) => link.upstream.write(b) })
      })
    })
    tls.on('tlsClientError', () => {})
    if (c.id === 'ocsp-stapled') tls.on('OCSPRequest', (_cert, _issuer, cb) => cb(null, staple))
    // Each handshake done rotates the ticket keys: a ticket given before is refused after.
    if (c.id === 'ticket-rejected') tls.on('secureConnection', () => tls.setTicketKeys(randomBytes(48)))
    await new Promise<void>((r) => tls.listen(0, '127.0.0.1', r))
    const tlsPort = (tls.address() as { port: number }).port
    const relays = await Promise.all(tools.map(() => relay(tlsPort, c, links)))
    const results = await Promise.all(
      tools.map((t, i) => {
        const port = (relays[i]!.address() as { port: number }).port
        const url = `https://${c.host ?? 'localhost'}:${port}/${t.id}/${c.file}`
        return runTool(t, url, c.file, c.expect, undefined, trust[t.id])
      }),
    )
    for (const r of relays) r.close()
    tls.close()
    report(c, results)
  }
  await rm(dir, { recursive: true, force: true })
  printTable(rows, chosen)
}

await main()

import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http'
import { createServer as createSecureServer } from 'node:https'
import { type AddressInfo, connect, type Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'

/**
 * A forward proxy on 127.0.0.1, as squid is to a client: absolute-form requests (`GET
 * http://host/path`) for http:// URLs, CONNECT tunnels for https:// ones. `auth`: the
 * `Proxy-Authorization` it requires (else 407). It logs what clients ask of it.
 */
export interface ForwardProxy {
  url: string
  log: { method: string; target: string; authorization?: string; range?: string; userAgent?: string }[]
  /** Connections clients opened to it so far. */
  connections(): number
  /** With `askClientCert`: the CN of the client certificate each TLS connection to it showed ('' none). */
  clientCerts: string[]
  close(): Promise<void>
}

export async function startForwardProxy({
  auth,
  tls,
  dropRange,
  port = 0,
  userAgentRequired,
  proxyStatus,
  challenges = ['Basic realm="test"'],
  sslPorts,
  askClientCert,
}: {
  /** Refuse (403) a CONNECT to any other port, as Squid's default `http_access deny CONNECT !SSL_ports` does. */
  sslPorts?: number[]
  /** Served over TLS, ask each client for a certificate (taking a connection without one), noted in `clientCerts`. */
  askClientCert?: boolean
  /** Its 407's `Proxy-Authenticate` headers, one a line (a Windows proxy's: `Negotiate`, `NTLM`). */
  challenges?: string[]
  /** Say why a host could not be reached in RFC 9209's `Proxy-Status` (`error=connection_refused`), as Envoy and HAProxy do. */
  proxyStatus?: boolean
  auth?: string
  /** Refuse (403) a CONNECT or request without `User-Agent`, as company proxies that allow by client do. */
  userAgentRequired?: boolean
  /** Close a plain request that carries `Range` without a word (a proxy or firewall that drops them). */
  dropRange?: boolean
  /** The port to listen on (a free one by default). */
  port?: number
  /** Served over TLS (an https:// proxy, as `curl -x https://…` speaks to), with this key pair. */
  tls?: { cert: Buffer; key: Buffer }
} = {}): Promise<ForwardProxy> {
  const log: ForwardProxy['log'] = []
  const sockets = new Set<Socket>()
  const allowed = (req: IncomingMessage) => !auth || req.headers['proxy-authorization'] === auth
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    log.push({
      method: req.method!,
      target: req.url!,
      authorization: req.headers['proxy-authorization'],
      ...(req.headers.range ? { range: req.headers.range } : {}),
    })
    if (dropRange && req.headers.range) {
      req.socket.destroy()
      return
    }
    if (!allowed(req)) {
      res.writeHead(407, { 'proxy-authenticate': challenges, 'content-length': 0 }).end()
      return
    }
    if (userAgentRequired && !req.headers['user-agent']) {
      res.writeHead(403, { 'content-type': 'text/html' }).end('<h1>Access denied: unknown client</h1>')
      return
    }
    let target: URL
    try {
      target = new URL(req.url!)
    } catch {
      res.writeHead(400).end('absolute-form only')
      return
    }
    const headers = { ...req.headers }
    delete headers['proxy-authorization']
    delete headers['proxy-connection']
    const upstream = request(target, { method: req.method, headers }, (answer) => {
      res.writeHead(answer.statusCode!, answer.rawHeaders)
      answer.pipe(res)
      // An answer the server cut is cut for the client too, as a proxy passes it on.
      answer.on('aborted', () => res.destroy())
    })
    upstream.on('error', (e: NodeJS.ErrnoException) =>
      res
        .writeHead(502, proxyStatus ? { 'proxy-status': `test-proxy; error=${statusError(e)}` } : {})
        .end('bad gateway'),
    )
    req.pipe(upstream)
  }
  const server: Server = tls
    ? createSecureServer(
        askClientCert ? { ...tls, requestCert: true, rejectUnauthorized: false } : tls,
        handle,
      )
    : createServer(handle)
  const clientCerts: string[] = []
  server.on('secureConnection', (socket: TLSSocket) =>
    clientCerts.push(String(socket.getPeerCertificate()?.subject?.CN ?? '')),
  )
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    log.push({
      method: 'CONNECT',
      target: req.url!,
      authorization: req.headers['proxy-authorization'],
      ...(req.headers['user-agent'] ? { userAgent: req.headers['user-agent'] } : {}),
    })
    if (userAgentRequired && !req.headers['user-agent']) {
      client.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n')
      return
    }
    if (!allowed(req)) {
      const lines = challenges.map((c) => `Proxy-Authenticate: ${c}\r\n`).join('')
      client.end(`HTTP/1.1 407 Proxy Authentication Required\r\n${lines}\r\n`)
      return
    }
    const [host, port] = req.url!.split(':')
    if (sslPorts && !sslPorts.includes(Number(port))) {
      client.end('HTTP/1.1 403 Forbidden\r\nX-Squid-Error: ERR_ACCESS_DENIED 0\r\nContent-Length: 0\r\n\r\n')
      return
    }
    const upstream = connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      upstream.write(head)
      upstream.pipe(client)
      client.pipe(upstream)
    })
    const drop = () => {
      upstream.destroy()
      client.destroy()
    }
    upstream.on('error', (e: NodeJS.ErrnoException) => {
      const said = proxyStatus ? `Proxy-Status: test-proxy; error=${statusError(e)}\r\n` : ''
      if (!client.destroyed) client.end(`HTTP/1.1 502 Bad Gateway\r\n${said}\r\n`)
    })
    client.on('error', drop)
    sockets.add(upstream)
    upstream.on('close', () => sockets.delete(upstream))
  })
  let connections = 0
  server.on('connection', (s: Socket) => {
    connections++
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`,
    log,
    connections: () => connections,
    clientCerts,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** RFC 9209's error type for a failed connection to the host. */
const statusError = (e: NodeJS.ErrnoException) =>
  e.code === 'ECONNREFUSED'
    ? 'connection_refused'
    : e.code === 'ENOTFOUND'
      ? 'dns_error'
      : 'destination_unavailable'

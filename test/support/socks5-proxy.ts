import { type AddressInfo, connect, createServer, isIP, type Socket } from 'node:net'

/**
 * A SOCKS5 proxy on 127.0.0.1 (RFC 1928, with RFC 1929 user/password when `auth` is given), as
 * `ssh -D` or Tor is to a client: CONNECT only. It logs every request (the host as the client sent
 * it: a name when the client leaves resolution to the proxy) and can refuse hosts with a reply code.
 */
export interface Socks5Proxy {
  /** `socks5://127.0.0.1:PORT` */
  url: string
  port: number
  log: { host: string; port: number; addressType: 'ipv4' | 'domain' | 'ipv6'; user?: string }[]
  close(): Promise<void>
}

export interface Socks5Options {
  /**
   * `user:password` the proxy requires (method 0x02; as UTF-8, or a Buffer's very bytes); without
   * it, no authentication (0x00).
   */
  auth?: string | Buffer
  /** Reply code (RFC 1928 §6) for a CONNECT to this host name instead of connecting. */
  refuse?: Record<string, number>
  /**
   * Names the proxy resolves besides `localhost` (to their address): hosts its own network knows,
   * as a remote proxy's DNS does, which the client's cannot resolve.
   */
  hosts?: Record<string, string>
  /** ms before a CONNECT is answered: Tor building a circuit. @default 0 */
  connectDelay?: number
}

/** Reads exactly what the protocol asks for from a socket, however the bytes arrive. */
class Reader {
  #buffer = Buffer.alloc(0)
  #wake: (() => void) | undefined
  #ended = false
  constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, d])
      this.#wake?.()
    })
    socket.on('close', () => {
      this.#ended = true
      this.#wake?.()
    })
  }
  async take(n: number): Promise<Buffer> {
    while (this.#buffer.length < n) {
      if (this.#ended) throw new Error('client went away')
      await new Promise<void>((resolve) => {
        this.#wake = resolve
      })
    }
    const out = this.#buffer.subarray(0, n)
    this.#buffer = this.#buffer.subarray(n)
    return out
  }
  /** What came after the request (the start of the tunnelled bytes). */
  rest(): Buffer {
    this.socket.removeAllListeners('data')
    return this.#buffer
  }
}

const reply = (code: number) => Buffer.from([5, code, 0, 1, 0, 0, 0, 0, 0, 0])

export async function startSocks5Proxy(options: Socks5Options = {}): Promise<Socks5Proxy> {
  const log: Socks5Proxy['log'] = []
  const sockets = new Set<Socket>()
  const serve = async (client: Socket) => {
    const read = new Reader(client)
    const [version, count] = await read.take(2)
    if (version !== 5) return client.destroy()
    const methods = [...(await read.take(count))]
    const want = options.auth ? 2 : 0
    if (!methods.includes(want)) return client.end(Buffer.from([5, 0xff]))
    client.write(Buffer.from([5, want]))
    let user: string | undefined
    if (options.auth) {
      const [, userLength] = await read.take(2)
      const userBytes = await read.take(userLength)
      user = userBytes.toString()
      const [passwordLength] = await read.take(1)
      const password = await read.take(passwordLength)
      const ok = Buffer.concat([userBytes, Buffer.from(':'), password]).equals(Buffer.from(options.auth))
      client.write(Buffer.from([1, ok ? 0 : 1]))
      if (!ok) return client.end()
    }
    const [, command, , type] = await read.take(4)
    let host: string
    let addressType: Socks5Proxy['log'][number]['addressType']
    if (type === 1) {
      host = [...(await read.take(4))].join('.')
      addressType = 'ipv4'
    } else if (type === 3) {
      const [length] = await read.take(1)
      host = (await read.take(length)).toString()
      addressType = 'domain'
    } else {
      const raw = await read.take(16)
      host = (raw.toString('hex').match(/.{4}/g) ?? []).join(':')
      addressType = 'ipv6'
    }
    const port = (await read.take(2)).readUInt16BE(0)
    log.push({ host, port, addressType, ...(user ? { user } : {}) })
    if (command !== 1) return client.end(reply(7))
    const refused = options.refuse?.[host]
    if (refused !== undefined) return client.end(reply(refused))
    // A name is resolved here, as a remote proxy would (localhost only, in tests; written fully
    // qualified, `localhost.`, the same host).
    const address = isIP(host)
      ? host
      : host === 'localhost' || host === 'localhost.'
        ? '127.0.0.1'
        : options.hosts?.[host]
    if (!address) return client.end(reply(4))
    const upstream = connect(port, address)
    sockets.add(upstream)
    upstream.on('close', () => sockets.delete(upstream))
    upstream.on('error', () => {
      if (!client.destroyed) client.end(reply(5))
    })
    upstream.once('connect', async () => {
      if (options.connectDelay) await new Promise((resolve) => setTimeout(resolve, options.connectDelay))
      if (client.destroyed) return upstream.destroy()
      client.write(reply(0))
      const early = read.rest()
      if (early.length > 0) upstream.write(early)
      client.pipe(upstream)
      upstream.pipe(client)
      upstream.removeAllListeners('error')
      upstream.on('error', () => client.destroy())
      client.on('error', () => upstream.destroy())
    })
  }
  const server = createServer((client) => {
    sockets.add(client)
    client.on('close', () => sockets.delete(client))
    client.on('error', () => {})
    serve(client).catch(() => client.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `socks5://127.0.0.1:${port}`,
    port,
    log,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}

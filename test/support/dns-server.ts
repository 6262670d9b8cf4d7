import { createSocket, type RemoteInfo } from 'node:dgram'
import { createServer, isIPv4, type Server, type Socket } from 'node:net'

/**
 * A small authoritative DNS server (RFC 1035) over UDP and TCP on one address and port, written
 * for the tests and the DNS bench: each query is answered as `answer` says, so a case can send
 * SERVFAIL once and then the address, set the TC bit over UDP and answer over TCP only, chain
 * CNAMEs or loop them, answer nothing at all. Names in answers are written out whole (no
 * compression); EDNS in a query is read past and not answered.
 */
export type RecordType = 'A' | 'AAAA' | 'CNAME'

export interface DnsRecord {
  name: string
  type: RecordType
  /** An address (A, AAAA) or a name (CNAME). */
  data: string
  ttl?: number
}

export interface DnsQuery {
  /** The name as it came (case kept, no final dot). */
  name: string
  /** `A`, `AAAA`, `CNAME`, or the number of another type. */
  type: string
  tcp: boolean
}

export interface DnsReply {
  /** 0 NOERROR (default), 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED. */
  rcode?: number
  answers?: DnsRecord[]
  /** Over UDP: the answer cut, TC set, no records (the client asks again over TCP). */
  truncate?: boolean
  /** No answer at all (a server down, packets dropped). */
  silent?: boolean
  /** The answer sent this many ms late (a recursive resolver that tried dead servers first). */
  delayMs?: number
}

export interface DnsServer {
  host: string
  port: number
  /** Every query received, in order. */
  queries: DnsQuery[]
  close(): Promise<void>
}

const TYPES: Record<number, RecordType> = { 1: 'A', 5: 'CNAME', 28: 'AAAA' }
const CODES: Record<RecordType, number> = { A: 1, CNAME: 5, AAAA: 28 }

/** `name` in DNS's wire form: each label after its length, then a zero. */
function encodeName(name: string): Buffer {
  const labels = name.replace(/\.$/, '').split('.').filter(Boolean)
  return Buffer.concat([
    ...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])),
    Buffer.from([0]),
  ])
}

function decodeName(msg: Buffer, at: number): { name: string; end: number } {
  const labels: string[] = []
  let i = at
  while (i < msg.length && msg[i] !== 0) {
    const len = msg[i]!
    labels.push(msg.subarray(i + 1, i + 1 + len).toString('latin1'))
    i += 1 + len
  }
  return { name: labels.join('.'), end: i + 1 }
}

function ipv6Bytes(address: string): Buffer {
  const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined]
  const a = head ? head.split(':') : []
  const b = tail ? tail.split(':') : []
  const groups = tail === undefined ? a : [...a, ...Array(8 - a.length - b.length).fill('0'), ...b]
  const out = Buffer.alloc(16)
  for (const [n, g] of groups.entries()) out.writeUInt16BE(Number.parseInt(g || '0', 16), n * 2)
  return out
}

function encodeRecord(r: DnsRecord): Buffer {
  const data =
    r.type === 'A' && isIPv4(r.data)
      ? Buffer.from(r.data.split('.').map(Number))
      : r.type === 'AAAA'
        ? ipv6Bytes(r.data)
        : encodeName(r.data)
  const fixed = Buffer.alloc(10)
  fixed.writeUInt16BE(CODES[r.type], 0)
  fixed.writeUInt16BE(1, 2)
  fixed.writeUInt32BE(r.ttl ?? 60, 4)
  fixed.writeUInt16BE(data.length, 8)
  return Buffer.concat([encodeName(r.name), fixed, data])
}

/** The answer to `query` (its header and question kept), or undefined for one not to answer. */
function reply(
  query: Buffer,
  tcp: boolean,
  answer: (q: DnsQuery) => DnsReply,
  log: DnsQuery[],
): { out: Buffer; delayMs: number } | undefined {
  if (query.length < 12) return undefined
  const { name, end } = decodeName(query, 12)
  const qtype = query.readUInt16BE(end)
  const q: DnsQuery = { name, type: TYPES[qtype] ?? String(qtype), tcp }
  log.push(q)
  const r = answer(q)
  if (r.silent) return undefined
  const truncate = !tcp && r.truncate
  const answers = truncate ? [] : (r.answers ?? [])
  const header = Buffer.alloc(12)
  header.writeUInt16BE(query.readUInt16BE(0), 0)
  // QR, opcode 0, AA, TC as asked, RD copied; RA; the rcode.
  const rd = query[2]! & 0x01
  header[2] = 0x80 | 0x04 | (truncate ? 0x02 : 0) | rd
  header[3] = 0x80 | ((r.rcode ?? 0) & 0x0f)
  header.writeUInt16BE(1, 4)
  header.writeUInt16BE(answers.length, 6)
  const out = Buffer.concat([header, query.subarray(12, end + 4), ...answers.map(encodeRecord)])
  return { out, delayMs: r.delayMs ?? 0 }
}

/** Starts the server on `host` (default 127.0.0.1) and `port` (default: any free one, UDP and TCP alike). */
export async function startDnsServer(
  answer: (q: DnsQuery) => DnsReply,
  where: { host?: string; port?: number } = {},
): Promise<DnsServer> {
  // UDP takes a free port, then TCP the same number, which another test's connection may hold
  // (EADDRINUSE in a fresh clone's run): another free port then.
  for (let tries = 1; ; tries++) {
    try {
      return await startOnce(answer, where)
    } catch (error) {
      const taken = (error as NodeJS.ErrnoException).code === 'EADDRINUSE'
      if (!taken || (where.port ?? 0) !== 0 || tries >= 10) throw error
    }
  }
}

async function startOnce(
  answer: (q: DnsQuery) => DnsReply,
  { host = '127.0.0.1', port = 0 }: { host?: string; port?: number },
): Promise<DnsServer> {
  const queries: DnsQuery[] = []
  const timers = new Set<NodeJS.Timeout>()
  const later = (ms: number, send: () => void) => {
    if (ms <= 0) return send()
    const timer = setTimeout(() => {
      timers.delete(timer)
      send()
    }, ms)
    timers.add(timer)
  }
  const udp = createSocket(isIPv4(host) ? 'udp4' : 'udp6')
  udp.on('message', (msg: Buffer, from: RemoteInfo) => {
    const r = reply(msg, false, answer, queries)
    if (r) later(r.delayMs, () => udp.send(r.out, from.port, from.address))
  })
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject)
    udp.bind(port, host, () => resolve())
  })
  const bound = udp.address().port
  const sockets = new Set<Socket>()
  const tcp: Server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    let buffered = Buffer.alloc(0)
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk])
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const msg = buffered.subarray(2, 2 + buffered.readUInt16BE(0))
        buffered = buffered.subarray(2 + msg.length)
        const r = reply(msg, true, answer, queries)
        if (!r) continue
        const len = Buffer.alloc(2)
        len.writeUInt16BE(r.out.length)
        later(r.delayMs, () => socket.write(Buffer.concat([len, r.out])))
      }
    })
  })
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', (e) => {
      udp.close()
      reject(e)
    })
    tcp.listen(bound, host, () => resolve())
  })
  return {
    host,
    port: bound,
    queries,
    close: () =>
      new Promise((resolve) => {
        for (const t of timers) clearTimeout(t)
        for (const s of sockets) s.destroy()
        udp.close()
        tcp.close(() => resolve())
      }),
  }
}

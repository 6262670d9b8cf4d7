import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto'
import { createConnection, createServer as createNetServer } from 'node:net'
import { createServer as createTlsServer, type TLSSocket } from 'node:tls'
import { type LocalServer, listenLocal } from './raw-server.js'

/**
 * TLS 1.3's HKDF-Expand-Label (RFC 8446 §7.1) with SHA-256 and no context: `length` bytes (at
 * most 32) of `secret` for `label`.
 */
function expandLabel(secret: Buffer, label: string, length: number): Buffer {
  const full = Buffer.from(`tls13 ${label}`)
  const info = Buffer.concat([Buffer.from([length >> 8, length & 0xff, full.length]), full, Buffer.from([0])])
  return createHmac('sha256', secret)
    .update(Buffer.concat([info, Buffer.from([1])]))
    .digest()
    .subarray(0, length)
}

/** The write key and IV of a TLS 1.3 traffic secret (TLS_AES_128_GCM_SHA256), and its record count. */
interface Keys {
  key: Buffer
  iv: Buffer
  seq: bigint
}

function nonce(keys: Keys): Buffer {
  const n = Buffer.from(keys.iv)
  const seq = Buffer.alloc(12)
  seq.writeBigUInt64BE(keys.seq, 4)
  for (let i = 0; i < 12; i++) n[i]! ^= seq[i]!
  return n
}

/** The inner plaintext of `record` (type byte last) if these keys open it, counting it; else undefined. */
function open(keys: Keys, record: Buffer): Buffer | undefined {
  const body = record.subarray(5)
  try {
    const d = createDecipheriv('aes-128-gcm', keys.key, nonce(keys))
    d.setAAD(record.subarray(0, 5))
    d.setAuthTag(body.subarray(body.length - 16))
    const plain = Buffer.concat([d.update(body.subarray(0, body.length - 16)), d.final()])
    keys.seq++
    return plain
  } catch {
    return undefined
  }
}

/** A record that the server's keys seal: `content` of TLS content type `type`. */
function seal(keys: Keys, content: Buffer, type: number): Buffer {
  const inner = Buffer.concat([content, Buffer.from([type])])
  const header = Buffer.from([0x17, 3, 3, (inner.length + 16) >> 8, (inner.length + 16) & 0xff])
  const c = createCipheriv('aes-128-gcm', keys.key, nonce(keys))
  c.setAAD(header)
  const sealed = Buffer.concat([header, c.update(inner), c.final(), c.getAuthTag()])
  keys.seq++
  return sealed
}

/** TLS alert descriptions (RFC 8446 §6). */
export const ALERT = { internalError: 80, badRecordMac: 20, decodeError: 50 } as const

/**
 * A TLS 1.3 server whose answer is cut by a fatal alert (`alert`, one of `ALERT`), sealed with its
 * own keys as its TLS stack would send it, after which it sends nothing and keeps the TCP
 * connection open (a server that does not close after its alert). `respond` writes each answer;
 * the record that carries its head goes out before the alert (`after: 'head'`) or is replaced by it
 * (`after: 'request'`). A relay in front reads the server's records with the traffic secret its
 * `keylog` gives (TLS_AES_128_GCM_SHA256 alone is offered).
 */
export async function startAlertingServer(
  pair: { cert: Buffer; key: Buffer },
  respond: (socket: TLSSocket) => void,
  alert: number,
  after: 'head' | 'request',
): Promise<{ relay: LocalServer; close(): Promise<void> }> {
  const secrets = new Map<number, Buffer>()
  const tls = createTlsServer(
    { ...pair, minVersion: 'TLSv1.3', ciphers: 'TLS_AES_128_GCM_SHA256' },
    (socket) => {
      socket.on('error', () => {})
      socket.once('data', () => respond(socket))
    },
  )
  tls.on('keylog', (line, socket) => {
    const [label, , secret] = line.toString().trim().split(' ')
    if (label === 'SERVER_TRAFFIC_SECRET_0') secrets.set(socket.remotePort!, Buffer.from(secret!, 'hex'))
  })
  const inner = await listenLocal(tls, 'https')
  const relay = createNetServer((client) => {
    const upstream = createConnection({ port: inner.port, host: '127.0.0.1' })
    client.on('error', () => upstream.destroy())
    upstream.on('error', () => client.destroy())
    client.pipe(upstream)
    let keys: Keys | undefined
    let pending = Buffer.alloc(0)
    let done = false
    upstream.on('data', (d: Buffer) => {
      pending = Buffer.concat([pending, d])
      while (!done && pending.length >= 5 && pending.length >= 5 + pending.readUInt16BE(3)) {
        const record = pending.subarray(0, 5 + pending.readUInt16BE(3))
        pending = pending.subarray(record.length)
        const secret = secrets.get(upstream.localPort!)
        if (!keys && secret)
          keys = { key: expandLabel(secret, 'key', 16), iv: expandLabel(secret, 'iv', 12), seq: 0n }
        // Handshake records (sealed with other keys) pass as they are.
        const plain = keys && record[0] === 0x17 ? open(keys, record) : undefined
        const answer = plain?.includes('HTTP/1.1 ')
        if (!answer || after === 'head') client.write(record)
        // Left out: the alert takes its place in the record count.
        else if (keys) keys.seq--
        if (answer && keys) {
          client.write(seal(keys, Buffer.from([2, alert]), 0x15))
          done = true
        }
      }
    })
  })
  const front = await listenLocal(relay, 'https')
  return { relay: front, close: async () => void (await Promise.all([front.close(), inner.close()])) }
}

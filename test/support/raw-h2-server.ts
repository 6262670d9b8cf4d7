import { createServer as createHttp1Server, type RequestListener } from 'node:http'
import { createServer as createTlsServer, type TLSSocket } from 'node:tls'
import { type LocalServer, listenLocal } from './raw-server.js'

/**
 * A TLS server offering h2 and http/1.1 (ALPN) whose HTTP/2 answers are frames the test writes
 * itself, byte for byte: for what Node's http2 server will not send (a body longer than its
 * content-length, connection-specific header fields, a header block in many CONTINUATION frames).
 * Over HTTP/1.1 `http1` answers (a plain `http` request listener); `alpn`: the protocols it offers
 * (`['h2']`: HTTP/2 alone, its handshake refusing a client that offers HTTP/1.1 alone).
 *
 * It speaks just enough HTTP/2 for a client: its SETTINGS (empty), an ACK to the client's SETTINGS
 * and PINGs; it ignores WINDOW_UPDATE, PRIORITY and the rest, and keeps no flow-control window
 * (answers stay under the 65,535 bytes every stream may take). It does not decode the request's
 * header block (HPACK with Huffman coding): `answer` gets the stream's id, how many requests came
 * over HTTP/2 before it and the connection, and returns the frames to write (`frames.*`).
 */
export interface RawH2Server extends LocalServer {
  /** Requests seen over HTTP/2 and over HTTP/1.1. */
  seen: { h2: number; h1: number }
}

export async function startRawH2Server(
  tls: { cert: Buffer; key: Buffer },
  answer: (stream: number, index: number, socket: TLSSocket) => Buffer[],
  http1: RequestListener,
  {
    alpn = ['h2', 'http/1.1'],
    settings = Buffer.alloc(0),
    onSession,
  }: {
    alpn?: string[]
    /** The payload of its first SETTINGS frame (`frames.settingsPayload`); `null`: it sends none. */
    settings?: Buffer | null
    /** Called with each HTTP/2 connection's socket once its preface is sent, for frames not asked for. */
    onSession?: (socket: TLSSocket) => void
  } = {},
): Promise<RawH2Server> {
  const seen = { h2: 0, h1: 0 }
  const h1 = createHttp1Server((req, res) => {
    seen.h1++
    http1(req, res)
  })
  const server = createTlsServer({ ...tls, ALPNProtocols: alpn }, (socket: TLSSocket) => {
    socket.on('error', () => {})
    if (socket.alpnProtocol !== 'h2') {
      h1.emit('connection', socket)
      return
    }
    if (settings) socket.write(frame(SETTINGS, 0, 0, settings))
    onSession?.(socket)
    let buffered = Buffer.alloc(0)
    let prefaceRead = false
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk])
      if (!prefaceRead) {
        if (buffered.length < PREFACE.length) return
        prefaceRead = true
        buffered = buffered.subarray(PREFACE.length)
      }
      while (buffered.length >= 9) {
        const length = buffered.readUIntBE(0, 3)
        if (buffered.length < 9 + length) return
        const [type, flags, stream] = [buffered[3], buffered[4], buffered.readUInt32BE(5) & 0x7fffffff]
        const payload = buffered.subarray(9, 9 + length)
        buffered = buffered.subarray(9 + length)
        if (type === SETTINGS && !(flags & ACK)) socket.write(frame(SETTINGS, ACK, 0, Buffer.alloc(0)))
        else if (type === PING && !(flags & ACK)) socket.write(frame(PING, ACK, 0, payload))
        // A request's header block ends with END_HEADERS, on its HEADERS or its last CONTINUATION.
        else if ((type === HEADERS || type === CONTINUATION) && flags & END_HEADERS)
          for (const f of answer(stream, seen.h2++, socket)) if (!socket.destroyed) socket.write(f)
      }
    })
  })
  return { ...(await listenLocal(server, 'https')), seen }
}

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')
const [DATA, HEADERS, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION, ALTSVC] =
  [0, 1, 3, 4, 5, 6, 7, 8, 9, 10]
const [END_STREAM, ACK, END_HEADERS, PADDED] = [1, 1, 4, 8]
/** The largest frame payload a peer takes before its SETTINGS say more (RFC 9113 §4.2). */
const MAX_FRAME = 16_384

/** One HTTP/2 frame (RFC 9113 §4.1): its 9-byte header, then `payload`. */
export function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9)
  head.writeUIntBE(payload.length, 0, 3)
  head[3] = type
  head[4] = flags
  head.writeUInt32BE(stream, 5)
  return Buffer.concat([head, payload])
}

/** An HPACK integer (RFC 7541 §5.1) with an `n`-bit prefix, `first` holding the bits above it. */
function hpackInteger(value: number, n: number, first = 0): number[] {
  const max = (1 << n) - 1
  if (value < max) return [first | value]
  const out = [first | max]
  for (value -= max; value >= 128; value >>= 7) out.push((value & 127) | 128)
  out.push(value)
  return out
}

const hpackString = (s: string) => {
  const bytes = Buffer.from(s, 'latin1')
  return [...hpackInteger(bytes.length, 7), ...bytes]
}

/**
 * A header block of literal fields without indexing, new names, no Huffman coding (RFC 7541
 * §6.2.2): the decoder's dynamic table is never touched, so any block may follow any other.
 */
export function hpack(fields: [string, string][]): Buffer {
  return Buffer.from(fields.flatMap(([name, value]) => [0, ...hpackString(name), ...hpackString(value)]))
}

/** The frames of an answer, for `startRawH2Server`'s `answer`. */
export const frames = {
  /**
   * An answer's head: `fields` (`:status` first) in one HEADERS frame, or split into a HEADERS and
   * `continuations` CONTINUATION frames (RFC 9113 §6.10); `end`: END_STREAM on the HEADERS (no body).
   */
  headers(stream: number, fields: [string, string][], { continuations = 0, end = false } = {}): Buffer[] {
    const block = hpack(fields)
    const pieces = continuations + 1
    const size = Math.ceil(block.length / pieces)
    const parts = Array.from({ length: pieces }, (_, i) => block.subarray(i * size, (i + 1) * size))
    return parts.map((part, i) => {
      const last = i === pieces - 1 ? END_HEADERS : 0
      return i === 0
        ? frame(HEADERS, last | (end ? END_STREAM : 0), stream, part)
        : frame(CONTINUATION, last, stream, part)
    })
  },
  /** `body` in DATA frames of at most 16 KiB, the last with END_STREAM unless `end` is false. */
  data(stream: number, body: Buffer, { end = true } = {}): Buffer[] {
    const out: Buffer[] = []
    for (let at = 0; at < body.length || out.length === 0; at += MAX_FRAME) {
      const last = at + MAX_FRAME >= body.length
      out.push(frame(DATA, last && end ? END_STREAM : 0, stream, body.subarray(at, at + MAX_FRAME)))
    }
    return out
  },
  /** `body` in DATA frames of at most 16 KiB less `pad`+1, each PADDED with `pad` zero bytes (RFC 9113 §6.1). */
  paddedData(stream: number, body: Buffer, pad: number): Buffer[] {
    const out: Buffer[] = []
    const room = MAX_FRAME - pad - 1
    for (let at = 0; at < body.length; at += room) {
      const last = at + room >= body.length ? END_STREAM : 0
      const payload = Buffer.concat([Buffer.from([pad]), body.subarray(at, at + room), Buffer.alloc(pad)])
      out.push(frame(DATA, PADDED | last, stream, payload))
    }
    return out
  },
  /** A SETTINGS payload of `[identifier, value]` pairs (RFC 9113 §6.5.1): 3 MAX_CONCURRENT_STREAMS, 4 INITIAL_WINDOW_SIZE. */
  settingsPayload(pairs: [number, number][]): Buffer {
    const payload = Buffer.alloc(6 * pairs.length)
    pairs.forEach(([id, value], i) => {
      payload.writeUInt16BE(id, 6 * i)
      payload.writeUInt32BE(value, 6 * i + 2)
    })
    return payload
  },
  settings(pairs: [number, number][]): Buffer {
    return frame(SETTINGS, 0, 0, frames.settingsPayload(pairs))
  },
  rstStream(stream: number, code: number): Buffer {
    const payload = Buffer.alloc(4)
    payload.writeUInt32BE(code)
    return frame(RST_STREAM, 0, stream, payload)
  },
  /** A WINDOW_UPDATE: on stream 0, one taking the window past 2^31-1 is a connection's FLOW_CONTROL_ERROR (RFC 9113 §6.9.1). */
  windowUpdate(stream: number, increment: number): Buffer {
    const payload = Buffer.alloc(4)
    payload.writeUInt32BE(increment)
    return frame(WINDOW_UPDATE, 0, stream, payload)
  },
  /** A PING (not an ACK) carrying `n` as its 8 bytes: the client must answer each (RFC 9113 §6.7). */
  ping(n: number): Buffer {
    const payload = Buffer.alloc(8)
    payload.writeBigUInt64BE(BigInt(n))
    return frame(PING, 0, 0, payload)
  },
  /** A PUSH_PROMISE on `stream` promising stream `promised` for GET / (RFC 9113 §6.6; HPACK's static :method GET, :scheme https, :path /). */
  pushPromise(stream: number, promised: number): Buffer {
    const payload = Buffer.from([0, 0, 0, promised, 0x82, 0x87, 0x84])
    return frame(PUSH_PROMISE, END_HEADERS, stream, payload)
  },
  /** An ALTSVC frame (RFC 7838 §4): on `stream`, `origin` (empty on a request's stream) and its field value. */
  altsvc(stream: number, origin: string, value: string): Buffer {
    const length = Buffer.alloc(2)
    length.writeUInt16BE(origin.length)
    return frame(ALTSVC, 0, stream, Buffer.concat([length, Buffer.from(origin + value, 'latin1')]))
  },
  goaway(lastStream: number, code: number): Buffer {
    const payload = Buffer.alloc(8)
    payload.writeUInt32BE(lastStream)
    payload.writeUInt32BE(code, 4)
    return frame(GOAWAY, 0, 0, payload)
  },
}

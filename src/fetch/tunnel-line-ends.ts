import type { Socket } from 'node:net'
import { Duplex } from 'node:stream'

const isLineEnd = (byte: number | undefined) => byte === 0x0d || byte === 0x0a

/** How many bytes `bytes` begins with that are CR or LF. */
function leadingLineEnds(bytes: Buffer): number {
  let start = 0
  while (isLineEnd(bytes[start])) start++
  return start
}

/**
 * The line ends an HTTP proxy writes into its tunnels after its `CONNECT` 2xx, dropped before the
 * server's first byte: a proxy that writes one CR LF too many (a blank line of its own after its
 * head's, a relay that leaks bytes past the head: alpkeskin/rota#19) had them read as the start of
 * the TLS handshake, and every https:// file failed `tls` as a tunnel whose answer is not TLS. No
 * TLS record begins with CR or LF (its first byte is its content type, 20 to 24: RFC 8446 §5.1),
 * so nothing of the server's is dropped, and TLS checks every byte after them.
 *
 * Those that came with the head are dropped from the socket itself. Those that come in a packet
 * of their own, after it (the proxy's second write, as a client's CONNECT whose last CR LF went
 * alone broke the proxy behind it: psf/requests#5384), reach TLS past that socket's own reading:
 * so each tunnel is read through a stream that drops them (`LineEndsDropped`) until the proxy has
 * shown one whose first byte is not a line end, and for the run once it has shown one that began
 * with some. A proxy that writes none pays for that stream on its first tunnels alone (TLS over a
 * JavaScript stream rather than the socket's own handle: a tenth to a fifth more CPU a byte,
 * measured here on 268 MB).
 *
 * One per proxy (its pool of `CONNECT`s), for the thread's run.
 */
export class TunnelLineEnds {
  /** What this proxy's tunnels have shown: line ends before the server's first byte, or none. */
  #seen: 'some' | 'none' | undefined

  /** `socket` (a tunnel just opened: the proxy's 2xx read), or a stream over it without the line ends its proxy writes (see above). */
  tunnel(socket: Socket): Socket | Duplex {
    let head: Buffer | undefined
    if (socket.readableLength) {
      const buffered = socket.read() as Buffer | null
      const start = buffered ? leadingLineEnds(buffered) : 0
      if (start > 0) this.#seen = 'some'
      head = buffered?.subarray(start)
      if (head && head.length > 0) {
        if (this.#seen === undefined) this.#seen = 'none'
        socket.unshift(head)
      }
    }
    if (this.#seen === 'none') return socket
    return new LineEndsDropped(socket, (dropped) => {
      if (dropped) this.#seen = 'some'
      else this.#seen ??= 'none'
    })
  }
}

/**
 * `socket` read without the line ends that come before its first other byte (told to `onFirst`,
 * with whether there were any), written through as it is; its end, errors (with their codes) and
 * back-pressure passed on both ways.
 */
class LineEndsDropped extends Duplex {
  readonly #socket: Socket
  #first: ((dropped: boolean) => void) | undefined
  #dropped = false

  constructor(socket: Socket, onFirst: (dropped: boolean) => void) {
    super()
    this.#socket = socket
    this.#first = onFirst
    socket.on('data', (chunk: Buffer) => {
      if (this.#first) {
        const start = leadingLineEnds(chunk)
        if (start > 0) this.#dropped = true
        if (start === chunk.length) return
        chunk = chunk.subarray(start)
        this.#first(this.#dropped)
        this.#first = undefined
      }
      if (!this.push(chunk)) socket.pause()
    })
    socket.on('end', () => this.push(null))
    socket.on('error', (error) => this.destroy(error))
    socket.on('close', () => {
      if (!this.destroyed && !socket.readableEnded) this.destroy()
    })
  }

  override _read(): void {
    this.#socket.resume()
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#socket.write(chunk, callback)
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#socket.end()
    callback()
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#socket.destroy(error ?? undefined)
    callback(error)
  }
}

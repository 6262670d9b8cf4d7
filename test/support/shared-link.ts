import { connect, createServer, type Server, type Socket } from 'node:net'

/**
 * A slow link shared by every connection, on 127.0.0.1: a TCP relay in front of `port` whose
 * bandwidth is one token bucket for ALL its connections together, both ways (a hotel Wi-Fi, a
 * phone hotspot, a DSL line), unlike bench/relay.ts, which delays bytes and caps nothing.
 *
 * - `rate`: bytes a second, or a function of the ms since the link's first connection (a link that
 *   falls, or drops to 0 and comes back: nothing crosses meanwhile, and no connection is closed,
 *   as when a Wi-Fi is lost and found again). Counted from the first connection, not the start,
 *   so that a client that starts slower (Node's start) meets the same link as one that does not.
 * - `rtt`: ms added to each crossing, half each way (a satellite's 600 ms).
 * - Fair like a router's queue per flow (fq_codel): the bytes waiting of each direction of each
 *   connection are sent in turn, an MTU (1460 bytes) at a time, so a new answer's head is not held
 *   behind another connection's body. A direction with more than `buffer` bytes waiting (64 KB)
 *   stops reading its source until they drain (TCP's back-pressure).
 * - `stats.down`: bytes that crossed from the server to the clients (heads and bodies), the
 *   measure of the link a client spent; `stats.up` the other way; `stats.connections` opened.
 *
 * A client that closes its connection drops what was still waiting in the link for it (those
 * bytes never crossed, and are not counted).
 */
export interface SharedLinkOptions {
  rate: number | ((elapsedMs: number) => number)
  rtt?: number
  buffer?: number
}

export interface SharedLink {
  origin: string
  port: number
  stats: { down: number; up: number; connections: number }
  close(): Promise<void>
}

const MTU = 1460
const TICK_MS = 5

/** One direction of one connection: the bytes waiting to cross to `to`. */
interface Flow {
  from: Socket
  to: Socket
  queue: Buffer[]
  queued: number
  /** The source ended: end `to` once the queue has crossed. */
  ended: boolean
  down: boolean
}

export async function startSharedLink(port: number, options: SharedLinkOptions): Promise<SharedLink> {
  const { rtt = 0, buffer = 64 * 1024 } = options
  const rateAt = typeof options.rate === 'number' ? () => options.rate as number : options.rate
  const half = rtt / 2
  let began: number | undefined
  const stats = { down: 0, up: 0, connections: 0 }
  const sockets = new Set<Socket>()
  const flows: Flow[] = []
  let turn = 0
  let tokens = 0
  let last = performance.now()
  /** Bytes were left waiting at the last tick: the link was busy until this one. */
  let backlog = false

  const deliver = (flow: Flow, bytes: Buffer) => {
    const write = () => flow.to.destroyed || flow.to.write(bytes)
    if (half > 0) setTimeout(write, half)
    else write()
  }
  const finish = (flow: Flow) => {
    const end = () => flow.to.destroyed || flow.to.end()
    if (half > 0) setTimeout(end, half)
    else end()
  }
  const drop = (flow: Flow) => {
    const at = flows.indexOf(flow)
    if (at >= 0) flows.splice(at, 1)
  }

  const tick = () => {
    const now = performance.now()
    const rate = began === undefined ? 0 : Math.max(0, rateAt(now - began))
    // A burst of at most 100 ms of the rate (an MTU at least), as a link's own buffer allows: a
    // busy event loop's late tick still moves the bytes its time was worth. While bytes were
    // waiting the link was busy, and the time is owed in full, up to half a second: a loaded machine
    // that held this process back half a second took a third of a 300 KB/s link away at 100 ms
    // (test/shared-link.test.ts, 8 MB in 41 s), and the run saw a slower link than it was given.
    const owed = backlog ? 0.5 : 0.1
    tokens = Math.min(tokens + (rate * (now - last)) / 1000, Math.max(MTU, rate * owed))
    last = now
    if (rate === 0) tokens = 0
    let idle = 0
    while (tokens >= 1 && flows.length > 0 && idle < flows.length) {
      turn %= flows.length
      const flow = flows[turn]!
      if (flow.queued === 0) {
        if (flow.ended) {
          finish(flow)
          drop(flow)
          continue
        }
        idle++
        turn++
        continue
      }
      idle = 0
      const take = Math.min(MTU, flow.queued, Math.floor(tokens))
      const parts: Buffer[] = []
      let left = take
      while (left > 0) {
        const head = flow.queue[0]!
        if (head.length <= left) {
          parts.push(head)
          flow.queue.shift()
          left -= head.length
        } else {
          parts.push(head.subarray(0, left))
          flow.queue[0] = head.subarray(left)
          left = 0
        }
      }
      flow.queued -= take
      tokens -= take
      if (flow.down) stats.down += take
      else stats.up += take
      deliver(flow, parts.length === 1 ? parts[0]! : Buffer.concat(parts))
      if (flow.queued < buffer && flow.from.isPaused()) flow.from.resume()
      turn++
    }
    // Ended flows whose bytes have all crossed end their side even when no token is left.
    for (const flow of [...flows]) {
      if (flow.ended && flow.queued === 0) {
        finish(flow)
        drop(flow)
      }
    }
    backlog = flows.some((f) => f.queued > 0)
  }
  const timer = setInterval(tick, TICK_MS)

  const server: Server = createServer((client) => {
    stats.connections++
    began ??= performance.now()
    const upstream = connect(port, '127.0.0.1')
    const pair = [client, upstream]
    const made: Flow[] = []
    for (const [from, to, down] of [
      [client, upstream, false],
      [upstream, client, true],
    ] as const) {
      const flow: Flow = { from, to, queue: [], queued: 0, ended: false, down }
      made.push(flow)
      flows.push(flow)
      from.on('data', (chunk: Buffer) => {
        flow.queue.push(chunk)
        flow.queued += chunk.length
        if (flow.queued >= buffer) from.pause()
      })
      from.on('end', () => {
        flow.ended = true
      })
    }
    for (const s of pair) {
      sockets.add(s)
      s.on('error', () => {})
      s.on('close', () => {
        sockets.delete(s)
        // A side cut (not ended): what waits for it is dropped, and the other side is cut too.
        for (const f of made) {
          if (f.to === s || (f.from === s && !f.ended)) {
            f.queue = []
            f.queued = 0
            drop(f)
          }
        }
        const other = s === client ? upstream : client
        if (!made.some((f) => f.to === other && flows.includes(f))) other.destroy()
      })
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port: own } = server.address() as { port: number }
  return {
    origin: `http://127.0.0.1:${own}`,
    port: own,
    stats,
    close: async () => {
      clearInterval(timer)
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

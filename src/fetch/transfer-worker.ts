/**
 * A transfer thread: runs `download()` (request, judgement, body, checks, part file) for the jobs
 * the main thread hands it, with a connection pool of its own, so the parsing, checking and
 * hashing of bodies use another core. The main thread keeps the plan, the limits, the journal and
 * the publishing. Messages: see `transfer-threads.ts`.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { drawWait, type Options, resolveOptions } from '../options.js'
import { isFatalLocal } from '../sinks/local-faults.js'
import { shownUrl } from '../utils/url.js'
import { AnswersOnce } from './answers-once.js'
import { classify } from './classify.js'
import { abandonOpenings, createAgent } from './client.js'
import { download } from './download.js'
import { Cancel } from './exchange.js'
import { HostSends } from './host-sends.js'
import { SendPauses } from './send-pauses.js'
import { type FromThread, Outbox, serializeError, type ToThread } from './transfer-messages.js'
import { sayCaWarningsVia } from './trust.js'

/** Bytes received are told at most this often (the progress line's figures). */
const BYTES_MS = 100

const port = parentPort!
// What this thread tells the main thread goes once a turn of the event loop (see `Outbox`).
const outbox = new Outbox<FromThread>((batch, moved) => port.postMessage(batch, moved))
const send = (message: FromThread, moved?: ArrayBuffer) => outbox.push(message, moved)
// The main thread says imgpull's warnings, from the same options and environment: --insecure as
// its agent is made; an unreadable SSL_CERT_FILE, which it may never read, as this thread reads it
// (with its first https:// connection), sent there (`sayCaWarningsVia`). Once a run, not once a thread.
// Node's (DEP0123 through an https:// proxy given by address) are raised on the main thread, as a
// transfer there raises them: printed here, Node's way, they escaped the command's own handling.
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  const given =
    typeof rest[0] === 'object' && rest[0] !== null ? (rest[0] as Record<string, unknown>) : undefined
  const code = given ? given.code : rest[1]
  if (typeof code === 'string' && code.startsWith('IMGPULL_')) return
  const type = given ? given.type : typeof rest[0] === 'string' ? rest[0] : undefined
  send({
    op: 'warning',
    message: typeof warning === 'string' ? warning : warning.message,
    type: typeof type === 'string' ? type : typeof warning === 'string' ? undefined : warning.name,
    code: typeof code === 'string' ? code : undefined,
    detail: typeof given?.detail === 'string' ? given.detail : undefined,
  })
}) as typeof process.emitWarning
sayCaWarningsVia((message, code, once) => send({ op: 'warning', message, code, once }))
const options = resolveOptions(workerData.options as Options)
const dispatcher = createAgent(options)
/** With `--wait`: the run's send times, shared with the main thread and the other threads (see host-sends.ts). */
const sends =
  workerData.sends instanceof SharedArrayBuffer
    ? new HostSends(() => drawWait(options.wait), workerData.sends)
    : undefined
/** The hosts the main thread said are paused (see send-pauses.ts). */
const pauses = new SendPauses()
/** The hosts this thread's connections found answering once (the thread is its run's alone). */
const answersOnce = new AnswersOnce()
const running = new Map<number, Cancel>()
/** With `--wait`: each running transfer's hosts' slots in `sends`. */
const spacedBy = new Map<number, Map<string, number>>()
/** Transfers waiting for the main thread's word that they may go on to another origin. */
const hops = new Map<number, (go: boolean) => void>()
let bytes = 0
/** The same bytes by transfer (its engine measures a body's pace by them: see run/deadline.ts). */
const each = new Map<number, number>()
let bytesTimer: NodeJS.Timeout | undefined

function sendBytes(): void {
  send({ op: 'bytes', n: bytes, each: [...each] })
  bytes = 0
  each.clear()
}

/**
 * A transfer's bytes not yet told, taken out of the batch to go with its last message: told before
 * it ends, so its engine knows whether any body byte came (a batch after the end finds no one).
 */
function unsentBytes(id: number): { bytes?: number } {
  const n = each.get(id)
  if (n === undefined) return {}
  each.delete(id)
  bytes -= n
  return { bytes: n }
}

function countBytes(id: number, n: number): void {
  bytes += n
  each.set(id, (each.get(id) ?? 0) + n)
  bytesTimer ??= setTimeout(() => {
    bytesTimer = undefined
    // Every transfer of the batch may have ended and taken its own (see `unsentBytes`).
    if (bytes > 0) sendBytes()
  }, BYTES_MS)
}

async function start(m: Extract<ToThread, { op: 'start' }>): Promise<void> {
  const cancel = new Cancel()
  running.set(m.id, cancel)
  // This transfer's hosts' slots in the run's send times, as the main thread tells them.
  const slots = sends && new Map(m.spaced ? [m.spaced] : [])
  if (slots) spacedBy.set(m.id, slots)
  try {
    const done = await download(
      m.url,
      m.part,
      m.validators,
      {
        dispatcher,
        answersOnce,
        options,
        sends,
        slots,
        pauses,
        gap: m.gap,
        onValidators: (validators) => send({ op: 'validators', id: m.id, validators }),
        onBody: (at, unresumable, length) => send({ op: 'body', id: m.id, at, unresumable, length }),
        tailChecked: m.tailChecked,
        onTailChecked: () => send({ op: 'tail', id: m.id }),
        plain: m.plain,
        revalidate: m.revalidate,
        onBytes: (n) => countBytes(m.id, n),
        onHop: (origin) =>
          new Promise<void>((resolve, reject) => {
            hops.set(m.id, (go) =>
              go ? resolve() : reject(new Error(`stopped before the request to ${origin}`)),
            )
            send({ op: 'hop', id: m.id, origin })
          }),
        expectedHash: m.expectedHash,
        hold: m.hold,
        given: m.given,
      },
      cancel,
    )
    const { held, ...rest } = done
    if (held) {
      // One buffer of its own, moved: a chunk's view would clone the whole socket read it is in.
      const joined = new Uint8Array(held.reduce((n, b) => n + b.length, 0))
      let at = 0
      for (const b of held) {
        joined.set(b, at)
        at += b.length
      }
      send({ op: 'done', id: m.id, done: rest, held: joined, ...unsentBytes(m.id) }, joined.buffer)
    } else send({ op: 'done', id: m.id, done: rest, ...unsentBytes(m.id) })
  } catch (error) {
    // Typed here, where the error's class is known; a local fault stays raw (its code and path).
    const typed = isFatalLocal(error) ? error : classify(error, shownUrl(m.url), options)
    send({ op: 'error', id: m.id, error: serializeError(typed), ...unsentBytes(m.id) })
  } finally {
    running.delete(m.id)
    spacedBy.delete(m.id)
  }
}

port.on('message', (batch: ToThread[]) => {
  for (const m of batch) take(m)
})

function take(m: ToThread): void {
  if (m.op === 'start') void start(m)
  else if (m.op === 'cancel') running.get(m.id)?.abort()
  else if (m.op === 'pause') pauses.pause(m.host, m.ms)
  else if (m.op === 'hopped') {
    if (m.spaced) spacedBy.get(m.id)?.set(...m.spaced)
    hops.get(m.id)?.(m.go)
    hops.delete(m.id)
  } else if (m.op === 'close') {
    clearTimeout(bytesTimer)
    if (bytes > 0) sendBytes()
    // Its last word: the main thread ends the thread on it, whatever the thread still holds (a
    // connection still opening, which `destroy` leaves to its connect timeout).
    dispatcher.destroy().finally(() => {
      abandonOpenings(dispatcher)
      send({ op: 'closed' })
      outbox.flush()
    })
  }
}
send({ op: 'ready' })

import {
  errorCode,
  type GatewayAnswer,
  HTTPError,
  type ImgpullCode,
  ImgpullError,
  TimeoutError,
  type TimeoutPhase,
} from '../errors.js'
import type { Job, Validators } from '../types.js'
import { atProxy, isAtProxy } from './classify.js'
import { type ConnectStage, connectStageOf, markStage } from './connect-stage.js'
import type { Downloaded } from './download.js'
import { UNANSWERED, type Unanswered, unansweredLookup } from './shared-lookup.js'

/** What the main thread asks of a transfer thread. */
export type ToThread =
  | {
      op: 'start'
      id: number
      url: string
      part: string
      validators: Validators
      expectedHash?: Job['expectedHash']
      tailChecked?: boolean
      plain?: boolean
      revalidate?: boolean
      /** See `DownloadContext.hold`: the held bytes come back with `done`, moved, not copied. */
      hold?: boolean
      /** See `DownloadContext.given`. */
      given?: string
      /** See `DownloadContext.gap`. */
      gap?: number
      /** With `--wait`: the slot of the URL's host in the run's send times (see host-sends.ts). */
      spaced?: [host: string, slot: number]
    }
  | { op: 'cancel'; id: number }
  /** `host` (a `hostKey`) is paused for `ms` from when the thread reads this: nothing is sent to it before (see send-pauses.ts). */
  | { op: 'pause'; host: string; ms: number }
  /** The transfer may go on to the origin it asked for (see `hop` below), or must stop (`go` false). */
  | { op: 'hopped'; id: number; go: boolean; spaced?: [host: string, slot: number] }
  | { op: 'close' }

/** What a transfer thread tells the main thread. */
export type FromThread =
  | { op: 'ready' }
  /** Its last word after a `close`: all it had to tell is told, and it may be ended (see `TransferThreads.close`). */
  | { op: 'closed' }
  | { op: 'validators'; id: number; validators: Validators }
  /** A body is taken from byte `at` (see `DownloadContext.onBody`). */
  | { op: 'body'; id: number; at: number; unresumable?: string; length?: number }
  /** A resume's overlap was compared and found the same (see `DownloadContext.onTailChecked`). */
  | { op: 'tail'; id: number }
  /** A redirect leads the transfer to `origin`: it waits for `hopped` (see `DownloadContext.onHop`). */
  | { op: 'hop'; id: number; origin: string }
  /** Body bytes received since the last word, `n` in all, `each` by transfer (see `DownloadContext.onBytes`). */
  | { op: 'bytes'; n: number; each: [id: number, n: number][] }
  /**
   * A process warning raised on the thread (one of Node's, or a certificate variable's with `once`,
   * the key it is said once a process by: see `sayCaWarningsVia`), to be raised on the main thread.
   */
  | { op: 'warning'; message: string; type?: string; code?: string; detail?: string; once?: string }
  /**
   * `held`: the bytes of a body kept in memory (see `DownloadContext.hold`), joined in one
   * buffer of their own and moved to the main thread (in the transfer list), not copied.
   */
  /** `bytes`: the transfer's body bytes not yet told in an `op: 'bytes'` batch. */
  | { op: 'done'; id: number; done: Omit<Downloaded, 'held'>; held?: Uint8Array; bytes?: number }
  | { op: 'error'; id: number; error: SerializedError; bytes?: number }

/**
 * Messages to one thread, sent together once a turn of the event loop, in the order given: each
 * message costs its receiver an event (a `MessageEvent` made and dispatched, a wake-up) whatever
 * it carries, and a transfer's news (its start, its body taken, its end) came one message each.
 * `post` gets at least one message and the buffers to move with them.
 */
export class Outbox<T> {
  #queue: T[] = []
  #moved: ArrayBuffer[] = []
  #due = false

  constructor(private readonly post: (batch: T[], moved: ArrayBuffer[]) => void) {}

  /** Sends `message` with the others of this turn; `moved`: buffers moved with it, not copied. */
  push(message: T, moved?: ArrayBuffer): void {
    this.#queue.push(message)
    if (moved) this.#moved.push(moved)
    if (this.#due) return
    this.#due = true
    setImmediate(() => this.flush())
  }

  /** Sends what is waiting now (before the port closes). */
  flush(): void {
    this.#due = false
    if (this.#queue.length === 0) return
    const batch = this.#queue
    const moved = this.#moved
    this.#queue = []
    this.#moved = []
    this.post(batch, moved)
  }
}

/**
 * An error as it crosses between threads (structured clone keeps no class): enough to make the
 * same typed error again, so the retry policy sees what it would have seen in one thread.
 */
export type SerializedError = (
  | {
      kind: 'http'
      status: number
      retryAfter?: number
      waitFrom: string
      resumed: boolean
      unasked?: string
      gateway?: GatewayAnswer
      message: string
    }
  | { kind: 'timeout'; phase: TimeoutPhase; ms: number; resumed: boolean; message: string }
  | {
      kind: 'imgpull'
      code: ImgpullCode
      retryable: boolean
      pressure: boolean
      resumed: boolean
      refused: boolean
      gateway?: GatewayAnswer
      markedWhole?: number
      markedByCache?: string
      /** A proxy's wait, asked in its refusal of a CONNECT (see `ImgpullError.retryAfter`). */
      retryAfter?: number
      waitFrom: string
      message: string
      /** The code of the error it was made from (`EMFILE`...), for `outOfDescriptors`. */
      cause?: string
      /** Its name lookup's silence (see `UNANSWERED`), for the retry policy: a symbol does not cross. */
      unanswered?: Unanswered
    }
  | { kind: 'local'; code: string; path?: string; message: string }
) & {
  /** The stage its request stalled in, where noted (a total timeout's cut: see send.ts `cutAt`). */
  stage?: ConnectStage
  /** That stage is the connection's to the proxy itself (see `atProxy`). */
  atProxy?: true
  /** The URL last asked, after redirects (see `ImgpullError.finalUrl`). */
  finalUrl?: string
}

export function serializeError(error: unknown): SerializedError {
  const cause = (error as { cause?: unknown } | undefined)?.cause
  const stage = connectStageOf(error) ?? connectStageOf(cause)
  const typed = serializeTyped(error)
  const finalUrl = error instanceof ImgpullError ? error.finalUrl : undefined
  const serialized = finalUrl === undefined ? typed : { ...typed, finalUrl }
  if (stage === undefined) return serialized
  return isAtProxy(error) || isAtProxy(cause)
    ? { ...serialized, stage, atProxy: true }
    : { ...serialized, stage }
}

function serializeTyped(error: unknown): SerializedError {
  if (error instanceof HTTPError) {
    return {
      kind: 'http',
      status: error.status,
      retryAfter: error.retryAfter,
      waitFrom: error.waitFrom,
      resumed: error.resumed,
      unasked: error.unasked,
      gateway: error.gateway,
      message: error.message,
    }
  }
  if (error instanceof TimeoutError) {
    return {
      kind: 'timeout',
      phase: error.phase,
      ms: error.ms,
      resumed: error.resumed,
      message: error.message,
    }
  }
  if (error instanceof ImgpullError) {
    return {
      kind: 'imgpull',
      code: error.code,
      retryable: error.retryable,
      pressure: error.pressure,
      resumed: error.resumed,
      refused: error.refused,
      gateway: error.gateway,
      markedWhole: error.markedWhole,
      markedByCache: error.markedByCache,
      retryAfter: error.retryAfter,
      waitFrom: error.waitFrom,
      message: error.message,
      cause: errorCode(error.cause) || undefined,
      unanswered: unansweredLookup(error.cause),
    }
  }
  const e = error as { code?: string; path?: string; message?: string }
  return { kind: 'local', code: e.code ?? '', path: e.path, message: e.message ?? String(error) }
}

export function deserializeError(s: SerializedError): Error {
  let error: Error
  if (s.kind === 'http')
    error = new HTTPError(s.status, '', s.retryAfter, s.resumed, {
      waitFrom: s.waitFrom,
      unasked: s.unasked,
      gateway: s.gateway,
    })
  else if (s.kind === 'timeout') error = new TimeoutError(s.phase, s.ms, '', undefined, s.resumed)
  else if (s.kind === 'imgpull')
    error = new ImgpullError(s.code, s.message, {
      retryable: s.retryable,
      pressure: s.pressure,
      resumed: s.resumed,
      refused: s.refused,
      gateway: s.gateway,
      markedWhole: s.markedWhole,
      markedByCache: s.markedByCache,
      retryAfter: s.retryAfter,
      waitFrom: s.waitFrom,
      ...(s.cause
        ? {
            cause: Object.assign(
              new Error(s.message),
              { code: s.cause },
              s.unanswered ? { [UNANSWERED]: s.unanswered } : {},
            ),
          }
        : {}),
    })
  else error = Object.assign(new Error(s.message), { code: s.code, path: s.path })
  error.message = s.message
  if (s.finalUrl !== undefined && error instanceof ImgpullError) error.finalUrl = s.finalUrl
  if (s.stage !== undefined) markStage(error, s.stage)
  if (s.atProxy) atProxy(error)
  return error
}

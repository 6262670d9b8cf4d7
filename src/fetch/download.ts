import { closeSync, createReadStream, openSync, writevSync } from 'node:fs'
import { type FileHandle, open, stat, unlink } from 'node:fs/promises'
import { HTTPError, ImgpullError, redactUrl } from '../errors.js'
import type { ResolvedOptions } from '../options.js'
import type { Validators } from '../types.js'
import { createHasher, type Hasher } from '../verify/hasher.js'
import { dimensions, SNIFF_BYTES, sniff } from '../verify/sniff.js'
import { isFatalLocal } from './classify.js'
import { type Cancel, Exchange } from './exchange.js'
import { parseRetryAfter } from './retry-delay.js'
import type { Dispatcher } from './undici.js'

/** Bytes gathered before the format is judged: enough for magic numbers and most headers' dimensions. */
const HEAD_BYTES = 64 * 1024
/** Body bytes gathered per write: small images take one write, large ones few. */
const FLUSH_BYTES = 512 * 1024
const REDIRECTS = new Set([301, 302, 303, 307, 308])

export interface Downloaded {
  bytes: number
  sha256?: string
  ext: string
  width?: number
  height?: number
  httpStatus: number
  /** ms from sending the request to its headers (last hop). */
  ttfb: number
}

export interface DownloadContext {
  dispatcher: Dispatcher
  options: ResolvedOptions
  /** Called when a response tells how to resume it (kept in the journal). */
  onValidators?: (validators: Validators) => void
  /** Called with each chunk's size, for live progress. */
  onBytes?: (bytes: number) => void
}

/** An error that means the partial file is useless: start over from byte 0. */
class Restart extends Error {}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name]
  return Array.isArray(v) ? v[0] : v
}

/** Bytes of a part file already on disk (0 when there is none). */
function sizeOnDisk(path: string): Promise<number> {
  return stat(path).then(
    (s) => s.size,
    () => 0,
  )
}

/** Hash the bytes already on disk and read back their head, so a resumed file is judged whole. */
async function readPrefix(path: string, hash: Hasher | undefined): Promise<Buffer> {
  const head: Buffer[] = []
  let headBytes = 0
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
    await hash?.update(chunk)
    if (headBytes < HEAD_BYTES) {
      head.push(chunk)
      headBytes += chunk.length
    }
  }
  return Buffer.concat(head).subarray(0, HEAD_BYTES)
}

// `bytes START-END/TOTAL` gives start and total; `bytes */TOTAL` (a 416) gives the total only.
function contentRange(value: string | undefined): { start?: number; total?: number } {
  const m = value && /^bytes\s+(?:(\d+)-\d+|\*)\/(\d+|\*)/.exec(value)
  if (!m) return {}
  return {
    start: m[1] === undefined ? undefined : Number(m[1]),
    total: m[2] === '*' ? undefined : Number(m[2]),
  }
}

/**
 * Move credentials out of the URL into an `Authorization` header, so they can be dropped when a
 * redirect leaves the origin and never show up in a message.
 */
function splitCredentials(url: URL, headers: Record<string, string>): URL {
  if (!url.username && !url.password) return url
  const user = decodeURIComponent(url.username)
  const pass = decodeURIComponent(url.password)
  headers.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`
  const clean = new URL(url)
  clean.username = ''
  clean.password = ''
  return clean
}

/**
 * One attempt at one file: follow redirects, resume the part file if it can, check status,
 * length and format, and leave the verified bytes in `partPath`. Throws a typed error otherwise;
 * bytes already on disk stay for the next attempt when they can be resumed.
 */
export async function download(
  url: string,
  partPath: string,
  validators: Validators,
  ctx: DownloadContext,
  cancel: Cancel,
): Promise<Downloaded> {
  try {
    return await attempt(url, partPath, validators, ctx, cancel, true)
  } catch (error) {
    if (!(error instanceof Restart)) throw error
    await unlink(partPath).catch(() => {})
    return attempt(url, partPath, {}, ctx, cancel, false)
  }
}

async function attempt(
  rawUrl: string,
  partPath: string,
  validators: Validators,
  ctx: DownloadContext,
  cancel: Cancel,
  mayResume: boolean,
): Promise<Downloaded> {
  const { options } = ctx
  const validator =
    validators.etag && !validators.etag.startsWith('W/') ? validators.etag : validators.lastModified
  let offset = mayResume && validator ? await sizeOnDisk(partPath) : 0

  const base: Record<string, string> = { 'user-agent': options.userAgent, ...lower(options.headers) }
  let url = splitCredentials(new URL(rawUrl), base)
  const origin = url.origin
  const visited = new Set([url.href])
  let exchange: Exchange
  let response: Awaited<Exchange['response']>
  let started = performance.now()
  for (;;) {
    const headers = { ...base }
    if (url.origin !== origin) {
      // Never hand our credentials to another origin.
      delete headers.authorization
      delete headers.cookie
    }
    if (offset > 0 && validator) {
      headers.range = `bytes=${offset}-`
      headers['if-range'] = validator
    }
    started = performance.now()
    exchange = new Exchange(
      ctx.dispatcher,
      url,
      { method: 'GET', headers, headersTimeout: options.headersTimeout, bodyTimeout: options.idleTimeout },
      cancel,
    )
    response = await exchange.response
    const location = header(response.headers, 'location')
    if (!REDIRECTS.has(response.statusCode) || !location) break
    await exchange.dump()
    const next = new URL(location, url)
    const shown = redactUrl(rawUrl)
    if (next.protocol !== 'http:' && next.protocol !== 'https:') {
      throw new ImgpullError('bad-redirect', `redirect to ${next.protocol} refused for ${shown}`)
    }
    if (visited.has(next.href))
      throw new ImgpullError('redirect-loop', `redirect loop at ${next.href} for ${shown}`)
    if (visited.size > options.maxRedirects) {
      throw new ImgpullError('too-many-redirects', `more than ${options.maxRedirects} redirects for ${shown}`)
    }
    visited.add(next.href)
    url = next
  }
  const ttfb = performance.now() - started
  const { statusCode, headers } = response
  const shown = redactUrl(rawUrl)

  if (statusCode === 416 && offset > 0) {
    const { total } = contentRange(header(headers, 'content-range'))
    await exchange.dump()
    // Everything was already here: the previous run was cut after the last byte.
    if (total === offset) return finishFromDisk(partPath, offset, ctx, shown)
    throw new Restart()
  }
  if (statusCode < 200 || statusCode > 299) {
    await exchange.dump()
    throw new HTTPError(statusCode, shown, parseRetryAfter(header(headers, 'retry-after')))
  }

  const etag = header(headers, 'etag')
  const lastModified = header(headers, 'last-modified')
  const declared = header(headers, 'content-length')
  let expected: number | undefined
  if (statusCode === 206 && offset > 0) {
    const range = contentRange(header(headers, 'content-range'))
    const changed = (validators.etag && etag && etag !== validators.etag) || range.start !== offset
    if (changed) {
      await exchange.dump()
      throw new Restart()
    }
    expected = range.total ?? (declared === undefined ? undefined : offset + Number(declared))
  } else {
    // A 200 to a range request is the whole file again: start over with this very answer.
    offset = 0
    expected = declared === undefined ? undefined : Number(declared)
  }
  if (expected !== undefined && expected > options.maxSize) {
    exchange.abort(new Error('too large'))
    throw new ImgpullError('too-large', `${shown} is ${expected} bytes, over --max-size ${options.maxSize}`)
  }
  // Validators matter only once part of a body sits on disk: they are kept from the first partial write.
  let recorded = false
  const record = () => {
    if (!recorded) ctx.onValidators?.({ etag, lastModified, length: expected })
    recorded = true
  }

  const hash = options.hash === 'sha256' ? createHasher(expected) : undefined
  /** The body's first chunks (about HEAD_BYTES), where its dimensions are read. */
  let headParts: Buffer[] = []
  let format: { ext: string } | undefined
  if (offset > 0) {
    // The body waits (paused) while the bytes on disk are read back; give its connection up on any failure.
    const head = await readPrefix(partPath, hash).catch((error) => {
      exchange.abort(error)
      throw error
    })
    headParts = [head]
    format = await sniff(head)
    if (!format) {
      hash?.discard()
      const restart = new Restart()
      exchange.abort(restart)
      throw restart
    }
  }

  let fh: FileHandle | undefined
  let position = offset
  let pending: Buffer[] = []
  let pendingBytes = 0
  let received = offset
  /** The write in progress: the body keeps flowing while it runs, the next write waits for it. */
  let writing: Promise<void> | undefined
  /** Write what is buffered; `complete` when the body has ended (or will not go on). */
  const flush = async (complete: boolean) => {
    if (writing) {
      const previous = writing
      writing = undefined
      await previous
    }
    if (pendingBytes === 0) return
    const chunks = pending
    const at = position
    position += pendingBytes
    pending = []
    pendingBytes = 0
    if (!complete) record()
    if (!fh && complete) {
      // A whole small body: three plain syscalls on this thread cost less than a trip through
      // libuv's pool (and no lock contention between its threads in one folder).
      const fd = openSync(partPath, offset > 0 ? 'r+' : 'w')
      try {
        writevSync(fd, chunks, at)
      } finally {
        closeSync(fd)
      }
      return
    }
    fh ??= await open(partPath, offset > 0 ? 'r+' : 'w')
    const write = fh.writev(chunks, at).then(() => {})
    if (complete) await write
    else {
      writing = write
      write.catch(() => {}) // seen by the next flush
    }
  }
  const judge = async () => {
    headParts = pending.slice()
    // Magic numbers need a few bytes: the first chunk, unless it is very short.
    const first = pending[0] ?? Buffer.alloc(0)
    format = await sniff(first.length >= SNIFF_BYTES || pending.length === 1 ? first : Buffer.concat(pending))
    if (!format) {
      const type = header(headers, 'content-type') ?? 'no content type'
      throw new ImgpullError('not-an-image', `not an image: ${shown} sent ${type}, ${received} bytes`)
    }
  }
  const settle = async (busy: void | Promise<void>) => {
    if (busy) await busy
    if (!format && pendingBytes >= HEAD_BYTES) await judge()
    if (format && pendingBytes >= FLUSH_BYTES) await flush(false)
  }
  /** Each body chunk: counted, checked, hashed, gathered; a promise only when it must wait. */
  const take = (chunk: Buffer): void | Promise<void> => {
    received += chunk.length
    ctx.onBytes?.(chunk.length)
    if (received > options.maxSize) {
      throw new ImgpullError('too-large', `${shown} is over --max-size ${options.maxSize} bytes`)
    }
    const busy = hash?.update(chunk)
    pending.push(chunk)
    pendingBytes += chunk.length
    if (busy || pendingBytes >= (format ? FLUSH_BYTES : HEAD_BYTES)) return settle(busy)
  }

  try {
    await exchange.consume(take)
    if (!format) await judge()
    await flush(true)
  } catch (error) {
    exchange.abort(error)
    hash?.discard()
    // Keep a verified prefix on disk for resume; anything else is worthless.
    if (format && !(error instanceof ImgpullError && error.code === 'too-large')) {
      record()
      await flush(true).catch(() => {})
    }
    await writing?.catch(() => {})
    await fh?.close()
    fh = undefined
    if (!format || (error instanceof ImgpullError && error.code === 'too-large')) {
      await unlink(partPath).catch(() => {})
    }
    const networkCut = !(error instanceof ImgpullError) && !isFatalLocal(error)
    if (expected !== undefined && received < expected && networkCut) {
      if (cancel.aborted) throw error
      throw new ImgpullError(
        'truncated',
        `${shown}: connection closed after ${received} of ${expected} bytes`,
        {
          retryable: true,
          cause: error,
        },
      )
    }
    throw error
  } finally {
    await fh?.close()
  }
  if (expected !== undefined && received !== expected) {
    hash?.discard()
    throw new ImgpullError('truncated', `${shown}: got ${received} of ${expected} bytes`, { retryable: true })
  }
  return {
    bytes: received,
    sha256: await hash?.digest(),
    ext: format!.ext,
    ...(await headDimensions(headParts, format!.ext)),
    httpStatus: statusCode,
    ttfb,
  }
}

/** Width and height from the head's first chunk, or from the whole head when they lie beyond it. */
async function headDimensions(parts: Buffer[], ext: string): Promise<{ width?: number; height?: number }> {
  const first = await dimensions(parts[0], ext)
  if (first.width !== undefined || parts.length === 1) return first
  return dimensions(Buffer.concat(parts).subarray(0, HEAD_BYTES), ext)
}

/** The part file already holds the whole body (a 416 told us): hash and judge it from disk. */
async function finishFromDisk(partPath: string, size: number, ctx: DownloadContext, shown: string) {
  const hash = ctx.options.hash === 'sha256' ? createHasher(size) : undefined
  const head = await readPrefix(partPath, hash)
  const format = await sniff(head)
  if (!format) {
    hash?.discard()
    throw new ImgpullError('not-an-image', `not an image: ${shown} (resumed file)`)
  }
  return {
    bytes: size,
    sha256: await hash?.digest(),
    ext: format.ext,
    ...(await dimensions(head, format.ext)),
    httpStatus: 206,
    ttfb: 0,
  }
}

function lower(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]))
}

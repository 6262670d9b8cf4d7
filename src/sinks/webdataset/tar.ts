import { createHash } from 'node:crypto'
import { closeSync, constants, fstatSync, fsync, openSync, readSync, writeSync, writev } from 'node:fs'
import { promisify } from 'node:util'
import { writeAll } from '../../fetch/part-file.js'
import { packingOf } from '../../sources/tables/format.js'
import { visibleShellWord } from '../../utils/command-line.js'
import { openOwnSync } from '../../utils/own-file.js'

/**
 * Tar files as WebDataset shards need them, written and read with plain synchronous calls by the
 * shard writer (see writer.ts): no stream, no promise per entry (a tar's flush to the disk, once,
 * excepted). tar-stream was the
 * first choice (DESIGN.md), but its streams cost about 0.4 ms of event-loop work per sample, more
 * than the rest of a small image's download; what a shard needs of the format is small and fixed:
 * regular files with short ASCII names, in the POSIX ustar layout (IEEE Std 1003.1-1988), which
 * every reader takes (Python's tarfile, GNU and BSD tar, WebDataset). The tests read the tars back
 * with tar-stream, Python's tarfile and GNU tar.
 */

/**
 * Flush the open file `fd` to the disk on libuv's pool: the shard writer runs on the engine's
 * thread (see writer.ts), and a shard's tar of real images (about 1 GB for 10,000) can take seconds
 * to reach the disk, while the thread goes on with the run.
 */
export const flushToDisk: (fd: number) => Promise<void> = promisify(fsync)

/** A ustar block: every header is one, every entry's data is padded to whole ones. */
export const BLOCK = 512
/** Output gathered before a write: one system call per this many bytes of small entries. */
const BUFFER = 1 << 20

/**
 * Every entry's header but its name and size, fixed so the same samples give byte-identical tars:
 * a regular file, mode 0644 (what an extracted image should have), owner 0:0 with no user or
 * group names, modified at time 0 (no clock, no build date in the bytes).
 */
export const ENTRY = { mode: 0o644, uid: 0, gid: 0, mtime: 0 } as const

/** `value` in octal, zero-padded to `digits`, then a NUL: a ustar numeric field of `digits + 1` bytes. */
function octal(header: Buffer, offset: number, digits: number, value: number): void {
  header.write(`${value.toString(8).padStart(digits, '0')}\0`, offset, 'latin1')
}

/** Every field but the name, the size and the checksum; the checksum field counts as spaces. */
const TEMPLATE = (() => {
  const header = Buffer.alloc(BLOCK)
  octal(header, 100, 7, ENTRY.mode)
  octal(header, 108, 7, ENTRY.uid)
  octal(header, 116, 7, ENTRY.gid)
  octal(header, 136, 11, ENTRY.mtime)
  header.write('        ', 148, 'latin1')
  header.write('0', 156, 'latin1') // a regular file
  header.write('ustar\u000000', 257, 'latin1')
  octal(header, 329, 7, 0) // devmajor, devminor
  octal(header, 337, 7, 0)
  return header
})()
const TEMPLATE_SUM = TEMPLATE.reduce((sum, byte) => sum + byte, 0)

const NAME = /^[\x20-\x7e]{1,100}$/

/**
 * Write the 512-byte ustar header of a regular file into `block` at `at`. `name`: printable ASCII,
 * at most 100 bytes (sample names are `KEY.ext`). A size past the 11 octal digits of its field
 * (8 GiB) is written base-256, as GNU tar and tar-stream do.
 */
function writeHeader(block: Buffer, at: number, name: string, size: number): void {
  if (!NAME.test(name)) throw new Error(`not a short ASCII tar name: ${name}`)
  TEMPLATE.copy(block, at)
  block.write(name, at, 'latin1')
  if (size < 8 ** 11) octal(block, at + 124, 11, size)
  else {
    block[at + 124] = 0x80
    for (let i = at + 135, n = size; i > at + 124; i--, n = Math.floor(n / 256)) block[i] = n % 256
  }
  let sum = TEMPLATE_SUM
  for (let i = at; i < at + 100; i++) sum += block[i]
  for (let i = at + 124; i < at + 136; i++) sum += block[i]
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, at + 148, 'latin1')
}

/** The 512-byte ustar header of a regular file (see `writeHeader`). */
export function tarHeader(name: string, size: number): Buffer {
  const header = Buffer.alloc(BLOCK)
  writeHeader(header, 0, name, size)
  return header
}

const ZEROS = Buffer.alloc(2 * BLOCK)

/** The bytes an entry's `size` bytes of data take in a tar: padded to whole blocks. */
export const paddedSize = (size: number): number => Math.ceil(size / BLOCK) * BLOCK

/** The zeros that pad `size` bytes of data to whole blocks. */
export const paddingOf = (size: number): Buffer => ZEROS.subarray(0, paddedSize(size) - size)
/** One byte read past a file's recorded end: there must be none. */
const ONE = Buffer.alloc(1)

/**
 * Buffers being written to their tars on libuv's pool, at most. A full buffer is handed to the
 * pool and the tar goes on in another; past this many under way, one is written on the thread, as
 * all were: `writeSync` into the page cache was 6.2 s of the main thread's 18.8 s busy in a run of
 * many-small's 5,000 images as one shard (the kernel holding the writer back while the disk is
 * busy), and transfers waited meanwhile.
 */
const IN_FLIGHT = 4

/**
 * The output buffers of this thread's tars: those free, and how many are being written. One tar
 * at a time holds one (`holder`), the others none: each open tar had a buffer of its own, and a
 * shard writer holding 128 shards open (a slow host with a row in each) held 128 MB of them. Tars
 * take turns: the one that needs a buffer has the holder's written out first. Rows finish about
 * in order, so turns are rare (shards side by side share the rows between them), and every call
 * is synchronous: no turn is taken inside another. At most `IN_FLIGHT + 1` buffers in all.
 */
const free: Buffer[] = []
let writing = 0
let holder: TarFile | undefined

/** A free output buffer, or a new one. */
const takeBuffer = (): Buffer => free.pop() ?? Buffer.allocUnsafe(BUFFER)

/** `data` written whole at `position` of `fd`, on libuv's pool. */
const writeAt = (fd: number, data: Buffer, position: number): Promise<void> =>
  writeAll(
    (rest, at) => new Promise((done, fail) => writev(fd, rest, at, (e, n) => (e ? fail(e) : done(n)))),
    [data],
    position,
  )

/**
 * A tar file written entry by entry, through buffers shared with this thread's other tars, each
 * written at its place on libuv's pool once full; `finish` waits for them and makes it durable.
 */
export class TarFile {
  readonly #fd: number
  #buffer: Buffer = Buffer.alloc(0)
  #used = 0
  /** Where the buffer's first byte goes in the file. */
  #position = 0
  /** Writes under way on the pool, and the first of them that failed (thrown by the next call). */
  readonly #writes = new Set<Promise<void>>()
  #error: unknown
  #closed = false
  /** Bytes written so far (the tar's size once finished). */
  size = 0

  private constructor(fd: number) {
    this.#fd = fd
  }

  /** Create (or truncate) the tar at `path`. */
  static create(path: string): TarFile {
    return new TarFile(openOwnSync(path, constants.O_WRONLY | constants.O_TRUNC))
  }

  /** Add a file whose bytes are in memory, or a text (written as UTF-8). */
  add(name: string, data: Uint8Array | string): void {
    this.#claim()
    const size = typeof data === 'string' ? Buffer.byteLength(data) : data.length
    this.#header(name, size)
    if (typeof data !== 'string') this.#put(data)
    else if (size <= BUFFER - this.#used) {
      this.#buffer.write(data, this.#used)
      this.#used += size
      this.size += size
    } else this.#put(Buffer.from(data))
    this.#pad(size)
  }

  /**
   * Add the file at `path`, copied in pieces; it must be `size` bytes long when a size is given
   * (then no stat: the copy finds a file that is shorter, one more read one that is longer).
   */
  addFile(name: string, path: string, size?: number): void {
    const fd = openSync(path, 'r')
    try {
      this.#claim()
      const length = size ?? fstatSync(fd).size
      this.#header(name, length)
      this.#copy(fd, 0, length, path)
      // A failure leaves the tar half-written: the shard's sealing discards it.
      if (size !== undefined && readSync(fd, ONE, 0, 1, size) !== 0)
        throw new Error(`${path} is longer than ${size} bytes as recorded`)
      this.#pad(length)
    } finally {
      closeSync(fd)
    }
  }

  /** Add `size` bytes at `offset` of the open file `fd` (an entry of another tar). */
  addRange(name: string, fd: number, offset: number, size: number): void {
    this.#claim()
    this.#header(name, size)
    this.#copy(fd, offset, size, name)
    this.#pad(size)
  }

  /**
   * End the archive (two zero blocks), write it out, wait for its writes, flush it to the disk
   * (on libuv's pool: the thread goes on meanwhile) and close it. Rejects with the first failed
   * write (ENOSPC...).
   */
  async finish(): Promise<void> {
    await (await this.end()).durable
  }

  /**
   * `finish` in two steps: resolves once every byte is written and the flush to the disk has
   * begun (rejects with a failed write), with `durable`, which resolves once the tar is on the
   * disk and closed. The caller does its other work (a shard's Parquet) while the disk works.
   */
  async end(): Promise<{ durable: Promise<void> }> {
    let durable: Promise<void> | undefined
    try {
      try {
        this.#claim()
        this.#put(ZEROS)
        this.#flush()
      } finally {
        this.#release()
      }
      await this.#settled()
      if (this.#error !== undefined) throw this.#error
      durable = flushToDisk(this.#fd).finally(() => this.#close())
      return { durable }
    } finally {
      if (!durable) {
        await this.#settled()
        this.#close()
      }
    }
  }

  /**
   * Stop writing (the caller removes the file): what it left in the buffer is dropped, and the
   * file is closed once the writes under way are done (its descriptor is not given to another
   * file while they still write through it).
   */
  discard(): void {
    this.#release()
    void this.#settled()
      .then(() => this.#close())
      .catch(() => {})
  }

  /** Close the file, once: a descriptor closed twice may be another file's by then. */
  #close(): void {
    if (this.#closed) return
    this.#closed = true
    closeSync(this.#fd)
  }

  /** Every write under way done, failed or not. */
  async #settled(): Promise<void> {
    while (this.#writes.size > 0) await Promise.allSettled(this.#writes)
  }

  /** Take an output buffer, the holder's written out first; throws a write of this tar that failed. */
  #claim(): void {
    if (this.#error !== undefined) throw this.#error
    if (holder === this) return
    if (holder) {
      holder.#flush()
      holder.#release()
    }
    this.#buffer = takeBuffer()
    holder = this
  }

  /** Give the buffer back, empty (its bytes written or dropped). */
  #release(): void {
    if (holder === this) {
      holder = undefined
      free.push(this.#buffer)
    }
    this.#buffer = Buffer.alloc(0)
    this.#used = 0
  }

  /** Copy `size` bytes from `fd` at `offset` straight into the buffer, filling it to the brim each time. */
  #copy(fd: number, offset: number, size: number, what: string): void {
    for (let done = 0; done < size; ) {
      if (this.#used === BUFFER) this.#flush()
      const want = Math.min(size - done, BUFFER - this.#used)
      const got = readSync(fd, this.#buffer, this.#used, want, offset + done)
      if (got === 0) throw new Error(`${what} ended at byte ${done} of ${size}`)
      this.#used += got
      this.size += got
      done += got
    }
  }

  /** An entry's header, written in the buffer itself. */
  #header(name: string, size: number): void {
    if (BUFFER - this.#used < BLOCK) this.#flush()
    writeHeader(this.#buffer, this.#used, name, size)
    this.#used += BLOCK
    this.size += BLOCK
  }

  #pad(size: number): void {
    const padding = paddingOf(size)
    if (padding.length > 0) this.#put(padding)
  }

  #put(data: Uint8Array): void {
    if (data.length > BUFFER - this.#used) {
      this.#flush()
      if (data.length > BUFFER) {
        // Larger than a buffer (a caption of megabytes): written from where it is, on the thread.
        writeAllSync(this.#fd, data, this.#position)
        this.#position += data.length
        this.size += data.length
        return
      }
    }
    this.#buffer.set(data, this.#used)
    this.#used += data.length
    this.size += data.length
  }

  /**
   * The buffer's bytes to their place in the file: on the pool, the tar going on in another
   * buffer, unless `IN_FLIGHT` are being written (then here, the buffer kept).
   */
  #flush(): void {
    if (this.#used === 0) return
    const full = this.#buffer
    const position = this.#position
    const length = this.#used
    this.#position += length
    this.#used = 0
    if (writing >= IN_FLIGHT) {
      writeAllSync(this.#fd, full.subarray(0, length), position)
      return
    }
    writing++
    this.#buffer = takeBuffer()
    const write = writeAt(this.#fd, full.subarray(0, length), position).then(
      () => {},
      (error: unknown) => {
        this.#error ??= error
      },
    )
    this.#writes.add(write)
    void write.then(() => {
      writing--
      free.push(full)
      this.#writes.delete(write)
    })
  }
}

/** `data` written whole at `position` of `fd`, here and now. */
function writeAllSync(fd: number, data: Uint8Array, position: number): void {
  for (let done = 0; done < data.length; )
    done += writeSync(fd, data, done, data.length - done, position + done)
}

/** A number field of a header: octal text, or base-256 when its first byte has the high bit. */
function number(header: Buffer, offset: number, length: number): number {
  if (header[offset] & 0x80) {
    let n = 0
    for (let i = offset + 1; i < offset + length; i++) n = n * 256 + header[i]
    return n
  }
  const text = header
    .toString('latin1', offset, offset + length)
    .replace(/[\0 ]+$/, '')
    .trim()
  return text === '' ? 0 : Number.parseInt(text, 8)
}

/** The text of a NUL-padded header field. */
function text(header: Buffer, offset: number, length: number): string {
  const end = header.indexOf(0, offset)
  return header.toString('latin1', offset, end === -1 || end > offset + length ? offset + length : end)
}

/**
 * The name and size of a regular file's ustar header as `writeHeader` writes it, when `block`
 * (512 bytes) is one: its checksum right, its magic `ustar`. `undefined` for anything else (zeros,
 * a torn write, another kind of entry).
 */
export function readHeader(block: Uint8Array): { name: string; size: number } | undefined {
  const header = Buffer.from(block.buffer, block.byteOffset, BLOCK)
  if (header.toString('latin1', 257, 262) !== 'ustar' || header[156] !== 0x30) return undefined
  let sum = 0
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i]
  if (number(header, 148, 8) !== sum) return undefined
  const name = text(header, 0, 100)
  return NAME.test(name) ? { name, size: number(header, 124, 12) } : undefined
}

/** The `path` and `size` of a pax extended header's records (`LEN key=value\n` each, UTF-8). */
function paxRecords(data: Buffer): { name?: string; size?: number } {
  const found: { name?: string; size?: number } = {}
  for (let at = 0; at < data.length; ) {
    const space = data.indexOf(0x20, at)
    const length = Number.parseInt(data.toString('latin1', at, space), 10)
    if (space < 0 || !(length > 0)) break
    const record = data.toString('utf8', space + 1, at + length - 1)
    const equals = record.indexOf('=')
    const key = record.slice(0, equals)
    if (key === 'path') found.name = record.slice(equals + 1)
    else if (key === 'size') found.size = Number(record.slice(equals + 1))
    at += length
  }
  return found
}

/** An entry found in a tar: where its bytes are. */
export interface TarEntry {
  name: string
  offset: number
  size: number
}

/**
 * The tool (also its format's name) and extension of a compressed file whose first block is
 * `block`: gzip, or one of the compressions a table is told by (`packingOf`), a ZIP aside (no
 * compressed tar); else `undefined`.
 */
function compression(block: Buffer): [string, string] | undefined {
  if (block[0] === 0x1f && block[1] === 0x8b) return ['gzip', 'gz']
  const packing = packingOf(block)
  return packing && packing.what !== 'ZIP' ? [packing.what, packing.extensions[0]!] : undefined
}

/** What to do about a shard's tar that cannot be read. */
const AGAIN = 'remove it and run again to fetch its samples anew'

/** How a member's name ends when it is a sample's `.json` or `.txt`, which a scan never looks up. */
const TEXT_MEMBER = /\.(?:json|txt)$/

/**
 * A tar read front to back for some of its entries, by name: a shard sealed again takes its
 * samples from the shard it replaces. Entries are found fastest asked for in the order they are
 * in (sample order, as a shard is written). Reads what tar tools write when a shard was unpacked
 * and packed again (GNU tar's `tar -cf 00000.tar -C dir .`, bsdtar, Python's tarfile, which
 * webdataset's writers use): ustar and GNU headers, pax extended headers (`path`, `size`) and GNU
 * long names, names starting `./`, and entries of other kinds (the folder `./`, links) skipped;
 * entries in another order than the samples' (a folder packed as the file system lists it) are
 * indexed once, images alone (about 100 bytes each), when one is not found after the last. The
 * caller checks each entry's size and sha256 against its row: a name alone is never trusted.
 * A block that is not a tar header is an error naming the tar and the byte; a compressed tar
 * (`tar -czf`) one saying how to unpack it in its place.
 */
export class TarScan {
  readonly fd: number
  readonly #path: string
  readonly #size: number
  #at = 0
  /** Every image entry by name, once an entry was not found after the last one found. */
  #index: Map<string, TarEntry> | undefined

  constructor(path: string) {
    this.#path = path
    this.fd = openSync(path, 'r')
    this.#size = fstatSync(this.fd).size
  }

  /** The entry named `name`; `undefined` when the tar has none. */
  find(name: string): TarEntry | undefined {
    if (this.#index) return this.#index.get(name)
    for (let entry = this.#next(); entry; entry = this.#next()) if (entry.name === name) return entry
    this.#index = new Map()
    this.#at = 0
    for (let entry = this.#next(); entry; entry = this.#next())
      if (!TEXT_MEMBER.test(entry.name)) this.#index.set(entry.name, entry)
    return this.#index.get(name)
  }

  /** The next regular file's entry, past the end of the one before; `undefined` at the archive's end. */
  #next(): TarEntry | undefined {
    const header = Buffer.alloc(BLOCK)
    /** A name (and size) an extended header gave the entry after it. */
    let long: { name?: string; size?: number } = {}
    while (this.#at + BLOCK <= this.#size) {
      const at = this.#at
      if (readSync(this.fd, header, 0, BLOCK, at) < BLOCK) return undefined
      if (header.every((b) => b === 0)) return undefined // the end of the archive
      let sum = 0
      for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i]
      const packed = at === 0 ? compression(header) : undefined
      if (packed) {
        // `tar -czf 00000.tar`: a compressed tar under a plain tar's name.
        const [tool, ext] = packed
        const path = visibleShellWord(this.#path)
        throw new Error(
          `${path} is ${tool}-compressed, where a shard's tar is plain: unpack it in its place (mv ${path} ${path}.${ext} && ${tool} -d ${path}.${ext}), or ${AGAIN}`,
        )
      }
      if (number(header, 148, 8) !== sum)
        throw new Error(
          `${this.#path}: byte ${at} is not a tar header (its checksum is wrong): the tar is damaged; ${AGAIN}`,
        )
      const size = number(header, 124, 12)
      this.#at = at + BLOCK + paddedSize(size)
      if (this.#at > this.#size)
        throw new Error(
          `${this.#path}: the entry at byte ${at} runs past the tar's end (${this.#size} bytes): the tar is cut short; ${AGAIN}`,
        )
      const type = header[156]
      if (type === 0x78 || type === 0x4c) {
        // A pax extended header (`x`), or a GNU long name (`L`): they describe the next entry.
        const data = Buffer.alloc(size)
        readSync(this.fd, data, 0, size, at + BLOCK)
        long = type === 0x4c ? { ...long, name: text(data, 0, size) } : { ...long, ...paxRecords(data) }
        continue
      }
      if (type !== 0x30 && type !== 0 && type !== 0x37) {
        long = {} // a folder, a link, a global pax header...: no sample
        continue
      }
      const prefix = header.toString('latin1', 257, 263) === 'ustar\0' ? text(header, 345, 155) : ''
      const name = long.name ?? (prefix ? `${prefix}/${text(header, 0, 100)}` : text(header, 0, 100))
      const entry = { name: name.replace(/^(?:\.\/)+/, ''), offset: at + BLOCK, size: long.size ?? size }
      if (long.size !== undefined) this.#at = entry.offset + paddedSize(entry.size)
      return entry
    }
    return undefined
  }

  /** The sha256 (hex) of `entry`'s bytes, read in pieces. */
  sha256(entry: TarEntry): string {
    const hash = createHash('sha256')
    const piece = Buffer.alloc(Math.min(entry.size, 1 << 20))
    for (let done = 0; done < entry.size; ) {
      const got = readSync(this.fd, piece, 0, Math.min(piece.length, entry.size - done), entry.offset + done)
      if (got === 0) break
      hash.update(piece.subarray(0, got))
      done += got
    }
    return hash.digest('hex')
  }

  close(): void {
    closeSync(this.fd)
  }
}

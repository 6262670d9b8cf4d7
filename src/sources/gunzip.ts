import { pipeline, type Readable, type TransformCallback } from 'node:stream'
import { GzipMembers, zlibError } from '../fetch/gzip-members.js'
import { counted, grouped } from '../report/format.js'

/** Files whose trailing bytes were said (see `FileGunzip`). */
const warned = new Set<string>()

/**
 * A gzip file read as `gzip -d` reads it (RFC 1952 §2.2): member after member, and bytes after the
 * last that begin no other (a log line appended, a download tool's or a copy's junk) ignored with a
 * warning naming `name` and the byte they start at (gzip: "decompression OK, trailing garbage
 * ignored"; zeros, a tape's or a block device's padding, without a word, as gzip -d passes
 * them over). Node's gunzip takes such bytes for a member, fails ("incorrect header check"), and
 * drops what it had decoded and not yet given: a table's last rows (up to 128 KB of text) were
 * lost and the file refused as corrupt. A member cut short, or whose CRC-32 or size does not match
 * its trailer, still fails (`Z_BUF_ERROR`, `Z_DATA_ERROR`), after every byte decoded before it.
 */
class FileGunzip extends GzipMembers {
  #read = 0

  constructor(readonly name: string) {
    super()
  }

  override _transform(chunk: Buffer, encoding: BufferEncoding, done: TransformCallback): void {
    this.#read += chunk.length
    super._transform(chunk, encoding, done)
  }

  override _flush(done: TransformCallback): void {
    super._flush((error) => {
      if (error) done(error)
      else if (this.unterminated) done(zlibError('Z_BUF_ERROR', 'unexpected end of file'))
      else if (this.mismatches.length)
        done(zlibError('Z_DATA_ERROR', `incorrect data check: CRC-32 ${this.mismatches[0]}`))
      else {
        const junk = this.after.bytes
        // Said once a file: a table is read more than once (its head, its escape, its rows).
        if (junk > 0 && !this.after.zeros && !warned.has(this.name)) {
          warned.add(this.name)
          process.emitWarning(
            `${this.name}: ${counted(junk, 'byte')} after its gzip data, from byte ${grouped(this.#read - junk)}, are not gzip data: ignored, as gzip -d ignores them; all before them is read`,
            { code: 'IMGPULL_GZIP_TRAILING' },
          )
        }
        done()
      }
    })
  }
}

/** `raw` (a gzip file's bytes) decompressed (see `FileGunzip`); one stream carries the file's errors and gzip's. */
export const gunzipFile = (raw: Readable, name: string): Readable =>
  pipeline(raw, new FileGunzip(name), () => {})
